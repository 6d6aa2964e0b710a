// SGD with momentum, Nesterov and weight decay (torch.optim.SGD), one fused WGSL kernel
// per parameter tensor, updating parameters and momentum buffers in place.
import { ArgumentError } from '../errors.js';
import { zeros } from '../ops/fill.js';
import { grid, kernelContract, runtime, uniformStruct } from '../runtime/index.js';
import type { Tensor } from '../tensor.js';

const WG = 256;
/** Elements per invocation: the kernel updates a vec4 at a time. */
const LANES = 4;

/** One step over n elements; first_step (0 or 1): the momentum buffer starts as the update. */
// prettier-ignore
const SGD_PARAMS = uniformStruct('SgdParams', {
  n: 'u32', first_step: 'u32',
  lr: 'f32', momentum: 'f32', weight_decay: 'f32',
});
kernelContract('sgd', { structs: [SGD_PARAMS] });

export interface SGDOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD {
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** Momentum buffers, one per parameter, created on its first step with a gradient. */
  readonly buffers: (Tensor | null)[];
  private steps = 0;
  /** Bound in place of a momentum buffer when there is no momentum (the kernel never reads it). */
  private unused: Tensor | null = null;

  constructor(
    readonly params: Tensor[],
    { lr, momentum = 0, nesterov = false, weightDecay = 0 }: SGDOptions,
  ) {
    const check = (name: string, v: number, ok: boolean) => {
      if (!Number.isFinite(v) || !ok)
        throw new ArgumentError(
          'SGD',
          name,
          `must be ${name === 'lr' ? 'a positive number' : 'a non-negative number'}, got ${v}`,
        );
    };
    check('lr', lr, lr > 0);
    check('momentum', momentum, momentum >= 0);
    check('weightDecay', weightDecay, weightDecay >= 0);
    if (nesterov && momentum === 0) throw new ArgumentError('SGD', 'nesterov', 'needs a momentum > 0');
    this.lr = lr;
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    this.buffers = params.map(() => null);
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const fresh = this.buffers[i] === null;
      const buf = this.momentum > 0 ? (this.buffers[i] ??= zeros(p.shape).keep()) : (this.unused ??= zeros([1]).keep());
      runtime().launch('SGD', {
        kernel: 'sgd',
        constants: { WG, NESTEROV: Number(this.nesterov), MOMENTUM: Number(this.momentum > 0) },
        bind: { param: p, grad: p.grad, momentum_buffer: buf },
        params: SGD_PARAMS.pack({
          n: p.size,
          first_step: Number(fresh),
          lr: this.lr,
          momentum: this.momentum,
          weight_decay: this.weightDecay,
        }),
        grid: grid.items(p.size, LANES * WG),
      });
    });
    this.steps++;
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Restores the step count and momentum buffers (from a checkpoint). */
  restore(steps: number, buffers: (Float32Array | null)[]): void {
    this.steps = steps;
    buffers.forEach((data, i) => {
      if (!data) return;
      const buf = (this.buffers[i] ??= zeros(this.params[i].shape).keep());
      runtime().write(buf.buffer('SGD', 'momentum_buffer'), data);
    });
  }
}
