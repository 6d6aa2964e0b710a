// Elementwise ops (kernels/elementwise.wgsl): add, sub, mul, div with broadcasting and
// scalars, neg, relu, exp, log, sqrt, expand, and in-place gradient accumulation.
import { record } from '../autograd.js';
import { ArgumentError, fmtShape, ShapeError, type Shape } from '../errors.js';
import { grid, kernelContract, runtime, u32x4Array, uniformStruct, type Launch } from '../runtime/index.js';
import { empty, Tensor } from '../tensor.js';
import { sumTo } from './reduce_kernel.js';
import { broadcastShapes, broadcastStrides, expectFinite, expectShape, expectTensor, MAX_RANK } from './validate.js';

const WG = 256;
/** Elements per vec4, for the vec4 entries. */
const LANES = 4;
/** Vec4s per invocation of the vec4 entries, where there are enough of them that
 *  MIN_INVOCATIONS invocations remain. */
const SPAN = 16;
const MIN_INVOCATIONS = 4096;

/** Elements of the last dimension per invocation of strided_copy. */
const STRIDED_RUN = 64;

/** The vec4 entries' SPAN and grid for n elements. */
function vec4Plan(n: number) {
  const vec4s = Math.ceil(n / LANES);
  const span = vec4s >= SPAN * MIN_INVOCATIONS ? SPAN : 1;
  return { SPAN: span, workgroups: grid.items(vec4s, span * WG) };
}
/** Op codes, emitted into the kernel as UNARY_IDENTITY, ..., BINARY_RELU_BACKWARD. */
const UNARY = { identity: 0, relu: 1, exp: 2, log: 3, sqrt: 4 } as const;
const BINARY = { add: 0, sub: 1, mul: 2, div: 3, reluBackward: 4 } as const;
type Unary = keyof typeof UNARY;
type Binary = keyof typeof BINARY;

/** vec4 slots holding MAX_RANK sizes or strides. */
const RANK_SLOTS = MAX_RANK / LANES;
/** n elements of out = alpha * f(a) + beta (unary) or a (op) b (binary); the strided entries
 *  walk `shape` with each operand's strides (0 where broadcast). */
const ELEMENTWISE_PARAMS = uniformStruct('ElementwiseParams', {
  n: 'u32',
  alpha: 'f32',
  beta: 'f32',
  shape: u32x4Array(RANK_SLOTS),
  a_strides: u32x4Array(RANK_SLOTS),
  b_strides: u32x4Array(RANK_SLOTS),
});
kernelContract('elementwise', { structs: [ELEMENTWISE_PARAMS], consts: { RANK_SLOTS, UNARY, BINARY } });

/** FAST_DIV: set when every index and offset stays below 2^24 (see div_mod). */
const fastDiv = (...sizes: number[]) => Number(Math.max(...sizes) < 1 << 24);

/** The strided entries' constants (only they read them: the vec4 entries would compile a
 *  pipeline per rank for nothing). */
const stridedConstants = (shape: Shape, ...sizes: number[]) => ({
  RANK: Math.max(1, shape.length),
  FAST_DIV: fastDiv(...sizes),
});

/** A shape and each operand's strides over it. */
type Walk = { shape: number[]; strides: number[][] };

/** `shape` and each operand's strides over it with size-1 dims dropped and neighbours that
 *  every operand walks as one dim (stride[d] = stride[d + 1] * shape[d + 1]) merged: the
 *  strided entries divide once per dim and element, and strided_copy's runs grow (a mean's
 *  backward over 7x7 planes walks [N * C, 49], not [N, C, 7, 7]). */
function coalesce(shape: Shape, strides: readonly number[][]): Walk {
  const merged: number[] = [];
  const mergedStrides = strides.map((): number[] => []);
  shape.forEach((size, d) => {
    if (size === 1) return;
    const last = merged.length - 1;
    if (last >= 0 && strides.every((s, k) => mergedStrides[k][last] === s[d] * size)) {
      merged[last] *= size;
      strides.forEach((s, k) => (mergedStrides[k][last] = s[d]));
    } else {
      merged.push(size);
      strides.forEach((s, k) => mergedStrides[k].push(s[d]));
    }
  });
  return merged.length ? { shape: merged, strides: mergedStrides } : { shape: [1], strides: strides.map(() => [0]) };
}

const NONE: readonly number[] = [];

function params(n: number, shape: Shape, a_strides = NONE, b_strides = NONE, alpha = 1, beta = 0) {
  return ELEMENTWISE_PARAMS.pack({ n, alpha, beta, shape, a_strides, b_strides });
}

/** out = alpha * f(x) + beta, reading x broadcast to `shape`. */
function unaryKernel(op: string, f: Unary, x: Tensor, alpha = 1, beta = 0, shape: Shape = x.shape): Tensor {
  return launchElementwise(op, 'unary', UNARY[f], [x], shape, alpha, beta);
}

