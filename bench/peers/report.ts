// `bench:peers` results as Markdown tables and an SVG bar chart. Pure functions of the
// results, so they are tested without the peers installed.
import '../../src/index.js'; // acquires our device on import
import { formatTable } from '../../src/bench/conv.js';
import type { Kind } from './contender.js';

export type Cell =
  | {
      medianMs: number;
      minMs: number;
      wallMedianMs: number;
      gflops: number;
      samples: number[];
      imagesPerSecond?: number;
    }
  | { error: string };

export interface Row {
  /** The shape's label (or 'matmul') and the text of the table's first column. */
  label: string;
  description: string;
  mode: string;
  flops: number;
  /** Images per run: training rows only. */
  images?: number;
  /** By contender name. */
  cells: Record<string, Cell>;
}

export interface Results {
  adapter: string;
  date: string;
  warmup: number;
  iterations: number;
  contenders: { name: string; kind: Kind }[];
  rows: Row[];
  /** Training steps, reported in images/s; only the engines that train have cells. */
  training: Row[];
  /** Timed steps per engine at most (fewer for a slow one). */
  trainingSteps: number;
  notes: string[];
  seconds?: number;
}

const gflops = (row: Row, name: string): number | undefined => {
  const cell = row.cells[name];
  return cell && 'gflops' in cell && Number.isFinite(cell.gflops) ? cell.gflops : undefined;
};

const imagesPerSecond = (row: Row, name: string): number | undefined => {
  const cell = row.cells[name];
  return cell && 'imagesPerSecond' in cell && Number.isFinite(cell.imagesPerSecond) ? cell.imagesPerSecond : undefined;
};

const OURS = 'ours';

/** The contenders with a cell in some training row, in column order. */
const trainers = (results: Results) =>
  results.contenders.filter((c) => results.training.some((row) => row.cells[c.name]));

/**
 * ours / best WebGPU peer, which peer that was, and the same ratio with ours by wall clock
 * (the peers' only clock: it adds queue latency that our GPU timestamps leave out).
 */
export function versusBestWebGpu(
  results: Results,
  row: Row,
): { ratio: number; wallRatio: number; peer: string } | undefined {
  const mine = row.cells[OURS];
  const best = results.contenders
    .filter((c) => c.kind === 'webgpu')
    .map((c) => ({ peer: c.name, value: gflops(row, c.name) }))
    .filter((p): p is { peer: string; value: number } => p.value !== undefined)
    .sort((a, b) => b.value - a.value)[0];
  if (!mine || 'error' in mine || !best) return undefined;
  return {
    ratio: mine.gflops / best.value,
    wallRatio: row.flops / mine.wallMedianMs / 1e6 / best.value,
    peer: best.peer,
  };
}

/** Cells that hold no number point at a numbered footnote; equal reasons share one. */
export class Footnotes {
  readonly lines: string[] = [];
  private readonly numbers = new Map<string, number>();

  mark(reason: string): string {
    let n = this.numbers.get(reason);
    if (n === undefined) {
      n = this.numbers.size + 1;
      this.numbers.set(reason, n);
      this.lines.push(`[${n}] ${reason}`);
    }
    return `n/a [${n}]`;
  }
}

function cellText(
  row: Row,
  name: string,
  notes: Footnotes,
  value: (cell: Exclude<Cell, { error: string }>) => string,
): string {
  const cell = row.cells[name];
  if (!cell) return '';
  return 'error' in cell ? notes.mark(cell.error) : value(cell);
}

/** GFLOP/s per contender, each peer's ratio to ours, ours against the best WebGPU peer and the FMA ceiling. */
export function gflopsTable(results: Results, notes = new Footnotes()): string {
  const names = results.contenders.map((c) => c.name);
  const ceiling = results.contenders.find((c) => c.kind === 'ceiling')?.name;
  const header = [
    'workload',
    'mode',
    ...names.map((n) => `${n} GFLOP/s`),
    'ours vs best WebGPU peer (ours by wall clock)',
    'ours % of FMA ceiling',
  ];
  const rows = results.rows.map((row) => {
    const mine = gflops(row, OURS);
    const cells = names.map((name) =>
      cellText(row, name, notes, (c) =>
        name === OURS || mine === undefined || name === ceiling
          ? c.gflops.toFixed(1)
          : `${c.gflops.toFixed(1)} (${(c.gflops / mine).toFixed(2)}x)`,
      ),
    );
    const best = versusBestWebGpu(results, row);
    const top = ceiling ? gflops(row, ceiling) : undefined;
    return [
      row.description,
      row.mode,
      ...cells,
      best ? `${best.ratio.toFixed(2)}x (${best.wallRatio.toFixed(2)}x) ${best.peer}` : '',
      mine !== undefined && top !== undefined ? `${((100 * mine) / top).toFixed(1)}%` : '',
    ];
  });
  return formatTable(header, rows);
}

