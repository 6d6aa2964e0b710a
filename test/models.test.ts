import { describe, expect, it } from 'vitest';
import { nn, models, randn, tensor, tidy, type Tensor } from '../src/index.js';
import { nd, resnetForward, type NDArray } from '../src/reference/index.js';
import { assertClose, randomData, rngFor } from './helpers.js';

const { skipInit, StateDictError } = nn;

/** Parameters and MACs of a model at an input size, built without initialising (fast, no upload). */
function counts(create: () => models.ResNet, input: number[]): { params: number; macs: number } {
  const model = skipInit(create);
  const rows = model.profile([1, ...input]);
  model.dispose();
  return { params: rows.reduce((n, r) => n + r.params, 0), macs: rows.reduce((n, r) => n + r.macs, 0) };
}

async function hostState(model: nn.Module): Promise<Record<string, NDArray>> {
  const out: Record<string, NDArray> = {};
  for (const [name, value] of Object.entries(model.stateDict())) {
    if (typeof value !== 'bigint') out[name] = nd(await value.toArray(), [...value.shape]);
  }
  return out;
}

/** A few training-mode forwards, so that the BN running statistics are not the defaults. */
function warmRunningStats(model: nn.Module, shape: number[], seed: number): void {
  const rng = rngFor(`warm ${seed}`);
  model.train();
  for (let i = 0; i < 3; i++) tidy(() => model.forward(randn(shape, { generator: rng })));
  model.eval();
}

describe('model counts reproduce torchvision and the paper', () => {
  it("ResNet-50 vs ResNeXt-50 (32x4d): the paper's Table 1", () => {
    expect(counts(models.resnet50, [3, 224, 224])).toEqual({ params: 25_557_032, macs: 4_089_184_256 });
    expect(counts(models.resnext50_32x4d, [3, 224, 224])).toEqual({ params: 25_028_904, macs: 4_230_479_872 });
  });

  it('ResNeXt-101 (32x8d) and the CIFAR ResNeXt-29s', () => {
    expect(counts(models.resnext101_32x8d, [3, 224, 224]).params).toBe(88_791_336);
    expect((counts(models.resnext29_8x64d, [3, 32, 32]).params / 1e6).toFixed(2)).toBe('34.43');
    expect((counts(models.resnext29_16x64d, [3, 32, 32]).params / 1e6).toFixed(2)).toBe('68.16');
  });

  it('the small ResNeXt and its ResNet twin are matched within 5% in parameters and MACs', () => {
    const x = counts(() => models.smallResnext(), [1, 28, 28]);
    const r = counts(() => models.smallResnet(), [1, 28, 28]);
    expect(x.params).toBe(249_322);
    expect(Math.abs(r.params / x.params - 1)).toBeLessThan(0.05);
    expect(Math.abs(r.macs / x.macs - 1)).toBeLessThan(0.05);
  });
});

describe('state dicts', () => {
  it('use torchvision key names', () => {
    const keys = Object.keys(skipInit(() => models.resnext50_32x4d()).stateDict());
    for (const k of [
      'conv1.weight',
      'bn1.running_mean',
      'bn1.num_batches_tracked',
      'layer1.0.conv2.weight',
      'layer1.0.downsample.0.weight',
      'layer1.0.downsample.1.running_var',
      'layer4.2.bn3.bias',
      'fc.weight',
      'fc.bias',
    ]) {
      expect(keys).toContain(k);
    }
    expect(keys.length).toBe(320);
  });

  it('strict loading lists every missing key, unexpected key and shape mismatch in one error, and loads nothing', async () => {
    const model = models.smallResnext({ blocksPerStage: [1, 1, 1] });
    const dict: Record<string, Tensor | bigint> = { ...model.stateDict() };
    const fcBefore = model.stateDict()['fc.weight'] as Tensor;
    const fcValues = await fcBefore.toArray();
    dict['fc.weight'] = tensor(new Float32Array(fcBefore.size).fill(7), [...fcBefore.shape]); // valid, but must not be applied
    delete dict['fc.bias'];
    dict['fc.extra'] = tensor([1]);
    dict['conv1.weight'] = tensor(new Float32Array(9), [1, 1, 3, 3]);
    let error: unknown;
    try {
      model.loadStateDict(dict);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    expect((error as Error).message).toMatch(
      /missing keys: fc\.bias\. unexpected keys: fc\.extra\. shape mismatches: conv1\.weight: checkpoint \[1, 1, 3, 3\], model \[32, 1, 3, 3\]/,
    );
    expect(await fcBefore.toArray(), 'a refused state dict left no partial state').toEqual(fcValues);
    delete dict['conv1.weight'];
    expect(() => model.loadStateDict(dict, { strict: false })).not.toThrow();
  });
});

describe('a small ResNeXt on the GPU', () => {
  it('matches the CPU reference end to end in eval mode', async () => {
    const model = models.smallResnext(
      { blocksPerStage: [1, 1, 1], channels: [16, 32, 64], stemChannels: 8, groupWidth: 2, cardinality: 4 },
      { generator: rngFor('model init') },
    );
    warmRunningStats(model, [4, 1, 12, 12], 1);
    const rng = rngFor('model input');
    const input = randomData(rng, 2 * 144);
    const logits = await model.forward(tensor(input, [2, 1, 12, 12])).toArray();
    const expected = resnetForward(
      {
        stem: 'cifar',
        stages: [
          { blocks: 1, stride: 1 },
          { blocks: 1, stride: 2 },
          { blocks: 1, stride: 2 },
        ],
        groups: 4,
      },
      await hostState(model),
      nd(input, [2, 1, 12, 12]),
    );
    assertClose(logits, expected.data, 'small ResNeXt logits', { rtol: 1e-4, atol: 1e-4 });
  });

  it("the paper's three block forms give the same logits from one state dict", async () => {
    const spec = { blocksPerStage: [1, 1], channels: [16, 32], stemChannels: 8, groupWidth: 2, cardinality: 4 };
    const grouped = models.smallResnext(spec, { generator: rngFor('forms init') });
    warmRunningStats(grouped, [4, 1, 10, 10], 2);
    const x = randn([2, 1, 10, 10], { generator: rngFor('forms input') });
    const reference = await grouped.forward(x).toArray();
    for (const form of ['a', 'b'] as const) {
      const other = models.smallResnext(spec, { form });
      other.loadStateDict(grouped.stateDict());
      other.eval();
      assertClose(await other.forward(x).toArray(), reference, `form (${form}) vs (c)`, { rtol: 1e-4, atol: 1e-5 });
    }
    expect(() => models.smallResnext(spec, { form: 'a' }).forward(x)).toThrow(/eval mode only/);
  });
});
