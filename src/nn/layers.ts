// The layers a ResNet needs, named and initialised like torch.nn's.
import { ArgumentError } from '../errors.js';
import { batchNorm } from '../ops/batchnorm.js';
import { conv2d } from '../ops/conv2d/index.js';
import { convGeometry, pair, type Conv2dOptions, type Pair } from '../ops/conv2d/geometry.js';
import { relu } from '../ops/elementwise.js';
import { empty } from '../tensor.js';
import { linear } from '../ops/matmul.js';
import { adaptiveAvgPool2d1, maxPool2d, type MaxPoolOptions } from '../ops/pool.js';
import { flatten } from '../ops/shape.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { constant, defaultUniform, fans } from './init.js';
import { chain, Module, type ShapeAndMacs } from './module.js';

const positive = (layer: string, name: string, v: number) => {
  if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentError(layer, name, `must be a positive integer, got ${v}`);
  return v;
};

export interface Conv2dModuleOptions extends Conv2dOptions {
  bias?: boolean;
  generator?: Generator;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: Conv2dOptions;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    { bias = true, generator, ...options }: Conv2dModuleOptions = {},
  ) {
    super();
    const [kH, kW] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const groups = options.groups ?? 1;
    positive('Conv2d', 'inChannels', inChannels);
    positive('Conv2d', 'outChannels', outChannels);
    if (inChannels % groups || outChannels % groups) {
      throw new ArgumentError(
        'Conv2d',
        'groups',
        `${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`,
      );
    }
    this.options = options;
    this.weight = this.registerParameter(
      'weight',
      empty([
        outChannels,
        inChannels / groups,
        positive('Conv2d', 'kernelSize', kH),
        positive('Conv2d', 'kernelSize', kW),
      ]),
    );
    defaultUniform(this.weight, fans(this.weight.shape).fanIn, generator);
    this.bias = bias ? this.registerParameter('bias', empty([outChannels])) : null;
    if (this.bias) defaultUniform(this.bias, fans(this.weight.shape).fanIn, generator);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    const g = convGeometry(input, this.weight.shape, this.options, 'Conv2d');
    return {
      shape: [g.N, g.C_out, g.H_out, g.W_out],
      macs: g.N * g.C_out * g.H_out * g.W_out * (g.C_in / g.groups) * g.kH * g.kW,
    };
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly numFeatures: number,
    readonly options: { eps?: number; momentum?: number } = {},
  ) {
    super();
    positive('BatchNorm2d', 'numFeatures', numFeatures);
    this.weight = this.registerParameter('weight', empty([numFeatures]));
    this.bias = this.registerParameter('bias', empty([numFeatures]));
    constant(this.weight, 1);
    constant(this.bias, 0);
    const runningMean = empty([numFeatures]);
    const runningVar = empty([numFeatures]);
    constant(runningMean, 0);
    constant(runningVar, 1);
    this.registerBuffer('running_mean', runningMean);
    this.registerBuffer('running_var', runningVar);
    this.registerBuffer('num_batches_tracked', 0n);
  }

  /** With relu, applies ReLU in the same pass (BN + ReLU fused), after adding `residual`
   *  if one is given (a ResNet block's end, fused too). */
  forward(x: Tensor, relu = false, residual: Tensor | null = null): Tensor {
    if (this.training) this.registerBuffer('num_batches_tracked', (this.buffer('num_batches_tracked') as bigint) + 1n);
    return batchNorm(
      x,
      this.buffer('running_mean') as Tensor,
      this.buffer('running_var') as Tensor,
      this.weight,
      this.bias,
      { training: this.training, relu, residual, ...this.options },
    );
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    return { shape: input, macs: 0 };
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    inFeatures: number,
    outFeatures: number,
    { bias = true, generator }: { bias?: boolean; generator?: Generator } = {},
  ) {
    super();
    this.weight = this.registerParameter(
      'weight',
      empty([positive('Linear', 'outFeatures', outFeatures), positive('Linear', 'inFeatures', inFeatures)]),
    );
    defaultUniform(this.weight, inFeatures, generator);
    this.bias = bias ? this.registerParameter('bias', empty([outFeatures])) : null;
    if (this.bias) defaultUniform(this.bias, inFeatures, generator);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    const [outF, inF] = this.weight.shape;
    return { shape: [...input.slice(0, -1), outF], macs: (input.reduce((a, b) => a * b, 1) / inF) * inF * outF };
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    return { shape: input, macs: 0 };
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: MaxPoolOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }

  shapeAndMacs([N, C, H, W]: number[]): ShapeAndMacs {
    const k = pair('MaxPool2d', 'kernelSize', this.kernelSize, 1, 1);
    const s = pair('MaxPool2d', 'stride', this.options.stride, k, 1);
    const p = pair('MaxPool2d', 'padding', this.options.padding, 0, 0);
    return {
      shape: [N, C, Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1, Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1],
      macs: 0,
    };
  }
}

/** AdaptiveAvgPool2d(1): global average pooling. */
export class AdaptiveAvgPool2d extends Module {
  constructor(outputSize: 1) {
    super();
    if (outputSize !== 1)
      throw new ArgumentError('AdaptiveAvgPool2d', 'outputSize', `only 1 is supported, got ${String(outputSize)}`);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d1(x);
  }

  shapeAndMacs([N, C]: number[]): ShapeAndMacs {
    return { shape: [N, C, 1, 1], macs: 0 };
  }
}

export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return flatten(x, 1);
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    return { shape: [input[0], input.slice(1).reduce((a, b) => a * b, 1)], macs: 0 };
  }
}

/** Children named '0', '1', ... as torch.nn.Sequential names them. */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    return chain(x, ...this.layers.map((m) => (h: Tensor) => m.forward(h)));
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    return this.layers.reduce(
      (acc, m) => {
        const next = m.shapeAndMacs(acc.shape);
        return { shape: next.shape, macs: acc.macs + next.macs };
      },
      { shape: input, macs: 0 },
    );
  }
}
