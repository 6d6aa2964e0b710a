// Command line of `npm run bench:peers -- [options]`. No GPU imports: bad arguments are
// reported before any device or peer package is touched.
import { parseArgs } from 'node:util';
import { DEFAULT_SHAPES, type ConvShape } from '../shapes.js';
import type { Mode } from './workloads.js';

export const USAGE = `usage: npm run bench:peers -- [options]
  --iterations N     timed rounds per workload (default 5; --quick: 2)
  --warmup N         discarded rounds first (default 1: first runs compile and allocate)
  --shapes LIST      comma-separated shape indices (0-based, 'bench conv' order) or label parts,
                     'matmul' for the 1024^3 matmul (default: all; --quick: dense,matmul)
  --modes M          forward or both (default both: forward and fwd+bwd)
  --contenders LIST  only these columns, by part of their name in lower case with '-' for
                     spaces (ours, naive, fma, tfjs-webgpu, ort-web, ort-node-webgpu,
                     ort-node-cpu, pytorch-cpu); ours always runs
  --out DIR          where results.json, results.md and chart.svg go (default bench/peers/out)
  --quick            a smoke run: 2 rounds of the dense shape and the matmul
Shapes: ${DEFAULT_SHAPES.map((s, i) => `${i} '${s.label}'`).join(', ')}, 'matmul'`;

export interface Options {
  iterations: number;
  warmup: number;
  shapes: ConvShape[];
  matmul: boolean;
  modes: Mode[];
  contenders: string[] | null;
  out: string | null;
  help: boolean;
}

export const DEFAULT_ITERATIONS = 5;
const QUICK = { iterations: 2, shapes: 'dense,matmul' };

function count(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${flag} '${text}' must be an integer >= ${min}`);
  return n;
}

const list = (text: string) => text.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p !== '');

/** Shapes by index or by part of their label; 'matmul' selects the matmul row. */
export function selectShapes(text: string | undefined): { shapes: ConvShape[]; matmul: boolean } {
  if (text === undefined) return { shapes: DEFAULT_SHAPES, matmul: true };
  const picked = new Set<ConvShape>();
  let matmul = false;
  for (const pick of list(text)) {
    const byIndex = /^\d+$/.test(pick) ? DEFAULT_SHAPES[Number(pick)] : undefined;
    const matches = byIndex ? [byIndex] : DEFAULT_SHAPES.filter((s) => s.label.toLowerCase().includes(pick));
    if (pick === 'matmul') matmul = true;
    else if (matches.length === 0) throw new Error(`--shapes: '${pick}' matches no shape`);
    matches.forEach((s) => picked.add(s));
  }
  return { shapes: DEFAULT_SHAPES.filter((s) => picked.has(s)), matmul };
}

/** Throws an Error with a one-line message on bad input. */
export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: 'string' },
      warmup: { type: 'string' },
      shapes: { type: 'string' },
      modes: { type: 'string' },
      contenders: { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const modes = { forward: ['forward'], both: ['forward', 'fwd+bwd'] }[values.modes ?? 'both'] as Mode[] | undefined;
  if (!modes) throw new Error(`--modes '${values.modes}' must be forward or both`);
  return {
    iterations: count('iterations', values.iterations, values.quick ? QUICK.iterations : DEFAULT_ITERATIONS, 1),
    warmup: count('warmup', values.warmup, 1, 0),
    ...selectShapes(values.shapes ?? (values.quick ? QUICK.shapes : undefined)),
    modes,
    contenders: values.contenders === undefined ? null : list(values.contenders),
    out: values.out ?? null,
    help: values.help,
  };
}
