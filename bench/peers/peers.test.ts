// The bench's own logic, without the peer packages: `npx vitest run --config bench/peers/vitest.config.ts`.
// (The root suite collects test/ only.) Importing report.ts acquires our device.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { smallResnext } from '../../src/models/index.js';
import { geometryOf } from '../../src/bench/conv.js';
import { DEFAULT_SHAPES } from '../../src/bench/shapes.js';
import { parseOptions, selectShapes } from './args.js';
import { importPeer } from './contender.js';
import { convModel, matmulModel } from './onnx.js';
import {
  barChart,
  gflopsTable,
  markdown,
  millisecondsTable,
  trainingTable,
  versusBestWebGpu,
  type Results,
} from './report.js';
import { resnextTraining, type TfTraining } from './tfjs_resnext.js';
import { torchAvailable, torchCpu } from './torch.js';
import { trainingWorkload } from './workloads.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('ONNX encoding', () => {
  it('encodes a MatMul model byte for byte as onnxruntime 1.30 loaded and ran it', () => {
    // c = a @ b with a [2, 3], b [3, 300]: 300 needs a two-byte varint (ac 02).
    expect(hex(matmulModel(2, 3, 300))).toBe(
      '0808121a7265736e6578742d7765626770752062656e63683a70656572733a6a0a190a01610a01621201631a066d61746d756c22064d61744d756c120c6d61746d756c5f67726170685a130a0161120e0a0c080112080a0208020a0208035a140a0162120f0a0d080112090a0208030a0308ac0262140a0163120f0a0d080112090a0208020a0308ac0242040a001011',
    );
  });

  it('gives a grouped Conv its group, kernel, pads, strides and dilations', () => {
    const bytes = hex(convModel(geometryOf(DEFAULT_SHAPES[0]))); // N=8 C=128 56x56 g32
    const attribute = (name: string, body: string) => hex(new TextEncoder().encode(name)) + body;
    expect(bytes).toContain(attribute('group', '1820a00102')); // i = 32, type INT
    expect(bytes).toContain(attribute('kernel_shape', '40034003a00107')); // ints 3, 3 (unpacked), type INTS
    expect(bytes).toContain(attribute('pads', '4001400140014001a00107'));
    expect(bytes).toContain(attribute('strides', '40014001a00107'));
    expect(bytes).toContain(attribute('dilations', '40014001a00107'));
    // Input w: float, dims 128 (two-byte varint 80 01), 4, 3, 3.
    expect(bytes).toContain('0a017712170a15080112110a030880010a0208040a0208030a020803');
  });
});

const results: Results = {
  adapter: 'test adapter',
  date: '2026-01-01T00:00:00Z',
  warmup: 1,
  iterations: 3,
  contenders: [
    { name: 'ours', kind: 'ours' },
    { name: 'FMA ceiling', kind: 'ceiling' },
    { name: 'gpu A', kind: 'webgpu' },
    { name: 'gpu B', kind: 'webgpu' },
    { name: 'cpu', kind: 'cpu' },
  ],
  rows: [
    {
      label: 'dense',
      description: 'dense: N=8',
      mode: 'forward',
      flops: 2e9,
      cells: {
        ours: { medianMs: 100, minMs: 90, wallMedianMs: 110, gflops: 20, samples: [90, 100, 120] },
        'FMA ceiling': { medianMs: 10, minMs: 10, wallMedianMs: 11, gflops: 80, samples: [10, 10, 10] },
        'gpu A': { medianMs: 400, minMs: 400, wallMedianMs: 400, gflops: 5, samples: [400] },
        'gpu B': { medianMs: 50, minMs: 50, wallMedianMs: 50, gflops: 40, samples: [50] },
        cpu: { error: 'inference only: no backward' },
      },
    },
    {
      label: 'dense',
      description: 'dense: N=8',
      mode: 'fwd+bwd',
      flops: 6e9,
      cells: { ours: { error: 'ours failed: boom' }, cpu: { error: 'inference only: no backward' } },
    },
  ],
  training: [
    {
      label: 'small resnext',
      description: 'small resnext train (batch 64)',
      mode: 'train',
      flops: 12e9,
      images: 64,
      cells: {
        ours: {
          medianMs: 3200,
          minMs: 3100,
          wallMedianMs: 3200,
          gflops: 3.75,
          samples: [3100, 3200, 3300],
          imagesPerSecond: 20,
        },
        'gpu A': {
          medianMs: 32000,
          minMs: 31000,
          wallMedianMs: 32000,
          gflops: 0.375,
          samples: [31000, 33000],
          imagesPerSecond: 2,
        },
        cpu: { medianMs: 1600, minMs: 1600, wallMedianMs: 1600, gflops: 7.5, samples: [1600], imagesPerSecond: 40 },
      },
    },
  ],
  trainingSteps: 3,
  notes: [],
};

