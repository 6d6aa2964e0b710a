// Command line of `npm run bench:peers -- [options]`. No GPU imports: bad arguments are
// reported before any device or peer package is touched.
import { parseArgs } from 'node:util';
import { DEFAULT_SHAPES, type ConvShape } from '../../src/bench/shapes.js';
import type { Mode } from './workloads.js';

export const DEFAULT_ITERATIONS = 5;
const DEFAULT_TRAIN_STEPS = 3;
/** An engine takes no more timed training steps once they add up to this. A tfjs step takes
 *  20-45 s here: two of them say enough, a third would add most of a minute. */
export const TRAINING_BUDGET_S = 60;
const QUICK = { iterations: 2, trainSteps: 1, shapes: 'dense,matmul,train' };

export const USAGE = `usage: npm run bench:peers -- [options]
  --iterations N     timed rounds per convolution or matmul (default 5; --quick: 2)
  --warmup N         discarded rounds first (default 1: first runs compile and allocate)
  --shapes LIST      comma-separated shape indices (0-based, 'bench conv' order) or label parts,
                     'matmul' for the 1024^3 matmul, 'train' for a training step of the small
                     ResNeXt (default: all; --quick: dense,matmul,train)
  --train-steps N    timed training steps per engine (default 3; --quick: 1), fewer for an
                     engine once its timed steps add up to ${TRAINING_BUDGET_S} s
  --modes M          forward or both (default both: forward and fwd+bwd)
  --contenders LIST  only these columns, by part of their name in lower case with '-' for
                     spaces (ours, naive, fma, tfjs-webgpu, ort-web, ort-node-webgpu,
                     ort-node-cpu, pytorch-cpu); ours always runs
  --out DIR          where results.json, results.md and chart.svg go (default bench/peers/out)
  --quick            a smoke run: 2 rounds of the dense shape and the matmul, 1 training step
Shapes: ${DEFAULT_SHAPES.map((s, i) => `${i} '${s.label}'`).join(', ')}, 'matmul', 'train'`;

export interface Options {
  iterations: number;
  warmup: number;
  shapes: ConvShape[];
  matmul: boolean;
  train: boolean;
  trainSteps: number;
  modes: Mode[];
  contenders: string[] | null;
  out: string | null;
  help: boolean;
}

function count(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${flag} '${text}' must be an integer >= ${min}`);
  return n;
}

const list = (text: string) =>
  text
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');

/** Shapes by index or by part of their label; 'matmul' and 'train' select those rows. */
export function selectShapes(text: string | undefined): { shapes: ConvShape[]; matmul: boolean; train: boolean } {
  if (text === undefined) return { shapes: DEFAULT_SHAPES, matmul: true, train: true };
  const picked = new Set<ConvShape>();
  const picks = list(text);
  for (const pick of picks.filter((p) => p !== 'matmul' && p !== 'train')) {
    const byIndex = /^\d+$/.test(pick) ? DEFAULT_SHAPES[Number(pick)] : undefined;
    const matches = byIndex ? [byIndex] : DEFAULT_SHAPES.filter((s) => s.label.toLowerCase().includes(pick));
    if (matches.length === 0) throw new Error(`--shapes: '${pick}' matches no shape`);
    matches.forEach((s) => picked.add(s));
  }
  return {
    shapes: DEFAULT_SHAPES.filter((s) => picked.has(s)),
    matmul: picks.includes('matmul'),
    train: picks.includes('train'),
  };
}

/** Throws an Error with a one-line message on bad input. */
export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: 'string' },
      warmup: { type: 'string' },
      shapes: { type: 'string' },
      'train-steps': { type: 'string' },
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
    trainSteps: count('train-steps', values['train-steps'], values.quick ? QUICK.trainSteps : DEFAULT_TRAIN_STEPS, 1),
    modes,
    contenders: values.contenders === undefined ? null : list(values.contenders),
    out: values.out ?? null,
    help: values.help,
  };
}