function binaryKernel(op: string, f: Binary, a: Tensor, b: Tensor): Tensor {
  return launchElementwise(op, 'binary', BINARY[f], [a, b], broadcastShapes(op, a.shape, b.shape));
}

/** out = alpha * (OP applied to the operands, each read broadcast to `shape`) + beta. */
function launchElementwise(
  op: string,
  entry: 'unary' | 'binary',
  OP: number,
  operands: readonly [Tensor] | readonly [Tensor, Tensor],
  shape: Shape,
  alpha = 1,
  beta = 0,
): Tensor {
  const out = empty(shape);
  if (out.size === 0) return out;
  const walk = coalesce(
    shape,
    operands.map((t) => broadcastStrides(t.shape, shape)),
  );
  const [input, other] = operands;
  runtime().launch(op, {
    kernel: 'elementwise',
    ...elementwiseForm(entry, OP, operands, shape, walk, out.size),
    bind: other ? { input, other, out } : { input, out },
    params: params(out.size, walk.shape, walk.strides[0], walk.strides[1] ?? NONE, alpha, beta),
  });
  return out;
}

/** The entry, constants and grid of a launch: repeat4 where a copy repeats each value over a
 *  run, `entry`4 where no operand is broadcast, else the strided `entry`. */
function elementwiseForm(
  entry: 'unary' | 'binary',
  OP: number,
  operands: readonly Tensor[],
  shape: Shape,
  walk: Walk,
  size: number,
): Pick<Launch, 'entry' | 'constants' | 'grid'> {
  if (entry === 'unary' && OP === UNARY.identity && repeats(walk)) {
    return {
      entry: 'repeat4',
      constants: { WG, FAST_DIV: fastDiv(size) },
      grid: grid.items(Math.ceil(size / LANES), WG),
    };
  }
  const broadcast = operands.some((t) => t.shape.join() !== shape.join());
  const vec4 = broadcast ? null : vec4Plan(size);
  if (vec4) return { entry: `${entry}4`, constants: { OP, BROADCAST: 0, WG, SPAN: vec4.SPAN }, grid: vec4.workgroups };
  const strided = stridedConstants(walk.shape, ...operands.map((t) => t.size), size);
  return { entry, constants: { OP, BROADCAST: Number(broadcast), WG, ...strided }, grid: grid.items(size, WG) };
}

/** Whether a copy walks [rows, count] reading value r over the whole of row r, with runs of
 *  4 or more (a mean's gradient over trailing axes): kernels/elementwise.wgsl's repeat4
 *  then writes a vec4 of the output per invocation (the small ResNeXt's pool gradient ran
 *  3.1x faster than a value at a time). */
const repeats = (walk: Walk) => walk.shape.length === 2 && walk.strides[0].join() === '1,0' && walk.shape[1] >= LANES;

