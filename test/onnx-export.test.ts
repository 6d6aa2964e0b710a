// ONNX export: the exported graph, run by onnxruntime, must compute what the engine computes
// in eval mode, with BatchNorm statistics that matter, for any batch size.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ArgumentError, Generator, models, nn, noGrad, optim, ShapeError, tensor, type Tensor } from '../src/index.js';
import { BATCH_DIM, exportOnnx, OPSET } from '../src/export/onnx.js';
import { onnxType } from '../src/export/onnx-schema.js';
import type { HostTensor } from '../src/nn/module.js';
import { DEFAULTS } from '../src/train/config.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { randomData, rngFor } from './helpers.js';

const BIN = new URL('../bin/resnext.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 180_000 });

/** Logits may differ by this much, relative to the largest |logit| (or absolutely, below 1). */
const TOLERANCE = 1e-4;

type Model = ReturnType<typeof models.smallResnext>;

/** Every BatchNorm's weight, bias, running mean and variance set to values far from their
 *  initial 1, 0, 0, 1, so that a graph that dropped or misordered them would be caught. */
function randomizeBatchNorms(model: Model, rng: Generator): void {
  const ranges: Record<string, [number, number]> = {
    weight: [0.5, 1.5],
    bias: [-0.5, 0.5],
    running_mean: [-0.5, 0.5],
    running_var: [0.3, 3],
  };
  const dict: Record<string, HostTensor> = {};
  for (const [key, value] of Object.entries(model.stateDict())) {
    const prefix = key.replace(/[^.]+$/, '');
    const field = key.slice(prefix.length);
    if (typeof value === 'bigint' || !(`${prefix}running_var` in model.stateDict()) || !(field in ranges)) continue;
    const [lo, hi] = ranges[field];
    dict[key] = { shape: [...value.shape], data: randomData(rng, value.size, { lo, hi }) };
  }
  expect(Object.keys(dict).length).toBeGreaterThan(0);
  model.loadStateDict(dict, { strict: false });
}

async function engineLogits(model: Model, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const input = tensor(x, shape);
  const out: Tensor = noGrad(() => model.forward(input));
  const values = await out.toArray();
  input.dispose();
  out.dispose();
  return values;
}

async function ortLogits(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  const { logits } = await session.run({ input: new ort.Tensor('float32', x, shape) });
  await session.release();
  expect(logits.dims[0]).toBe(shape[0]);
  return logits.data as Float32Array;
}

/** max |a - b| (Infinity if any is NaN), and that divided by max(1, max |b|). */
function difference(a: Float32Array, b: Float32Array): { abs: number; relative: number } {
  expect(a.length).toBe(b.length);
  let abs = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    // NaN (a variance gone negative) counts as the largest difference there is.
    const d = Math.abs(a[i] - b[i]);
    abs = Number.isNaN(d) ? Infinity : Math.max(abs, d);
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { abs, relative: abs / scale };
}

const decode = (bytes: Uint8Array) =>
  onnxType('ModelProto').toObject(onnxType('ModelProto').decode(bytes), { longs: Number, defaults: true }) as {
    ir_version: number;
    opset_import: { domain: string; version: number }[];
    graph: {
      node: { op_type: string; input: string[]; attribute: { name: string; f: number; i: number; ints: number[] }[] }[];
      input: { type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } } }[];
      output: { type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } } }[];
    };
  };

interface Case {
  name: 'small_resnext' | 'resnext50_32x4d';
  input: number[];
  batch: number;
}

const CASES: Case[] = [
  { name: 'small_resnext', input: [1, 28, 28], batch: 3 },
  { name: 'resnext50_32x4d', input: [3, 224, 224], batch: 2 },
];

async function exported(c: Case, form?: 'a' | 'b') {
  const rng = rngFor(`onnx ${c.name} ${form ?? 'c'}`);
  const model = models.MODELS[c.name].create({ generator: rng, form });
  randomizeBatchNorms(model, rng);
  model.eval();
  const bytes = await exportOnnx(model, { inputShape: c.input });
  const shape = [c.batch, ...c.input];
  const x = randomData(
    rng,
    shape.reduce((a, b) => a * b, 1),
  );
  return { model, bytes, shape, x, expected: await engineLogits(model, x, shape) };
}