/** Median milliseconds per contender, and ours by wall clock too (peers are timed by wall clock). */
export function millisecondsTable(results: Results, notes = new Footnotes()): string {
  const names = results.contenders.map((c) => c.name);
  const rows = results.rows.map((row) => [
    row.description,
    row.mode,
    ...names.map((name) => cellText(row, name, notes, (c) => c.medianMs.toFixed(2))),
    cellText(row, OURS, notes, (c) => c.wallMedianMs.toFixed(2)),
  ]);
  return formatTable(['workload', 'mode', ...names.map((n) => `${n} ms`), 'ours wall-clock ms'], rows);
}

/** Images/s of each engine that trains (with its median step and how many steps were timed), and ours over each peer. */
export function trainingTable(results: Results, notes = new Footnotes()): string {
  const names = trainers(results).map((c) => c.name);
  const peers = names.filter((n) => n !== OURS);
  const rows = results.training.map((row) => {
    const mine = imagesPerSecond(row, OURS);
    const ratio = (peer: string) => {
      const theirs = imagesPerSecond(row, peer);
      return mine !== undefined && theirs !== undefined ? `${(mine / theirs).toFixed(2)}x` : '';
    };
    const text = (c: Exclude<Cell, { error: string }>) =>
      `${c.imagesPerSecond?.toFixed(1)} (${c.medianMs.toFixed(0)} ms, ${c.samples.length} step${c.samples.length === 1 ? '' : 's'})`;
    return [row.description, ...names.map((name) => cellText(row, name, notes, text)), ...peers.map(ratio)];
  });
  return formatTable(['workload', ...names.map((n) => `${n} images/s`), ...peers.map((n) => `ours / ${n}`)], rows);
}

/** What the training table measures, under its heading. */
export function trainingMethod(results: Results): string {
  const n = results.trainingSteps;
  const steps = n === 1 ? 'one timed step' : `the median of up to ${n} timed steps (fewer for a slow engine)`;
  return `SGD steps (forward, cross-entropy, backward, momentum update) of the same model (as many parameters) in every engine: ${steps} after ${results.warmup} warm-up step${results.warmup === 1 ? '' : 's'}, wall clock until the step's loss is read back (PyTorch: timed inside Python). In parentheses: the median step and the steps timed. tfjs has no grouped convolution: its model splits each grouped 3x3 by group, convolves and concatenates.`;
}

/** The whole report: the tables, what each cell means, the footnotes. */
export function markdown(results: Results): string {
  const notes = new Footnotes();
  const parts = [
    `# bench:peers — ${results.adapter}`,
    `${results.date}${results.seconds ? `; ${Math.round(results.seconds)} s in all` : ''}.`,
  ];
  if (results.rows.length) {
    parts.push(
      '## GFLOP/s',
      `Median of ${results.iterations} interleaved rounds after ${results.warmup} discarded warm-up round${results.warmup === 1 ? '' : 's'}. fwd+bwd = forward + grad-input + grad-weight (3x the forward's flops). In parentheses: that contender's GFLOP/s over ours.`,
      gflopsTable(results, notes),
      '## Median ms',
      millisecondsTable(results, notes),
    );
  }
  if (results.training.length)
    parts.push('## Training, images/s', trainingMethod(results), trainingTable(results, notes));
  if (notes.lines.length) parts.push('## Cells without a number', notes.lines.join('\n\n'));
  parts.push('## How each contender was run', results.notes.map((n) => `- ${n}`).join('\n'));
  return `${parts.join('\n\n')}\n`;
}

const COLORS = [
  '#1f77b4',
  '#7f7f7f',
  '#bcbd22',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
];
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * Horizontal bars of training images/s from y = `top`, one group per training row, on a
 * linear axis from 0 so that lengths compare as the ratios the row is read for; each bar
 * carries its value. Colours follow the contenders' order, as in the GFLOP/s panel.
 */
