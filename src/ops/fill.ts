// Fill and copy (kernels/fill.wgsl): zeros, ones, full, and clone.
import { record } from '../autograd.js';
import { ArgumentError, type Shape } from '../errors.js';
import { grid, kernelContract, runtime, uniformStruct } from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { expectFinite, expectShape, expectTensor } from './validate.js';

const WG = 256;
/** Elements per vec4, for the vec4 entries. */
const LANES = 4;

const FILL_PARAMS = uniformStruct('FillParams', { n: 'u32', value: 'f32' });
/** Rows of n elements: row r from src[src_offset + r * src_row] to dst[dst_offset + r * dst_row],
 *  padded with zeros to `width` by copy_padded. */
const COPY_PARAMS = uniformStruct('CopyParams', {
  n: 'u32',
  rows: 'u32',
  src_offset: 'u32',
  dst_offset: 'u32',
  src_row: 'u32',
  dst_row: 'u32',
  width: 'u32',
});
kernelContract('fill', { structs: [FILL_PARAMS, COPY_PARAMS] });

export interface CreateOptions {
  requiresGrad?: boolean;
}

export function full(shape: Shape, value: number, { requiresGrad = false }: CreateOptions = {}): Tensor {
  expectShape('full', 'shape', shape);
  expectFinite('full', 'value', value);
  const out = empty(shape);
  if (out.size > 0) {
    // The tensor's buffer is whole vec4s: filling its last one whole touches only padding.
    const vectors = Math.ceil(out.size / LANES);
    runtime().launch('full', {
      kernel: 'fill',
      entry: 'fill4',
      constants: { WG },
      bind: { out },
      params: FILL_PARAMS.pack({ n: vectors, value }),
      grid: grid.items(vectors, WG),
    });
  }
  out.requiresGrad = requiresGrad;
  return out;
}

export const zeros = (shape: Shape, options?: CreateOptions): Tensor => full(shape, 0, options);
export const ones = (shape: Shape, options?: CreateOptions): Tensor => full(shape, 1, options);
export const zerosLike = (t: Tensor, options?: CreateOptions): Tensor => zeros(t.shape, options);
export const onesLike = (t: Tensor, options?: CreateOptions): Tensor => ones(t.shape, options);

export interface RowCopy {
  /** Contiguous elements per row. */
  n: number;
  rows: number;
  srcOffset?: number;
  dstOffset?: number;
  srcRow?: number;
  dstRow?: number;
  /** Elements written per row: the n copied, then zeros up to padTo (one invocation per
   *  row: for many short rows). */
  padTo?: number;
}

/** Copies rows of elements from src into dst (both already allocated). */
export function copyRows(
  op: string,
  src: Tensor,
  dst: Tensor,
  { n, rows, srcOffset = 0, dstOffset = 0, srcRow = n, dstRow = n, padTo }: RowCopy,
): void {
  if (n * rows === 0) return;
  if (padTo !== undefined) {
    runtime().launch(op, {
      kernel: 'fill',
      entry: paddedEntry(n, srcOffset, dstOffset, srcRow, dstRow, padTo),
      constants: { WG },
      bind: { input: src, out: dst },
      params: COPY_PARAMS.pack({
        n,
        rows,
        src_offset: srcOffset,
        dst_offset: dstOffset,
        src_row: srcRow,
        dst_row: dstRow,
        width: padTo,
      }),
      grid: grid.items(rows, WG),
    });
    return;
  }
  // vec4s when every count and offset is whole vec4s, or when one row fills dst from its
  // start to its end (then the last vec4 copies padding into padding).
  const whole = [n, srcOffset, dstOffset, srcRow, dstRow].every((v) => v % LANES === 0);
  const wholeTensor = rows === 1 && srcOffset === 0 && dstOffset === 0 && n === dst.size;
  const width = whole || wholeTensor ? LANES : 1;
  const units = (v: number) => Math.ceil(v / width);
  runtime().launch(op, {
    kernel: 'fill',
    entry: width === LANES ? 'copy4' : 'copy',
    constants: { WG },
    bind: { input: src, out: dst },
    params: COPY_PARAMS.pack({
      n: units(n),
      rows,
      src_offset: units(srcOffset),
      dst_offset: units(dstOffset),
      src_row: units(srcRow),
      dst_row: units(dstRow),
      width: 0,
    }),
    grid: grid.items(units(n) * rows, WG),
  });
}