describe('ONNX export matches the engine in onnxruntime', () => {
  for (const c of CASES) {
    it(`${c.name} at ${c.input.join('x')}, batch ${c.batch}, and batch 1`, { timeout: 600_000 }, async () => {
      const { model, bytes, shape, x, expected } = await exported(c);
      const got = await ortLogits(bytes, x, shape);
      const d = difference(got, expected);
      console.log(
        `${c.name} ${c.input.join('x')} batch ${c.batch}: max |diff| ${d.abs.toExponential(2)}, relative ${d.relative.toExponential(2)}`,
      );
      expect(d.relative).toBeLessThanOrEqual(TOLERANCE);
      // The batch dimension is symbolic: the same file runs one image, the first one.
      const one = await ortLogits(bytes, x.subarray(0, x.length / c.batch), [1, ...c.input]);
      expect(difference(one, expected.subarray(0, one.length)).relative).toBeLessThanOrEqual(TOLERANCE);
      const graph = decode(bytes);
      expect(graph.opset_import).toEqual([{ domain: '', version: OPSET }]);
      expect(graph.ir_version).toBe(8);
      expect(graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param).toBe(BATCH_DIM);
      expect(graph.graph.output[0].type.tensor_type.shape.dim[0].dim_param).toBe(BATCH_DIM);
      model.dispose();
    });
  }

  it('the contents: BatchNormalization in inference mode, grouped Conv, the classifier as Gemm', async () => {
    const { model, bytes } = await exported(CASES[0]);
    const nodes = decode(bytes).graph.node;
    const ops = new Set(nodes.map((n) => n.op_type));
    expect([...ops].sort()).toEqual([
      'Add',
      'BatchNormalization',
      'Conv',
      'Flatten',
      'Gemm',
      'GlobalAveragePool',
      'Relu',
    ]);
    const bn = nodes.filter((n) => n.op_type === 'BatchNormalization');
    expect(bn.length).toBe(model.namedBuffers().filter(([n]) => n.endsWith('running_var')).length);
    expect(bn[0].input.slice(1)).toEqual(['bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var']);
    expect(bn[0].attribute.find((a) => a.name === 'epsilon')!.f).toBeCloseTo(1e-5, 10);
    const groups = nodes.filter((n) => n.op_type === 'Conv').map((n) => n.attribute.find((a) => a.name === 'group')!.i);
    expect(groups).toContain(8);
    model.dispose();
  });

  it('would catch swapped BatchNormalization statistics, another epsilon or misordered pads', async () => {
    const { model, bytes, shape, x, expected } = await exported(CASES[0]);
    const ModelProto = onnxType('ModelProto');
    type Node = ReturnType<typeof decode>['graph']['node'][number];
    const attribute = (node: Node, name: string) => node.attribute.find((a) => a.name === name)!;
    const mutations: [string, (node: Node) => void][] = [
      ['BatchNormalization', (node) => ([node.input[3], node.input[4]] = [node.input[4], node.input[3]])],
      ['BatchNormalization', (node) => (attribute(node, 'epsilon').f = 1)],
      // [top, left, bottom, right] read as [top, bottom, left, right] keeps the output's size.
      ['Conv', (node) => (attribute(node, 'pads').ints = [2, 0, 0, 2])],
    ];
    for (const [op, mutate] of mutations) {
      const message = decode(bytes);
      mutate(message.graph.node.find((n) => n.op_type === op)!);
      const mutated = ModelProto.encode(ModelProto.fromObject(message)).finish();
      expect(difference(await ortLogits(mutated, x, shape), expected).relative).toBeGreaterThan(10 * TOLERANCE);
    }
    model.dispose();
  });

  it('exports block forms (a) and (b) as the grouped form they equal', { timeout: 120_000 }, async () => {
    for (const form of ['a', 'b'] as const) {
      const { model, bytes, shape, x, expected } = await exported(CASES[0], form);
      expect(difference(await ortLogits(bytes, x, shape), expected).relative).toBeLessThanOrEqual(TOLERANCE);
      model.dispose();
    }
  });

  // The other models differ from these and the two above only in depth, width or
  // cardinality (101 layers, 16x64d), not in the kinds of layer the exporter writes.
  const FAMILY: models.ModelName[] = ['resnet50', 'resnext29_8x64d', 'small_resnet'];

  it(`${FAMILY.join(', ')} export and run in onnxruntime`, { timeout: 300_000 }, async () => {
    for (const name of FAMILY) {
      // resnet50 at 64x64 keeps this quick; its weights (zeros) are not the point here.
      const input = name === 'resnet50' ? [3, 64, 64] : models.MODELS[name].input;
      const model = nn.skipInit(() => models.MODELS[name].create());
      const bytes = await exportOnnx(model, { inputShape: input });
      const nodes = decode(bytes).graph.node;
      const count = (op: string) => nodes.filter((n) => n.op_type === op).length;
      const convs = model.namedParameters().filter(([, p]) => p.rank === 4).length;
      expect([count('Conv'), count('BatchNormalization')], name).toEqual([convs, convs]);
      const logits = await ortLogits(bytes, new Float32Array(2 * input[0] * input[1] * input[2]), [2, ...input]);
      expect(logits.length, name).toBe(2 * model.spec.numClasses);
      model.dispose();
    }
  });

  it('rejects an input shape that is not [C, H, W] or does not fit the model, naming it', async () => {
    const model = models.smallResnext();
    await expect(exportOnnx(model, { inputShape: [28, 28] })).rejects.toThrow(ArgumentError);
    await expect(exportOnnx(model, { inputShape: [1, 28, 28.5] })).rejects.toThrow(/inputShape/);
    await expect(exportOnnx(model, { inputShape: [3, 28, 28] })).rejects.toThrow(ShapeError);
    model.dispose();
  });
});

