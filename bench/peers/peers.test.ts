// The bench's own logic, without the peer packages: `npx vitest run --config bench/peers/vitest.config.ts`.
// (The root suite collects test/ only.) Importing report.ts acquires our device.
import { describe, expect, it } from 'vitest';
import { geometryOf } from '../conv.js';
import { DEFAULT_SHAPES } from '../shapes.js';
import { parseOptions, selectShapes } from './args.js';
import { convModel, matmulModel } from './onnx.js';
import { barChart, gflopsTable, millisecondsTable, versusBestWebGpu, type Results } from './report.js';

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
    { label: 'dense', description: 'dense: N=8', mode: 'fwd+bwd', flops: 6e9, cells: { ours: { error: 'ours failed: boom' }, cpu: { error: 'inference only: no backward' } } },
  ],
  notes: [],
};

describe('report', () => {
  it('compares ours with the best WebGPU peer and the FMA ceiling', () => {
    // Ours: 2e9 flops in 100 ms by timestamps (20 GFLOP/s), 110 ms by wall clock.
    expect(versusBestWebGpu(results, results.rows[0])).toEqual({ ratio: 0.5, wallRatio: 2e9 / 110 / 1e6 / 40, peer: 'gpu B' });
    const table = gflopsTable(results);
    const first = table.split('\n')[2];
    expect(first).toMatch(/\| 20\.0 +\| 80\.0 +\| 5\.0 \(0\.25x\) +\| 40\.0 \(2\.00x\) +\| n\/a \[1\] +\| 0\.50x \(0\.45x\) gpu B +\| 25\.0% +\|/);
    expect(table.split('\n')[3]).toContain('n/a [2]');
  });

  it('numbers equal reasons once across both tables', () => {
    const md = millisecondsTable(results);
    expect(md).toContain('| 100.00 ');
    expect(md).toContain('| 110.00 '); // ours by wall clock
    expect(md.match(/n\/a \[1\]/g)).toHaveLength(2); // the cpu cell of both rows
  });

  it('draws one bar per number, on a log axis', () => {
    const svg = barChart(results);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
    expect(svg).toContain('gpu B, dense: N=8 forward: 40.0 GFLOP/s');
  });
});

describe('arguments', () => {
  it('selects shapes by index or label and the matmul by name', () => {
    const { shapes, matmul } = selectShapes('0,dense,matmul');
    expect(shapes.map((s) => s.label)).toEqual(['resnext50 stage1', 'dense']);
    expect(matmul).toBe(true);
    expect(selectShapes('stage').shapes).toHaveLength(4);
    expect(() => selectShapes('nope')).toThrow(/matches no shape/);
  });

  it('has a quick mode and refuses bad numbers', () => {
    const quick = parseOptions(['--quick']);
    expect(quick.iterations).toBe(2);
    expect(quick.shapes.map((s) => s.label)).toEqual(['dense']);
    expect(parseOptions(['--modes', 'forward']).modes).toEqual(['forward']);
    expect(() => parseOptions(['--iterations', '0'])).toThrow(/--iterations '0'/);
    expect(() => parseOptions(['--bogus'])).toThrow();
  });
});