describe('report', () => {
  it('compares ours with the best WebGPU peer and the FMA ceiling', () => {
    // Ours: 2e9 flops in 100 ms by timestamps (20 GFLOP/s), 110 ms by wall clock.
    expect(versusBestWebGpu(results, results.rows[0])).toEqual({
      ratio: 0.5,
      wallRatio: 2e9 / 110 / 1e6 / 40,
      peer: 'gpu B',
    });
    const table = gflopsTable(results);
    const first = table.split('\n')[2];
    expect(first).toMatch(
      /\| 20\.0 +\| 80\.0 +\| 5\.0 \(0\.25x\) +\| 40\.0 \(2\.00x\) +\| n\/a \[1\] +\| 0\.50x \(0\.45x\) gpu B +\| 25\.0% +\|/,
    );
    expect(table.split('\n')[3]).toContain('n/a [2]');
  });

  it('numbers equal reasons once across both tables', () => {
    const md = millisecondsTable(results);
    expect(md).toContain('| 100.00 ');
    expect(md).toContain('| 110.00 '); // ours by wall clock
    expect(md.match(/n\/a \[1\]/g)).toHaveLength(2); // the cpu cell of both rows
  });

  it('draws one bar per number, on a log axis, and the training images/s below', () => {
    const svg = barChart(results);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(4 + 3);
    expect(svg).toContain('gpu B, dense: N=8 forward: 40.0 GFLOP/s');
    expect(svg).toContain('cpu, small resnext train (batch 64): 40.0 images/s');
  });

  it('gives training in images/s for the engines that train, and ours over each', () => {
    const table = trainingTable(results);
    expect(table.split('\n')[0]).toMatch(
      /\| ours images\/s +\| gpu A images\/s +\| cpu images\/s +\| ours \/ gpu A +\| ours \/ cpu +\|$/,
    );
    expect(table.split('\n')[2]).toMatch(
      /\| 20\.0 \(3200 ms, 3 steps\) +\| 2\.0 \(32000 ms, 2 steps\) +\| 40\.0 \(1600 ms, 1 step\) +\| 10\.00x +\| 0\.50x +\|$/,
    );
    const md = markdown(results);
    expect(md).toContain('## Training, images/s');
    expect(md).toContain('splits each grouped 3x3 by group');
    expect(markdown({ ...results, rows: [] })).not.toContain('## GFLOP/s');
  });
});

describe('the training step', () => {
  const w = trainingWorkload(2);

  it("is resnext train's model: smallResnext() with its 249,322 parameters", () => {
    expect(w.parameters).toBe(249_322);
    const model = smallResnext();
    expect(model.parameters().reduce((n, p) => n + p.size, 0)).toBe(w.parameters);
    model.dispose();
  });

  // tfjs's CPU backend: building the model is cheap there, a step is not (about a minute).
  it.skipIf(!existsSync(new URL('node_modules/@tensorflow/tfjs', import.meta.url)))(
    'is the same model in tfjs',
    async () => {
      const tf = await importPeer<TfTraining>('@tensorflow/tfjs', 'cjs');
      await tf.setBackend('cpu');
      const model = resnextTraining(tf, w);
      expect(model.parameters).toBe(249_322);
      model.dispose();
    },
  );

  it.skipIf(!torchAvailable())('is the same model in PyTorch, which refuses another', async () => {
    const torch = torchCpu();
    try {
      const runner = await torch.prepareTraining!(w); // checks the count against ours
      expect((await runner.run()).ms).toBeGreaterThan(0);
      await expect(torch.prepareTraining!({ ...w, parameters: 1 })).rejects.toThrow(
        /PyTorch's model has 249322 parameters, ours 1/,
      );
    } finally {
      await torch.close?.();
    }
  });
});

describe('arguments', () => {
  it('selects shapes by index or label, the matmul and the training step by name', () => {
    const { shapes, matmul, train } = selectShapes('0,dense,matmul');
    expect(shapes.map((s) => s.label)).toEqual(['resnext50 stage1', 'dense']);
    expect(matmul).toBe(true);
    expect(train).toBe(false);
    expect(selectShapes('train')).toEqual({ shapes: [], matmul: false, train: true });
    expect(selectShapes(undefined).train).toBe(true);
    expect(selectShapes('stage').shapes).toHaveLength(4);
    expect(() => selectShapes('nope')).toThrow(/matches no shape/);
  });

  it('has a quick mode and refuses bad numbers', () => {
    const quick = parseOptions(['--quick']);
    expect(quick.iterations).toBe(2);
    expect(quick.shapes.map((s) => s.label)).toEqual(['dense']);
    expect([quick.train, quick.trainSteps, parseOptions([]).trainSteps]).toEqual([true, 1, 3]);
    expect(() => parseOptions(['--train-steps', '0'])).toThrow(/--train-steps '0'/);
    expect(parseOptions(['--modes', 'forward']).modes).toEqual(['forward']);
    expect(() => parseOptions(['--iterations', '0'])).toThrow(/--iterations '0'/);
    expect(() => parseOptions(['--bogus'])).toThrow();
  });
});