describe('resnext export --onnx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resnext-onnx-'));

  it('--model writes a file that onnxruntime runs as the seeded model', { timeout: 300_000 }, async () => {
    const file = join(dir, 'm.onnx');
    const r = run('export', '--onnx', file, '--model', 'small_resnext', '--seed', '7');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/opset 17/);
    expect(r.stdout).toMatch(/BatchNormalization in inference mode/);
    const model = models.MODELS.small_resnext.create({ generator: new Generator(7) }).eval();
    const shape = [2, 1, 28, 28];
    const x = randomData(rngFor('onnx cli'), 2 * 784);
    const d = difference(await ortLogits(readFileSync(file), x, shape), await engineLogits(model, x, shape));
    expect(d.relative).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });

  it('--checkpoint exports the trained weights at the dataset input size', { timeout: 300_000 }, async () => {
    const rng = rngFor('onnx checkpoint');
    const model = models.MODELS.small_resnet.create({ generator: rng });
    randomizeBatchNorms(model, rng);
    const checkpoint = join(dir, 'last.safetensors');
    const config = { ...DEFAULTS, model: 'small_resnet' as const, dataset: 'mnist' as const };
    await saveCheckpoint(checkpoint, config, model, new optim.SGD(model.parameters(), { lr: 0.1 }), {
      epoch: 3,
      step: 30,
      rngState: rng.getState(),
    });
    const file = join(dir, 'ckpt.onnx');
    const r = run('export', '--onnx', file, '--checkpoint', checkpoint);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[N, 1, 28, 28\]/);
    model.eval();
    const shape = [2, 1, 28, 28];
    const x = randomData(rng, 2 * 784);
    const d = difference(await ortLogits(readFileSync(file), x, shape), await engineLogits(model, x, shape));
    expect(d.relative).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });

  it('names the flags when neither or both of --model and --checkpoint are given', () => {
    for (const args of [[], ['--model', 'small_resnext', '--checkpoint', 'x.safetensors']]) {
      const r = run('export', '--onnx', join(dir, 'bad.onnx'), ...args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/--model <name> and --checkpoint <file>/);
    }
    const r = run('export', '--onnx', join(dir, 'bad.onnx'), '--model', 'resnext42');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown model 'resnext42'; valid names: .*small_resnext/);
  });
});
