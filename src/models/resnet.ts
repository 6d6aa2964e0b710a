// The ResNet / ResNeXt family with torchvision's structure and state_dict names. A
// ResNeXt bottleneck (Xie et al. 2017) aggregates `groups` paths of `width / groups`
// channels; the paper shows three equivalent forms of it (its Figure 3):
//   (a) split-transform-merge: each path has its own 1x1, 3x3 and 1x1; the outputs are summed
//   (b) early concatenation: the paths' 1x1 and 3x3, concatenated, then one 1x1
//   (c) grouped convolution: one 1x1, one grouped 3x3, one 1x1 (the default; what trains)
// All three read the same parameters, so they share one state dict.
import { releaseIntermediates } from '../autograd.js';
import { ArgumentError } from '../errors.js';
import { batchNorm } from '../ops/batchnorm.js';
import { conv2d } from '../ops/conv2d/index.js';
import { add } from '../ops/elementwise.js';
import { flatten } from '../ops/shape.js';
import { cat, narrow } from '../ops/slice.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { constant, kaimingNormalFanOut } from '../nn/init.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { chain, Module, type ShapeAndMacs } from '../nn/module.js';

export type BlockForm = 'a' | 'b' | 'c';
const EXPANSION = 4;

export interface StageSpec {
  blocks: number;
  /** The block's output is planes * 4 channels. */
  planes: number;
  stride: number;
}

export interface ResNetSpec {
  inChannels: number;
  /** 'imagenet': 7x7/2 conv and 3x3/2 max pool; 'cifar': one 3x3/1 conv. */
  stem: 'imagenet' | 'cifar';
  stemChannels: number;
  stages: StageSpec[];
  /** Cardinality C. */
  groups: number;
  /** The bottleneck width d at planes = 64 (torchvision's width_per_group). */
  widthPerGroup: number;
  numClasses: number;
}

export interface ResNetOptions {
  numClasses?: number;
  /** Start each block's last BN at zero, so every block starts as the identity. */
  zeroInitResidual?: boolean;
  form?: BlockForm;
  generator?: Generator;
}

export class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(
    inplanes: number,
    planes: number,
    stride: number,
    readonly groups: number,
    widthPerGroup: number,
    readonly form: BlockForm,
    generator?: Generator,
  ) {
    super();
    const width = Math.floor(planes * (widthPerGroup / 64)) * groups;
    const out = planes * EXPANSION;
    const conv = (i: number, o: number, k: number, options = {}) =>
      new Conv2d(i, o, k, { bias: false, generator, ...options });
    this.conv1 = this.registerModule('conv1', conv(inplanes, width, 1));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width));
    this.conv2 = this.registerModule('conv2', conv(width, width, 3, { stride, padding: 1, groups }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(width));
    this.conv3 = this.registerModule('conv3', conv(width, out, 1));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(out));
    this.registerModule('relu', new ReLU());
    this.downsample =
      stride !== 1 || inplanes !== out
        ? this.registerModule('downsample', new Sequential(conv(inplanes, out, 1, { stride }), new BatchNorm2d(out)))
        : null;
  }

  forward(x: Tensor): Tensor {
    const merged = this.form === 'c' ? this.grouped(x) : this.paths(x);
    const identity = this.downsample ? this.downsample.forward(x) : x;
    const out = this.bn3.forward(merged, true, identity);
    releaseIntermediates(out, merged, identity === x ? null : identity);
    return out;
  }

  /** Form (c): the grouped convolution. */
  private grouped(x: Tensor): Tensor {
    return chain(
      x,
      (h) => this.conv1.forward(h),
      (h) => this.bn1.forward(h, true),
      (h) => this.conv2.forward(h),
      (h) => this.bn2.forward(h, true),
      (h) => this.conv3.forward(h),
    );
  }

  /** Forms (a) and (b), path by path, on slices of the same parameters. */
  private paths(x: Tensor): Tensor {
    if (this.training) {
      throw new ArgumentError(
        'Bottleneck',
        'form',
        `(${this.form}) runs in eval mode only: it shows the equivalence with form (c), which is the one to train`,
      );
    }
    const d = this.conv2.weight.shape[1];
    const heads = Array.from({ length: this.groups }, (_, i) => {
      const h = sliceBatchNorm(this.bn1, conv2d(x, narrow(this.conv1.weight, 0, i * d, d)), i * d, d);
      return sliceBatchNorm(
        this.bn2,
        conv2d(h, narrow(this.conv2.weight, 0, i * d, d), null, { stride: this.conv2.options.stride, padding: 1 }),
        i * d,
        d,
      );
    });
    if (this.form === 'b') return conv2d(cat(heads, 1), this.conv3.weight);
    return heads.map((h, i) => conv2d(h, narrow(this.conv3.weight, 1, i * d, d))).reduce((a, b) => add(a, b));
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    const main = new Sequential(this.conv1, this.bn1, this.conv2, this.bn2, this.conv3, this.bn3).shapeAndMacs(input);
    return { shape: main.shape, macs: main.macs + (this.downsample?.shapeAndMacs(input).macs ?? 0) };
  }
}