/** alpha * x + beta, differentiable; the scalar forms of add/sub/mul/div and neg. */
function affine(op: string, x: Tensor, alpha: number, beta: number): Tensor {
  const out = unaryKernel(op, 'identity', x, alpha, beta);
  return record(out, op, [x], { reads: [] }, (g) => [unaryKernel(op, 'identity', g, alpha)]);
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  expectTensor('add', 'input', a);
  if (typeof b === 'number') return affine('add', a, 1, expectFinite('add', 'other', b));
  expectTensor('add', 'other', b);
  const out = binaryKernel('add', 'add', a, b);
  return record(out, 'add', [a, b], { reads: [] }, (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  expectTensor('sub', 'input', a);
  if (typeof b === 'number') return affine('sub', a, 1, -expectFinite('sub', 'other', b));
  expectTensor('sub', 'other', b);
  return record(binaryKernel('sub', 'sub', a, b), 'sub', [a, b], { reads: [] }, (g) => [
    sumTo(g, a.shape),
    chain(unaryKernel('sub', 'identity', g, -1), (t) => sumTo(t, b.shape)),
  ]);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  expectTensor('mul', 'input', a);
  if (typeof b === 'number') return affine('mul', a, expectFinite('mul', 'other', b), 0);
  expectTensor('mul', 'other', b);
  return record(binaryKernel('mul', 'mul', a, b), 'mul', [a, b], { reads: [a, b] }, (g) => [
    a.requiresGrad ? chain(binaryKernel('mul', 'mul', g, b), (t) => sumTo(t, a.shape)) : null,
    b.requiresGrad ? chain(binaryKernel('mul', 'mul', g, a), (t) => sumTo(t, b.shape)) : null,
  ]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  expectTensor('div', 'input', a);
  if (typeof b === 'number') {
    const s = expectFinite('div', 'other', b);
    if (s === 0) throw new ArgumentError('div', 'other', 'is the scalar 0');
    return affine('div', a, 1 / s, 0);
  }
  expectTensor('div', 'other', b);
  const out = binaryKernel('div', 'div', a, b);
  return record(out, 'div', [a, b], (g) => [
    a.requiresGrad ? chain(binaryKernel('div', 'div', g, b), (t) => sumTo(t, a.shape)) : null,
    // d(a/b)/db = -(a/b)/b
    b.requiresGrad
      ? chain(
          binaryKernel('div', 'mul', g, out),
          (t) => binaryKernel('div', 'div', t, b),
          (t) => unaryKernel('div', 'identity', t, -1),
          (t) => sumTo(t, b.shape),
        )
      : null,
  ]);
}

export function neg(x: Tensor): Tensor {
  return affine('neg', expectTensor('neg', 'input', x), -1, 0);
}

export function relu(x: Tensor): Tensor {
  expectTensor('relu', 'input', x);
  return record(unaryKernel('relu', 'relu', x), 'relu', [x], { reads: [x] }, (g) => [reluBackward('relu', g, x)]);
}

/** g where x > 0, else 0 (x may be ReLU's input or its output): ReLU's backward, no graph. */
export function reluBackward(op: string, g: Tensor, x: Tensor): Tensor {
  return binaryKernel(op, 'reluBackward', g, x);
}

export function exp(x: Tensor): Tensor {
  expectTensor('exp', 'input', x);
  const out = unaryKernel('exp', 'exp', x);
  return record(out, 'exp', [x], (g) => [binaryKernel('exp', 'mul', g, out)]);
}

export function log(x: Tensor): Tensor {
  expectTensor('log', 'input', x);
  return record(unaryKernel('log', 'log', x), 'log', [x], (g) => [binaryKernel('log', 'div', g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  expectTensor('sqrt', 'input', x);
  const out = unaryKernel('sqrt', 'sqrt', x);
  return record(out, 'sqrt', [x], (g) => [
    chain(binaryKernel('sqrt', 'div', g, out), (t) => unaryKernel('sqrt', 'identity', t, 0.5)),
  ]);
}

/** Broadcasts x to `shape` (a copy, not a view), times alpha. */
export function broadcastTo(x: Tensor, shape: Shape, alpha = 1): Tensor {
  return unaryKernel('expand', 'identity', x, alpha, 0, shape);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor('expand', 'input', x);
  expectShape('expand', 'shape', shape);
  const target = broadcastShapes('expand', shape, x.shape);
  if (target.join() !== shape.join()) {
    throw new ShapeError(
      'expand',
      'shape',
      `${fmtShape(shape)} cannot hold input shape ${fmtShape(x.shape)} by broadcasting`,
    );
  }
  return record(broadcastTo(x, shape), 'expand', [x], { reads: [] }, (g) => [sumTo(g, x.shape)]);
}

/** target += source in place; both the same shape. For gradient accumulation. */
export function accumulateInto(target: Tensor, source: Tensor): void {
  if (target.shape.join() !== source.shape.join()) {
    throw new ShapeError(
      'accumulate',
      'source',
      `has shape ${fmtShape(source.shape)}, target has ${fmtShape(target.shape)}`,
    );
  }
  if (target.size === 0) return;
  const { SPAN, workgroups } = vec4Plan(target.size);
  runtime().launch('accumulate', {
    kernel: 'elementwise',
    entry: 'accumulate',
    constants: { WG, SPAN },
    bind: { target, source },
    params: params(target.size, target.shape),
    grid: workgroups,
  });
}

/** dst[dstStrides . i] = src[srcStrides . i] for every index i of `shape` (element strides). */
export function stridedCopy(
  op: string,
  src: Tensor,
  srcStrides: number[],
  dst: Tensor,
  dstStrides: number[],
  shape: Shape,
): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const walk = coalesce(shape, [srcStrides, dstStrides]);
  const last = walk.shape.at(-1)!;
  const runs = (n / last) * Math.ceil(last / STRIDED_RUN);
  runtime().launch(op, {
    kernel: 'elementwise',
    entry: 'strided_copy',
    constants: { WG, RUN: STRIDED_RUN, ...stridedConstants(walk.shape, src.size, dst.size, n) },
    bind: { input: src, out: dst },
    params: params(n, walk.shape, walk.strides[0], walk.strides[1]),
    grid: grid.items(runs, WG),
  });
}

/** Applies each step to the previous result, disposing intermediates that a step did not pass through. */
function chain(first: Tensor, ...steps: ((t: Tensor) => Tensor)[]): Tensor {
  return steps.reduce((t, step) => {
    const next = step(t);
    if (next !== t) t.dispose();
    return next;
  }, first);
}
