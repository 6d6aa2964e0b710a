// Module: parameters, buffers and submodules under PyTorch's dotted names, train/eval,
// stateDict and loadStateDict.
import { releaseIntermediates } from '../autograd.js';
import { ResnextError, fmtShape } from '../errors.js';
import { assign } from '../ops/fill.js';
import { Tensor } from '../tensor.js';

/** A host-side tensor, as read from a file: values already converted to float32. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** State values: tensors, and integer scalars (num_batches_tracked) as bigint. */
export type StateValue = Tensor | HostTensor | bigint;
export type StateDict = Record<string, StateValue>;

/** Shape and multiply-accumulate count of a module applied to an input shape (batch included). */
export interface ShapeAndMacs {
  shape: number[];
  macs: number;
}

/** Everything wrong with a state dict at once: missing, unexpected and mis-shaped keys. */
export class StateDictError extends ResnextError {
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: string[],
  ) {
    const parts = [
      missing.length ? `missing keys: ${missing.join(', ')}` : '',
      unexpected.length ? `unexpected keys: ${unexpected.join(', ')}` : '',
      mismatched.length ? `shape mismatches: ${mismatched.join('; ')}` : '',
    ].filter(Boolean);
    super(`loadStateDict: ${parts.join('. ')}`);
  }
}

const shapeOf = (v: StateValue): number[] => (typeof v === 'bigint' ? [] : [...v.shape]);

/** `steps` applied in order to `x`, each intermediate freed once the next step has read it
 *  where no graph needs it, else once backward() has passed it (releaseIntermediates);
 *  never `x`, which the caller owns. */
export function chain(x: Tensor, ...steps: ((h: Tensor) => Tensor)[]): Tensor {
  let h = x;
  for (const step of steps) {
    const next = step(h);
    if (h !== x) releaseIntermediates(next, h);
    h = next;
  }
  return h;
}

export abstract class Module {
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor | bigint>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Output shape and MACs for an input shape, without running anything. */
  abstract shapeAndMacs(input: number[]): ShapeAndMacs;

  protected registerParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.ownParameters.set(name, t.keep());
    return t;
  }

  protected registerBuffer(name: string, value: Tensor | bigint): void {
    this.ownBuffers.set(name, value instanceof Tensor ? value.keep() : value);
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  protected buffer(name: string): Tensor | bigint {
    return this.ownBuffers.get(name)!;
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    return [
      ...[...this.ownParameters].map(([n, t]): [string, Tensor] => [prefix + n, t]),
      ...[...this.children].flatMap(([n, m]) => m.namedParameters(`${prefix}${n}.`)),
    ];
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): [string, Tensor | bigint][] {
    return [
      ...[...this.ownBuffers].map(([n, t]): [string, Tensor | bigint] => [prefix + n, t]),
      ...[...this.children].flatMap(([n, m]) => m.namedBuffers(`${prefix}${n}.`)),
    ];
  }

  /** Returns the GPU memory of every parameter and buffer; the module can no longer run. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
    for (const [, b] of this.namedBuffers()) if (typeof b !== 'bigint') b.dispose();
  }

  train(mode = true): this {
    this.training = mode;
    this.children.forEach((m) => m.train(mode));
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers by torchvision's names, in registration order. */
  stateDict(): Record<string, Tensor | bigint> {
    return Object.fromEntries(this.stateEntries().map(([name, , get]) => [name, get()]));
  }

  /**
   * Copies values into this module's parameters and buffers. With strict (the default),
   * every key must match in name and shape; all problems are reported in one error and
   * nothing is written unless the whole dict fits.
   */
  loadStateDict(dict: StateDict, { strict = true }: { strict?: boolean } = {}): void {
    const entries = this.stateEntries();
    const known = new Set(entries.map(([name]) => name));
    const missing = entries.map(([name]) => name).filter((n) => !(n in dict));
    const unexpected = Object.keys(dict).filter((n) => !known.has(n));
    const mismatched = entries
      .filter(([name]) => name in dict)
      .filter(([name, shape]) => shapeOf(dict[name]).join() !== shape.join())
      .map(([name, shape]) => `${name}: checkpoint ${fmtShape(shapeOf(dict[name]))}, model ${fmtShape(shape)}`);
    if (mismatched.length || (strict && (missing.length || unexpected.length)))
      throw new StateDictError(missing, unexpected, mismatched);
    for (const [name, , , set] of entries) if (name in dict) set(dict[name]);
  }

  /** [name, shape, read, write] for every parameter and buffer. */
  private stateEntries(prefix = ''): [string, number[], () => Tensor | bigint, (v: StateValue) => void][] {
    const own: [string, number[], () => Tensor | bigint, (v: StateValue) => void][] = [];
    for (const [n, t] of this.ownParameters) own.push([prefix + n, [...t.shape], () => t, (v) => assignValue(t, v)]);
    for (const [n, b] of this.ownBuffers) {
      if (typeof b === 'bigint')
        own.push([prefix + n, [], () => this.ownBuffers.get(n)!, (v) => this.ownBuffers.set(n, toBigInt(v))]);
      else own.push([prefix + n, [...b.shape], () => b, (v) => assignValue(b, v)]);
    }
    return [...own, ...[...this.children].flatMap(([n, m]) => m.stateEntries(`${prefix}${n}.`))];
  }
}

function assignValue(target: Tensor, value: StateValue): void {
  if (typeof value === 'bigint') assign(target, Float32Array.of(Number(value)));
  else assign(target, value instanceof Tensor ? value : value.data);
}

function toBigInt(value: StateValue): bigint {
  if (typeof value === 'bigint') return value;
  if (value instanceof Tensor)
    throw new ResnextError('loadStateDict: an integer buffer needs a bigint or host value, got a GPU tensor');
  return BigInt(Math.round(value.data[0]));
}