/** Eval-mode BN + ReLU over one path's channels [first, first + count) of a BatchNorm2d. */
function sliceBatchNorm(bn: BatchNorm2d, x: Tensor, first: number, count: number): Tensor {
  const [mean, variance] = bn
    .namedBuffers()
    .filter(([n]) => n.startsWith('running'))
    .map(([, t]) => narrow(t as Tensor, 0, first, count));
  return batchNorm(x, mean, variance, narrow(bn.weight, 0, first, count), narrow(bn.bias, 0, first, count), {
    training: false,
    relu: true,
  });
}

export class ResNet extends Module {
  readonly stages: Sequential[];
  private readonly stem: Module[];
  private readonly head: { avgpool: AdaptiveAvgPool2d; fc: Linear };

  constructor(
    readonly spec: ResNetSpec,
    { zeroInitResidual = false, form = 'c', generator }: ResNetOptions = {},
  ) {
    super();
    if (form !== 'c' && spec.groups === 1) throw new ArgumentError('ResNet', 'form', `(${form}) needs cardinality > 1`);
    const imagenet = spec.stem === 'imagenet';
    const conv1 = this.registerModule(
      'conv1',
      new Conv2d(spec.inChannels, spec.stemChannels, imagenet ? 7 : 3, {
        stride: imagenet ? 2 : 1,
        padding: imagenet ? 3 : 1,
        bias: false,
        generator,
      }),
    );
    const bn1 = this.registerModule('bn1', new BatchNorm2d(spec.stemChannels));
    this.registerModule('relu', new ReLU());
    this.stem = [conv1, bn1];
    if (imagenet) this.stem.push(this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 })));
    let inplanes = spec.stemChannels;
    this.stages = spec.stages.map((stage, s) => {
      const blocks = Array.from({ length: stage.blocks }, (_, b) => {
        const block = new Bottleneck(
          inplanes,
          stage.planes,
          b === 0 ? stage.stride : 1,
          spec.groups,
          spec.widthPerGroup,
          form,
          generator,
        );
        inplanes = stage.planes * EXPANSION;
        return block;
      });
      return this.registerModule(`layer${s + 1}`, new Sequential(...blocks));
    });
    this.head = {
      avgpool: this.registerModule('avgpool', new AdaptiveAvgPool2d(1)),
      fc: this.registerModule('fc', new Linear(inplanes, spec.numClasses, { generator })),
    };
    // torchvision's initialisation.
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('weight') && p.rank === 4) kaimingNormalFanOut(p, generator);
    }
    if (zeroInitResidual)
      for (const stage of this.stages) for (const block of stage.layers as Bottleneck[]) constant(block.bn3.weight, 0);
  }

  forward(x: Tensor): Tensor {
    const [conv1, bn1, maxpool] = this.stem as [Conv2d, BatchNorm2d, MaxPool2d?];
    const steps = [(h: Tensor) => conv1.forward(h), (h: Tensor) => bn1.forward(h, true)];
    if (maxpool) steps.push((h) => maxpool.forward(h));
    for (const stage of this.stages) steps.push((h) => stage.forward(h));
    const { avgpool, fc } = this.head;
    return chain(
      x,
      ...steps,
      (h) => avgpool.forward(h),
      (h) => flatten(h, 1),
      (h) => fc.forward(h),
    );
  }

  /** Per-stage output shape, parameters and MACs for an input shape [N, C, H, W]. */
  profile(input: number[]): { name: string; shape: number[]; params: number; macs: number }[] {
    const count = (modules: Module[]) => modules.flatMap((m) => m.parameters()).reduce((n, p) => n + p.size, 0);
    const rows: { name: string; shape: number[]; params: number; macs: number }[] = [];
    const step = (name: string, modules: Module[], shape: number[]) => {
      const r = new Sequential(...modules).shapeAndMacs(shape);
      rows.push({ name, shape: r.shape, params: count(modules), macs: r.macs });
      return r.shape;
    };
    let shape = step('stem', this.stem, input);
    this.stages.forEach((stage, i) => (shape = step(`layer${i + 1}`, [stage], shape)));
    const pooled = this.head.avgpool.shapeAndMacs(shape).shape;
    const fc = this.head.fc.shapeAndMacs([pooled[0], pooled[1]]);
    rows.push({ name: 'avgpool+fc', shape: fc.shape, params: count([this.head.fc]), macs: fc.macs });
    return rows;
  }

  shapeAndMacs(input: number[]): ShapeAndMacs {
    const rows = this.profile(input);
    return { shape: rows.at(-1)!.shape, macs: rows.reduce((n, r) => n + r.macs, 0) };
  }
}
