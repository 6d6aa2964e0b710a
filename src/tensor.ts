// Float32 tensors on the GPU: contiguous storage, shape, autograd fields, and the memory
// rules. JavaScript has no reference counting, so GPU memory is returned three ways:
// dispose(), the end of a tidy() scope, or (as a safety net) garbage collection.
import { DisposedTensorError, fmtShape, ShapeError, TensorTooLargeError, type Shape } from './errors.js';
import { runtime, type Runtime } from './runtime/index.js';

/** One GPU buffer, shared by a tensor and its views (reshape, detach). */
export class Storage {
  private refs = 1;
  constructor(
    readonly runtime: Runtime,
    readonly buffer: GPUBuffer,
  ) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0 && this.runtime.alive) this.runtime.pool.release(this.buffer);
  }
}

/** An autograd graph node: how to turn the output's gradient into its inputs' gradients. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  backward: (grad: Tensor) => (Tensor | null)[];
  /** Intermediate tensors the backward reads (not inputs or the output): the graph owns
   *  them and disposes them when it is freed (see record() in autograd.ts). */
  saved: readonly Tensor[];
  /** The inputs, and the output, that the backward reads (record()'s `reads`): an evicted
   *  one among them is recomputed before the backward runs. */
  readonly reads: readonly Tensor[];
}

const collected = new FinalizationRegistry<Storage>((storage) => storage.release());
const scopes: Tensor[][] = [];

export const numel = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  gradFn: GradFn | null = null;
  /** Whether a recorded backward reads this tensor (record() sets it): releaseIntermediates
   *  then leaves it to the graph instead of freeing it at once. */
  readByBackward = false;
  /** How its maker computes it again from what the graph holds anyway (a BN-ReLU output
   *  from the BN's input and statistics): releaseIntermediates may then evict it while the
   *  graph waits for its backward, and runBackward restores it for the backward that reads
   *  it (docs/memory.md). Returns a new tensor with the same values, no graph. */
  recompute: (() => Tensor) | null = null;
  private storage: Storage | null;
  private kept = false;

  constructor(storage: Storage, shape: Shape, requiresGrad = false) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.requiresGrad = requiresGrad;
    collected.register(this, storage, this);
    scopes.at(-1)?.push(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get strides(): number[] {
    return contiguousStrides(this.shape);
  }

  get isDisposed(): boolean {
    return this.storage === null && !this.isEvicted;
  }

  /** Whether evict() returned its memory until restore() computes it again (dispose()
   *  drops the recipe, so a disposed tensor is not evicted). */
  get isEvicted(): boolean {
    return this.storage === null && this.recompute !== null;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Whether keep() exempted it from tidy() (and from releaseIntermediates). */
  get isKept(): boolean {
    return this.kept;
  }

  /** The GPU buffer, for ops: throws a typed error naming the op and argument if unusable. */
  buffer(op: string, argument: string): GPUBuffer {
    return this.liveStorage(op, argument).buffer;
  }

  /** A new tensor sharing this one's storage (reshape uses it with another shape). */
  view(shape: Shape = this.shape, op = 'view'): Tensor {
    if (numel(shape) !== this.size) {
      throw new ShapeError(
        op,
        'shape',
        `${fmtShape(shape)} has ${numel(shape)} elements, input ${fmtShape(this.shape)} has ${this.size}`,
      );
    }
    return new Tensor(this.liveStorage(op, 'input').retain(), shape);
  }

  /** Shares storage, cut from the autograd graph. */
  detach(): Tensor {
    return this.view(this.shape, 'detach');
  }

  async toArray(): Promise<Float32Array> {
    const storage = this.liveStorage('toArray', 'this');
    return new Float32Array(await storage.runtime.read(storage.buffer, this.size * 4));
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new ShapeError('item', 'this', `must have one element, got shape ${fmtShape(this.shape)}`);
    return (await this.toArray())[0];
  }

  /** Returns the GPU memory now; the tensor can no longer be used. */
  dispose(): void {
    this.recompute = null;
    this.releaseStorage();
  }

  /** @internal Returns the memory of a tensor its maker can recompute, until restore(). */
  evict(): void {
    if (this.recompute) this.releaseStorage();
  }

  /** @internal Computes an evicted tensor's values again, into new memory. */
  restore(): void {
    if (!this.isEvicted) return;
    const again = this.recompute!();
    this.storage = again.liveStorage('restore', 'this').retain();
    again.dispose();
    collected.register(this, this.storage, this);
  }

  /** Exempts this tensor from disposal by enclosing tidy() scopes. */
  keep(): this {
    this.kept = true;
    return this;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''}${this.isDisposed ? ', disposed' : ''})`;
  }

  private releaseStorage(): void {
    if (!this.storage) return;
    collected.unregister(this);
    this.storage.release();
    this.storage = null;
  }

  private liveStorage(op: string, argument: string): Storage {
    if (!this.storage) throw new DisposedTensorError(op, argument, this.isEvicted);
    this.storage.runtime.assertAlive();
    return this.storage;
  }

  /** @internal tidy() disposes tensors created in its scope unless kept or returned. */
  static disposeScope(created: Tensor[], survivors: Set<Tensor>): void {
    const parent = scopes.at(-1);
    for (const t of created) {
      if (survivors.has(t)) parent?.push(t);
      else if (!t.kept) t.dispose();
    }
  }
}

/** Runs fn and disposes every tensor it created, except those it returns (found in
 *  arrays and plain objects) and those marked keep(); gradients assigned by backward() are kept. */
export function tidy<T>(fn: () => T): T {
  const created: Tensor[] = [];
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    Tensor.disposeScope(created, new Set());
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) throw new TypeError('tidy(fn): fn must be synchronous; await outside the scope');
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  Tensor.disposeScope(created, survivors);
  return result;
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) value.forEach((v) => collectTensors(v, into));
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    Object.values(value).forEach((v) => collectTensors(v, into));
  }
}

/** Throws before any allocation if a tensor of `shape` cannot be bound by this adapter. */
function checkSize(rt: Runtime, shape: Shape): void {
  const bytes = numel(shape) * 4;
  const limit = rt.device.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    throw new TensorTooLargeError(
      `a tensor of shape ${fmtShape(shape)} needs ${mib(bytes)}, more than this adapter binds in one buffer (maxStorageBufferBindingSize ${mib(limit)}); use a smaller batch or input`,
    );
  }
}

/** Allocates an uninitialised tensor (for op outputs). */
export function empty(shape: Shape): Tensor {
  const rt = runtime();
  checkSize(rt, shape);
  return new Tensor(new Storage(rt, rt.pool.acquire(Math.max(4, numel(shape) * 4))), shape);
}

/** A tensor holding a copy of `data`. */
export function fromData(data: Float32Array, shape: Shape, requiresGrad = false): Tensor {
  const rt = runtime();
  checkSize(rt, shape);
  return new Tensor(new Storage(rt, rt.upload(data)), shape, requiresGrad);
}
