// `resnext info`: per-stage shapes, parameters and MACs of a model, without running it.
import { skipInit } from '../nn/init.js';
import { MODELS, type ModelName } from './index.js';

export interface ModelInfo {
  model: ModelName;
  input: number[];
  stages: { name: string; shape: number[]; params: number; macs: number }[];
  params: number;
  macs: number;
}

export function modelInfo(name: ModelName, input: number[] = MODELS[name].input, numClasses?: number): ModelInfo {
  const model = skipInit(() => MODELS[name].create({ numClasses }));
  const stages = model.profile([1, ...input]);
  model.dispose();
  return {
    model: name,
    input,
    stages,
    params: stages.reduce((n, s) => n + s.params, 0),
    macs: stages.reduce((n, s) => n + s.macs, 0),
  };
}

const millions = (n: number) => `${(n / 1e6).toFixed(2)}M`;
const giga = (n: number) => (n >= 1e8 ? `${(n / 1e9).toFixed(2)}G` : `${(n / 1e6).toFixed(2)}M`);

/** One table: a column group (output shape, params, MACs) per model, stages as rows. */
export function formatInfo(infos: ModelInfo[]): string {
  const header = ['stage', ...infos.flatMap((i) => [`${i.model} output`, 'params', 'MACs'])];
  const rows = infos[0].stages.map((s, r) => [
    s.name,
    ...infos.flatMap((i) => [
      i.stages[r] ? i.stages[r].shape.slice(1).join('x') : '',
      millions(i.stages[r]?.params ?? 0),
      giga(i.stages[r]?.macs ?? 0),
    ]),
  ]);
  rows.push(['total', ...infos.flatMap((i) => ['', millions(i.params), giga(i.macs)])]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const exact = infos.map(
    (i) =>
      `${i.model} at ${i.input.join('x')}: ${i.params.toLocaleString('en-US')} parameters, ${i.macs.toLocaleString('en-US')} multiply-accumulates per image`,
  );
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), '', ...exact].join(
    '\n',
  );
}
