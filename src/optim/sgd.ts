// SGD with momentum, Nesterov and weight decay (torch.optim.SGD), one fused WGSL kernel
// per parameter tensor, updating parameters and momentum buffers in place.
import { ArgumentError } from '../errors.js';
import { zeros } from '../ops/fill.js';
import { linearGrid, Params, runtime } from '../runtime/index.js';
import type { Tensor } from '../tensor.js';

const WG = 256;

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
      runtime().dispatch({
        kernel: 'sgd',
        constants: { WG, NESTEROV: Number(this.nesterov), MOMENTUM: Number(this.momentum > 0) },
        buffers: [p.buffer('SGD', 'param'), p.grad.buffer('SGD', 'grad'), buf.buffer('SGD', 'momentum_buffer')],
        params: new Params().u32(p.size, Number(fresh)).f32(this.lr, this.momentum, this.weightDecay),
        workgroups: linearGrid(Math.ceil(p.size / 4 / WG)),
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