function trainingPanel(
  results: Results,
  top: number,
  left: number,
  barsWidth: number,
): { svg: string[]; height: number } {
  const BAR = 14;
  const STEP = 20;
  const max = Math.max(
    ...results.training.flatMap((row) => results.contenders.map((c) => imagesPerSecond(row, c.name) ?? 0)),
    1e-9,
  );
  const svg = [
    `<text x="${left}" y="${top + 16}" font-size="14">Training images/s (linear scale), median step per engine</text>`,
  ];
  let y = top + 30;
  for (const row of results.training) {
    svg.push(`<text x="${left}" y="${y + 12}">${escape(row.description)}</text>`);
    y += STEP;
    results.contenders.forEach((c, i) => {
      const v = imagesPerSecond(row, c.name);
      if (v === undefined) return;
      const w = Math.max(1, (barsWidth * v) / max);
      svg.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLORS[i % COLORS.length]}"><title>${escape(`${c.name}, ${row.description}: ${v.toFixed(1)} images/s`)}</title></rect>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + 11}">${escape(`${c.name} ${v.toFixed(1)}`)}</text>`,
      );
      y += STEP;
    });
  }
  return { svg, height: y - top + 10 };
}

/** Grouped bars of GFLOP/s per row and contender on a log axis (the values span orders of
 *  magnitude), and the training rows' images/s below them. */
export function barChart(results: Results, { barWidth = 9, gap = 14, height = 460 } = {}): string {
  const names = results.contenders.map((c) => c.name);
  const values = results.rows
    .flatMap((row) => names.map((n) => gflops(row, n)))
    .filter((v): v is number => v !== undefined && v > 0);
  const lo = Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  const m = { left: 60, right: 60, top: 70, bottom: 140 };
  const group = names.length * barWidth + gap;
  const width = Math.max(m.left + m.right + results.rows.length * group, m.left + 130 * names.length);
  const plotH = height - m.top - m.bottom;
  const sy = (v: number) => m.top + plotH * (1 - (Math.log10(v) - lo) / (hi - lo || 1));
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
  const bars = results.rows.flatMap((row, r) =>
    names.flatMap((name, i) => {
      const v = gflops(row, name);
      if (v === undefined || v <= 0) return [];
      const x = m.left + r * group + gap / 2 + i * barWidth;
      const y = sy(Math.max(v, 10 ** lo));
      return [
        `<rect x="${x}" y="${y.toFixed(1)}" width="${barWidth - 1}" height="${(m.top + plotH - y).toFixed(1)}" fill="${COLORS[i % COLORS.length]}"><title>${escape(`${name}, ${row.description} ${row.mode}: ${v.toFixed(1)} GFLOP/s`)}</title></rect>`,
      ];
    }),
  );
  const labels = results.rows.map((row, r) => {
    const x = m.left + r * group + group / 2;
    return `<text transform="translate(${x},${m.top + plotH + 10}) rotate(45)" font-size="10">${escape(`${row.label} ${row.mode}`)}</text>`;
  });
  const legend = names.map(
    (name, i) =>
      `<g transform="translate(${m.left + 130 * i},54)"><rect width="10" height="10" y="-9" fill="${COLORS[i % COLORS.length]}"/><text x="14">${escape(name)}</text></g>`,
  );
  const gflopsPanel = results.rows.length
    ? [
        `<text x="${m.left}" y="18" font-size="14">GFLOP/s per workload and engine (log scale), median of ${results.iterations} rounds</text>`,
        ...ticks.map(
          (t) =>
            `<line x1="${m.left}" x2="${width - m.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#ddd"/><text x="${m.left - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`,
        ),
        `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}" stroke="black"/>`,
        ...bars,
        ...labels,
      ]
    : [];
  const training = results.training.length
    ? trainingPanel(results, results.rows.length ? height : m.top, m.left, width - m.left - m.right - 160)
    : { svg: [], height: 0 };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${(results.rows.length ? height : m.top) + training.height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${m.left}" y="32" font-size="10">${escape(results.adapter)}</text>`,
    ...gflopsPanel,
    ...training.svg,
    ...legend,
    '</svg>',
  ].join('\n');
}
