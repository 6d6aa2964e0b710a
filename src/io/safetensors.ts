// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__}, then the bytes.
// This module works on bytes, so it runs in Node and in pages alike; src/node/safetensors-file.ts
// streams the chunks to a file (renamed into place) and reads files. Float32 data is viewed
// in place where aligned.
import { concatBytes } from '../bytes.js';
import { ResnextError } from '../errors.js';
import type { HostTensor, StateDict } from '../nn/module.js';
import { Tensor } from '../tensor.js';

export class SafetensorsError extends ResnextError {
  /** `source` names what was read: a path, or the kind of data in a page. */
  constructor(source: string, detail: string) {
    super(`${source}: ${detail}`);
  }
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SaveOptions {
  /** Floating-point tensors are stored as F32 (default) or F16. */
  dtype?: 'F32' | 'F16';
  metadata?: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The file's bytes as chunks: the header, then one tensor at a time (read from the GPU
 *  as it is reached). bigint values become I64 scalars (num_batches_tracked). */
export async function* encodeSafetensors(
  dict: StateDict,
  { dtype = 'F32', metadata }: SaveOptions = {},
): AsyncGenerator<Uint8Array> {
  const names = Object.keys(dict);
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const v = dict[name];
    const entryDtype = typeof v === 'bigint' ? 'I64' : dtype;
    const shape = typeof v === 'bigint' ? [] : [...v.shape];
    const bytes = BYTES[entryDtype] * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: entryDtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  yield length;
  yield headerBytes;
  for (const name of names) yield await encode(dict[name], dtype);
}

/** The whole file in one array: what a page hands to a Blob for download. */
export async function serializeSafetensors(dict: StateDict, options: SaveOptions = {}): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of encodeSafetensors(dict, options)) chunks.push(chunk);
  return concatBytes(chunks);
}

async function encode(value: StateDict[string], dtype: 'F32' | 'F16'): Promise<Uint8Array> {
  if (typeof value === 'bigint') return new Uint8Array(BigInt64Array.of(value).buffer);
  const data = value instanceof Tensor ? await value.toArray() : value.data;
  // A host tensor may be a view into a larger buffer (parseSafetensors returns views into the file).
  const typed = dtype === 'F16' ? toHalf(data) : data;
  return new Uint8Array(typed.buffer, typed.byteOffset, data.length * BYTES[dtype]);
}

export interface SafetensorsFile {
  tensors: Record<string, HostTensor | bigint>;
  metadata: Record<string, string>;
}

/** Every tensor as float32 (I64 scalars as bigint), with the file's metadata. `source`
 *  names the data in errors (the file's path, or 'safetensors data'). */
export function parseSafetensors(data: Uint8Array | ArrayBuffer, source = 'safetensors data'): SafetensorsFile {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8)
    throw new SafetensorsError(source, `is ${bytes.length} bytes long, too short for a safetensors header`);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    throw new SafetensorsError(
      source,
      `declares a ${headerLength}-byte header but the file has ${bytes.length - 8} bytes after the length`,
    );
  }
  let parsed: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(source, `has a header that is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SafetensorsError(source, 'has a header that is not a JSON object');
  const header = parsed as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, HostTensor | bigint> = {};
  const { __metadata__: metadata = {}, ...entries } = header;
  // JSON.parse keeps the last of repeated keys silently; every entry has one data_offsets.
  if ((text.match(/"data_offsets"/g) ?? []).length !== Object.keys(entries).length) {
    throw new SafetensorsError(source, 'has a header that names a tensor more than once');
  }
  for (const [name, raw] of Object.entries(entries)) {
    const { dtype, shape, data_offsets } = raw as HeaderEntry;
    if (!(dtype in BYTES))
      throw new SafetensorsError(source, `tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw new SafetensorsError(source, `tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const [begin, end] = data_offsets ?? [];
    const expected = BYTES[dtype] * shape.reduce((a, b) => a * b, 1);
    if (
      !Number.isSafeInteger(begin) ||
      !Number.isSafeInteger(end) ||
      begin < 0 ||
      end > dataLength ||
      end - begin !== expected
    ) {
      throw new SafetensorsError(
        source,
        `tensor '${name}' has data_offsets ${JSON.stringify(data_offsets)} that do not hold ${expected} bytes inside the ${dataLength}-byte data section`,
      );
    }
    const slice = bytes.subarray(dataStart + begin, dataStart + end);
    tensors[name] =
      dtype === 'I64' && shape.length === 0
        ? new DataView(slice.buffer, slice.byteOffset, 8).getBigInt64(0, true)
        : { shape, data: decode(slice, dtype) };
  }
  return { tensors, metadata: metadata as Record<string, string> };
}

function decode(bytes: Uint8Array, dtype: string): Float32Array {
  const n = bytes.length / BYTES[dtype];
  // Typed arrays need aligned offsets: view in place when possible, else copy once.
  const aligned = (size: number) => (bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes));
  switch (dtype) {
    case 'F32': {
      const b = aligned(4);
      return new Float32Array(b.buffer, b.byteOffset, n);
    }
    case 'F16':
      return fromHalf(new Uint16Array(aligned(2).buffer, aligned(2).byteOffset, n));
    case 'BF16': {
      const b = aligned(2);
      const bits = new Uint16Array(b.buffer, b.byteOffset, n);
      return new Float32Array(Uint32Array.from(bits, (h) => h << 16).buffer);
    }
    case 'F64':
      return Float32Array.from(new Float64Array(aligned(8).buffer, aligned(8).byteOffset, n));
    case 'I64':
      return Float32Array.from(new BigInt64Array(aligned(8).buffer, aligned(8).byteOffset, n), Number);
    case 'I32':
      return Float32Array.from(new Int32Array(aligned(4).buffer, aligned(4).byteOffset, n));
    case 'I16':
      return Float32Array.from(new Int16Array(aligned(2).buffer, aligned(2).byteOffset, n));
    case 'I8':
      return Float32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, n));
    default: // U8, BOOL
      return Float32Array.from(bytes);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from float32, rounding to nearest even; overflow becomes infinity. */
export function toHalf(values: Float32Array): Uint16Array {
  return Uint16Array.from(values, (v) => {
    f32[0] = v;
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
    const e = exponent - 127 + 15;
    if (e >= 0x1f) return sign | 0x7c00;
    if (e <= 0) {
      if (e < -10) return sign;
      mantissa |= 0x800000;
      const shift = 14 - e;
      const half = mantissa >>> shift;
      const rest = mantissa & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      return sign | (half + (rest > halfway || (rest === halfway && half & 1) ? 1 : 0));
    }
    const rest = mantissa & 0x1fff;
    let half = (e << 10) | (mantissa >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
    return sign | half;
  });
}

export function fromHalf(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, (h) => {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) return sign * mantissa * 2 ** -24;
    if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
    return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  });
}
