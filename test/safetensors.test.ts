import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadSafetensors,
  models,
  randn,
  readSafetensors,
  saveSafetensors,
  SafetensorsError,
  tensor,
  tidy,
} from '../src/index.js';
import { fromHalf, parseSafetensors, serializeSafetensors, toHalf } from '../src/io/safetensors.js';
import { assertClose, rngFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));

/** A file laid out as the Python library writes one. */
function writeRaw(path: string, header: object, data: Uint8Array): void {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, data]));
}

type HostTensorLike = { data: Float32Array };

describe('safetensors', () => {
  it('a model saved and loaded into a fresh one gives the same outputs, counters and all', async () => {
    const spec = { blocksPerStage: [1, 1], channels: [16, 32], stemChannels: 8, groupWidth: 2, cardinality: 4 };
    const a = models.smallResnext(spec, { generator: rngFor('st a') });
    a.train();
    tidy(() => a.forward(randn([4, 1, 8, 8])));
    a.eval();
    const path = join(dir, 'model.safetensors');
    await saveSafetensors(path, a.stateDict(), { metadata: { format: 'pt', note: 'round trip' } });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const b = models.smallResnext(spec, { generator: rngFor('st b') });
    const file = await readSafetensors(path);
    expect(file.metadata).toEqual({ format: 'pt', note: 'round trip' });
    expect(file.tensors['bn1.num_batches_tracked']).toBe(1n);
    b.loadStateDict(await loadSafetensors(path), { strict: true });
    b.eval();
    expect(b.stateDict()['layer1.0.bn2.num_batches_tracked']).toBe(1n);
    const x = randn([2, 1, 8, 8]);
    assertClose(await b.forward(x).toArray(), await a.forward(x).toArray(), 'logits after reload', {
      rtol: 0,
      atol: 0,
    });
  });

  it('writes F16 and reads F16, BF16, I64 and F32 files laid out by the Python library', async () => {
    const path = join(dir, 'half.safetensors');
    await saveSafetensors(path, { w: tensor([1, -2.5, 65504, 1e-8, 0.1], [5]) }, { dtype: 'F16' });
    const w = (await loadSafetensors(path)).w as { data: Float32Array };
    expect(Array.from(w.data)).toEqual([1, -2.5, 65504, 0, fromHalf(toHalf(Float32Array.of(0.1)))[0]]);

    const f32 = new Float32Array([1.5, -2]);
    const i64 = new BigInt64Array([7n, -3n]);
    const bf16 = new Uint16Array([0x3f80, 0xc000]); // 1, -2
    const data = Buffer.concat([
      Buffer.from(f32.buffer),
      Buffer.from(i64.buffer),
      Buffer.from(bf16.buffer),
      Buffer.from(new BigInt64Array([42n]).buffer),
    ]);
    writeRaw(
      join(dir, 'python.safetensors'),
      {
        __metadata__: { format: 'pt' },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
        c: { dtype: 'BF16', shape: [1, 2], data_offsets: [24, 28] },
        n: { dtype: 'I64', shape: [], data_offsets: [28, 36] },
      },
      data,
    );
    const t = await loadSafetensors(join(dir, 'python.safetensors'));
    expect(Array.from((t.a as { data: Float32Array }).data)).toEqual([1.5, -2]);
    expect(Array.from((t.b as { data: Float32Array }).data)).toEqual([7, -3]);
    expect((t.c as { shape: number[] }).shape).toEqual([1, 2]);
    expect(Array.from((t.c as { data: Float32Array }).data)).toEqual([1, -2]);
    expect(t.n).toBe(42n);
  });

  it('re-saves tensors read from a file (views into its bytes) as they are, in F32 and F16', async () => {
    const original = {
      a: { data: Float32Array.of(1, 2, 3), shape: [3] },
      b: { data: Float32Array.of(-4, 0.5), shape: [2] },
    };
    const read = parseSafetensors(await serializeSafetensors(original));
    for (const dtype of ['F32', 'F16'] as const) {
      const again = parseSafetensors(await serializeSafetensors(read.tensors, { dtype }));
      for (const key of ['a', 'b'] as const)
        expect(Array.from((again.tensors[key] as HostTensorLike).data)).toEqual(Array.from(original[key].data));
    }
  });

  it('a failed write leaves no temporary file and the previous file untouched', async () => {
    const target = join(dir, 'occupied');
    const { mkdirSync, writeFileSync: write } = await import('node:fs');
    mkdirSync(target);
    write(join(target, 'keep'), 'x'); // a non-empty directory cannot be renamed over
    await expect(saveSafetensors(target, { a: tensor([1]) })).rejects.toThrow(/cannot be written/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(target)).toEqual(['keep']);
  });

  it('half conversion rounds to nearest even and keeps specials', () => {
    expect(
      Array.from(fromHalf(toHalf(Float32Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, -Infinity, 2 ** -24)))),
    ).toEqual([1, 1 + 2 ** -9, Infinity, -Infinity, 2 ** -24]);
    expect(Number.isNaN(fromHalf(toHalf(Float32Array.of(NaN)))[0])).toBe(true);
  });

  it('rejects broken files with a message naming the file and the problem', async () => {
    const bad = (name: string, header: object, data = new Uint8Array(8)) => {
      const path = join(dir, name);
      writeRaw(path, header, data);
      return path;
    };
    const rawHeader = (name: string, json: Buffer) => {
      const path = join(dir, name);
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(path, Buffer.concat([length, json, Buffer.alloc(8)]));
      return path;
    };
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, Buffer.from([1, 2, 3]));
    const lying = join(dir, 'lying.safetensors');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(1n << 40n);
    writeFileSync(lying, length);
    const cases: [string, RegExp][] = [
      [truncated, /too short/],
      [lying, /declares a \d+-byte header/],
      [
        bad('offsets.safetensors', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }),
        /data_offsets \[0,16\] that do not hold 16 bytes inside the 8-byte data section/,
      ],
      [bad('dtype.safetensors', { a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }), /unknown dtype "Q4"/],
      [dir, /is a directory/],
      [
        rawHeader(
          'duplicate.safetensors',
          Buffer.from(
            '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
          ),
        ),
        /names a tensor more than once/,
      ],
      [
        rawHeader('latin1.safetensors', Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])),
        /not valid UTF-8 JSON/,
      ],
      [rawHeader('array.safetensors', Buffer.from('[1,2]')), /header that is not a JSON object/],
      [rawHeader('null.safetensors', Buffer.from('null')), /header that is not a JSON object/],
    ];
    for (const [path, message] of cases) {
      await expect(loadSafetensors(path)).rejects.toThrow(SafetensorsError);
      await expect(loadSafetensors(path)).rejects.toThrow(message);
    }
  });
});