/** copy_padded, or its vec4 forms where the rows written (pad4) or read (crop4) are whole
 *  vec4s. */
function paddedEntry(n: number, srcOffset: number, dstOffset: number, srcRow: number, dstRow: number, width: number) {
  const whole = (...v: number[]) => v.every((x) => x % LANES === 0);
  if (whole(dstOffset, dstRow, width) && width <= dstRow) return 'pad4';
  if (whole(srcOffset, srcRow) && n === width && n <= srcRow) return 'crop4';
  return 'copy_padded';
}

/** t with its last dimension padded with zeros to `size` (t itself if it is that size
 *  already), for kernels that read whole vec4s. No graph. Inside sharingPads(), a copy of
 *  values already padded the same way there is shared (a view of it). */
export function padLast(op: string, t: Tensor, size: number): Tensor {
  if (t.shape.at(-1) === size) return t;
  if (!sharedPads) return paddedCopy(op, t, size);
  const buffer = t.buffer(op, 'input');
  const key = `${t.shape.join('x')}>${size}`;
  const made = sharedPads.byBuffer.get(buffer)?.get(key);
  if (made) return made.view();
  const out = paddedCopy(op, t, size);
  share(sharedPads, buffer, t, key, out);
  return out.view();
}

function paddedCopy(op: string, t: Tensor, size: number): Tensor {
  const last = t.shape.at(-1)!;
  const out = empty([...t.shape.slice(0, -1), size]);
  copyRows(op, t, out, { n: last, rows: t.size / last, srcRow: last, dstRow: size, padTo: size });
  return out;
}

/** The padded copies sharingPads() hands out, by the buffer of the values padded. Each
 *  source is held by a view until the scope ends, so its buffer is not reused meanwhile. */
interface SharedPads {
  byBuffer: Map<GPUBuffer, Map<string, Tensor>>;
  held: Tensor[];
}
let sharedPads: SharedPads | null = null;

function share(pads: SharedPads, buffer: GPUBuffer, source: Tensor, key: string, copy: Tensor): void {
  const copies = pads.byBuffer.get(buffer) ?? new Map<string, Tensor>();
  if (!copies.size) {
    pads.byBuffer.set(buffer, copies);
    pads.held.push(source.view());
  }
  copies.set(key, copy);
}

/** Runs body with padLast's copies shared: a convolution's backward pads dy once for its
 *  grad-input and grad-weight (7x7 and 14x14 planes), instead of once each. The tensors
 *  padded must not be written meanwhile. */
export function sharingPads<T>(body: () => T): T {
  const outer = sharedPads;
  const pads: SharedPads = { byBuffer: new Map(), held: [] };
  sharedPads = pads;
  try {
    return body();
  } finally {
    sharedPads = outer;
    for (const copies of pads.byBuffer.values()) for (const copy of copies.values()) copy.dispose();
    for (const t of pads.held) t.dispose();
  }
}

/** The first `size` entries of t's last dimension, shaped `shape`, disposing t (a view
 *  of t if nothing is cut). No graph. */
export function cropLast(op: string, t: Tensor, size: number, shape: Shape): Tensor {
  const last = t.shape.at(-1)!;
  const out = last === size ? t.view(shape) : empty(shape);
  if (last !== size) copyRows(op, t, out, { n: size, rows: t.size / last, srcRow: last, dstRow: size, padTo: size });
  t.dispose();
  return out;
}

/** Overwrites target's values in place with source's (a tensor or host data of the same size). */
export function assign(target: Tensor, source: Tensor | Float32Array): void {
  expectTensor('assign', 'target', target);
  const size = source instanceof Float32Array ? source.length : expectTensor('assign', 'source', source).size;
  if (size !== target.size)
    throw new ArgumentError('assign', 'source', `has ${size} values, target ${target.toString()} has ${target.size}`);
  if (source instanceof Float32Array) runtime().write(target.buffer('assign', 'target'), source);
  else if (source.buffer('assign', 'source') !== target.buffer('assign', 'target'))
    copyRows('assign', source, target, { n: size, rows: 1 });
}

/** A copy with its own storage; gradients flow through unchanged. */
export function clone(x: Tensor): Tensor {
  expectTensor('clone', 'input', x);
  const out = empty(x.shape);
  copyRows('clone', x, out, { n: x.size, rows: 1 });
  return record(out, 'clone', [x], { reads: [] }, (g) => [g]);
}
