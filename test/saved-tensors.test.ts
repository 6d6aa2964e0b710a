// The memory rule for tensors an op saves for its backward (record(..., { saved }) in
// src/autograd.ts): the graph owns them, frees them with itself after a backward()
// without retainGraph, and they never outlive a forward that records no graph.
import { describe, expect, it } from 'vitest';
import {
  batchNorm,
  crossEntropy,
  maxPool2d,
  mul,
  Generator,
  models,
  noGrad,
  ones,
  runtime,
  sum,
  tensor,
  zeros,
  type Tensor,
} from '../src/index.js';
import { Bottleneck, type ResNet } from '../src/models/resnet.js';
import { bucketSize } from '../src/runtime/index.js';
import { randomData, rngFor, settledInUseBytes } from './helpers.js';

interface Case {
  name: string;
  /** The op on fresh inputs; returns its output and every input (to dispose). */
  run: (requiresGrad: boolean) => { y: Tensor; inputs: Tensor[] };
  /** How many tensors the op saves for its backward. */
  saved: number;
}

const input = (name: string, shape: number[], requiresGrad: boolean) =>
  tensor(
    randomData(
      rngFor(name),
      shape.reduce((a, b) => a * b, 1),
    ),
    shape,
    { requiresGrad },
  );

const cases: Case[] = [
  {
    name: 'maxPool2d',
    saved: 1,
    run: (rg) => {
      const x = input('pool', [2, 3, 6, 6], rg);
      return { y: maxPool2d(x, 2), inputs: [x] };
    },
  },
  {
    name: 'crossEntropy',
    saved: 2,
    run: (rg) => {
      const x = input('ce', [4, 5], rg);
      return { y: crossEntropy(x, [0, 4, 2, 1]), inputs: [x] };
    },
  },
  {
    name: 'batchNorm (training)',
    saved: 1,
    run: (rg) => {
      const x = input('bn', [2, 3, 4, 4], rg);
      const [w, b, m, v] = [ones([3], { requiresGrad: rg }), zeros([3], { requiresGrad: rg }), zeros([3]), ones([3])];
      return { y: batchNorm(x, m, v, w, b, { training: true, relu: true }), inputs: [x, w, b, m, v] };
    },
  },
  {
    name: 'batchNorm (eval)',
    saved: 1,
    run: (rg) => {
      const x = input('bn-eval', [2, 3, 4, 4], rg);
      const [w, b, m, v] = [ones([3], { requiresGrad: rg }), zeros([3], { requiresGrad: rg }), zeros([3]), ones([3])];
      return { y: batchNorm(x, m, v, w, b, { training: false }), inputs: [x, w, b, m, v] };
    },
  },
];

/** The op on inputs that require grad, and a scalar to call backward() on. */
function forward(c: Case) {
  const { y, inputs } = c.run(true);
  return { y, inputs, out: y.size === 1 ? y : sum(y), node: y.gradFn! };
}

const disposeAll = (ts: (Tensor | null)[]) => ts.forEach((t) => t?.dispose());

describe('saved tensors', () => {
  for (const c of cases) {
    it(`${c.name}: what it saves is disposed by backward()`, async () => {
      const before = await settledInUseBytes();
      const { y, inputs, out, node } = forward(c);
      const saved = [...node.saved];
      expect(saved).toHaveLength(c.saved);
      expect(saved.some((t) => t.isDisposed)).toBe(false);
      out.backward();
      expect(saved.every((t) => t.isDisposed)).toBe(true);
      expect(node.saved).toHaveLength(0);
      disposeAll([out, y, ...inputs, ...inputs.map((t) => t.grad)]);
      // Synchronously, before garbage collection could return anything.
      expect(runtime().stats().inUseBytes).toBe(before);
    });

    it(`${c.name}: under noGrad, or with no input requiring grad, nothing it saves outlives the forward`, async () => {
      for (const run of [() => noGrad(() => c.run(true)), () => c.run(false)]) {
        const before = await settledInUseBytes();
        const { y, inputs } = run();
        expect(y.gradFn).toBeNull();
        disposeAll([y, ...inputs]);
        expect(runtime().stats().inUseBytes).toBe(before);
      }
    });

    it(`${c.name}: with retainGraph a second backward() works, and frees the graph`, async () => {
      const { y, inputs, out, node } = forward(c);
      const saved = [...node.saved];
      out.backward(undefined, { retainGraph: true });
      expect(saved.some((t) => t.isDisposed)).toBe(false);
      const first = await inputs[0].grad!.toArray();
      out.backward();
      expect(saved.every((t) => t.isDisposed)).toBe(true);
      const second = await inputs[0].grad!.toArray();
      second.forEach((g, i) => expect(g).toBeCloseTo(2 * first[i], 5));
      expect(() => out.backward()).toThrow(/already freed/);
      disposeAll([out, y, ...inputs, ...inputs.map((t) => t.grad)]);
    });
  }
});

// The rule for a forward's intermediates (releaseIntermediates in src/autograd.ts): where no
// graph needs them, each is freed once its last consumer is recorded, so an eval forward
// holds only what is still to be read, with no tidy() around it.
describe('an eval forward that records no graph', () => {
  const shape = [8, 1, 28, 28];
  const largestActivation = (model: ResNet) =>
    Math.max(...model.profile(shape).map((r) => 4 * r.shape.reduce((a, b) => a * b, 1)));

  it('leaves only its output in use, and peaks at a few activations, not all of them', async () => {
    const model = models.smallResnext({ numClasses: 10 }).eval();
    const x = tensor(randomData(rngFor('eval forward'), 784 * 8), shape);
    noGrad(() => model.forward(x)).dispose(); // pipelines, and the convolution workspaces' first use
    const frozen = () => {
      // With grad enabled but no parameter that needs a gradient, no graph is recorded either.
      for (const p of model.parameters()) p.requiresGrad = false;
      return model.forward(x);
    };
    for (const run of [() => noGrad(() => model.forward(x)), frozen]) {
      const before = await settledInUseBytes();
      runtime().pool.resetPeak();
      const y = run();
      // Synchronously, before garbage collection could return anything.
      const { inUseBytes, peakInUseBytes } = runtime().stats();
      expect(inUseBytes - before).toBeLessThanOrEqual(512); // the [8, 10] output's buffer
      // Measured 4.1x the largest activation (a block's input, its two branches and its
      // output); keeping every intermediate peaks at 26x.
      expect(peakInUseBytes - before).toBeLessThan(5 * largestActivation(model));
      y.dispose();
    }
    model.dispose();
    x.dispose();
  });

  it('frees nothing a backward still needs: fine-tuning the classifier alone gives its full-model gradient', async () => {
    const x = tensor(randomData(rngFor('fine-tune'), 784 * 4), [4, 1, 28, 28]);
    const gradients: Float32Array[] = [];
    for (const frozen of [false, true]) {
      const model = models.smallResnext({ numClasses: 10 }, { generator: new Generator(1) }).eval();
      if (frozen) for (const [name, p] of model.namedParameters()) p.requiresGrad = name.startsWith('fc.');
      const loss = crossEntropy(model.forward(x), [0, 1, 2, 3]);
      loss.backward();
      const fc = model.namedParameters().find(([name]) => name === 'fc.weight')![1];
      gradients.push(await fc.grad!.toArray());
      for (const t of [loss, ...model.parameters().map((p) => p.grad)]) t?.dispose();
      model.dispose();
    }
    expect(Array.from(gradients[1])).toEqual(Array.from(gradients[0]));
    x.dispose();
  });
});

// The same rule where a graph was recorded: each intermediate is handed to the node that
// made it and freed once backward() has walked that node, so a training step's activations
// go as the backward passes them (as PyTorch frees saved tensors), not at the end of tidy().
describe('a training step', () => {
  it('holds after its forward only what the backward reads and cannot recompute: a downsampling block keeps neither its identity branch, its strided 1x1 slice nor its BN-ReLU outputs', async () => {
    // 16 -> 32 channels at stride 2, width 8 in 4 groups: [2, 16, 8, 8] -> [2, 32, 4, 4].
    const block = new Bottleneck(16, 8, 2, 4, 16, 'c', new Generator(3)).train();
    const x = tensor(randomData(rngFor('downsampling block'), 2 * 16 * 64), [2, 16, 8, 8]);
    const bytes = (...shape: number[]) => bucketSize(4 * shape.reduce((a, b) => a * b, 1));
    // bn1's and bn2's outputs (conv2's and conv3's inputs) are evicted: the graph holds
    // their BNs' inputs and statistics, which give them again in one pass.
    const read = [
      bytes(2, 8, 8, 8), // conv1's output: bn1's input
      bytes(2, 8, 4, 4), // conv2's output
      bytes(2, 32, 4, 4), // conv3's output
      bytes(2, 32, 4, 4), // the downsampling conv's output: its BN's input
      bytes(2 * 8) * 3 + bytes(2 * 32), // the BNs' batch statistics, 2C each
    ];
    const output = bytes(2, 32, 4, 4);
    for (let run = 0; run < 2; run++) {
      const before = await settledInUseBytes();
      const y = block.forward(x);
      // Synchronously. The identity branch (the downsampling BN's output, which only an add
      // reads) would add 4 KiB, the strided copy of x 2 KiB, the BN-ReLU outputs 3 KiB.
      expect(runtime().stats().inUseBytes - before).toBe(read.reduce((a, b) => a + b) + output);
      const loss = sum(y);
      loss.backward();
      disposeAll([loss, y, ...block.parameters().map((p) => p.grad)]);
      for (const p of block.parameters()) p.grad = null;
    }
    block.dispose();
    x.dispose();
  });

  it('recomputes what it evicted for the backward that reads it: the gradients of a block that holds every activation', async () => {
    const x = tensor(randomData(rngFor('evicting block'), 2 * 16 * 64), [2, 16, 8, 8], { requiresGrad: true });
    // The block's steps one by one: no releaseIntermediates, so nothing is evicted.
    const holdingAll = (b: Bottleneck) => {
      const r1 = b.bn1.forward(b.conv1.forward(x), true);
      const r2 = b.bn2.forward(b.conv2.forward(r1), true);
      expect([r1, r2].some((t) => t.isEvicted)).toBe(false);
      return b.bn3.forward(b.conv3.forward(r2), true, b.downsample!.forward(x));
    };
    const gradients: Float32Array[][] = [];
    for (const evicting of [true, false]) {
      const block = new Bottleneck(16, 8, 2, 4, 16, 'c', new Generator(4)).train();
      const out = evicting ? block.forward(x) : holdingAll(block);
      const loss = sum(mul(out, out));
      loss.backward();
      const grads = [x, ...block.parameters()].map((p) => p.grad!);
      gradients.push(await Promise.all(grads.map((g) => g.toArray())));
      disposeAll([loss, out, ...grads]);
      x.grad = null;
      block.dispose();
    }
    gradients[0].forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(gradients[1][i])));
    x.dispose();
  });

  it("frees the model's activations as backward() passes them, and its gradients are those of a backward that frees nothing", async () => {
    const x = tensor(randomData(rngFor('training step'), 784 * 4), [4, 1, 28, 28]);
    const held: number[] = [];
    const gradients: Float32Array[][] = [];
    for (const retainGraph of [true, false]) {
      const model = models.smallResnext({ numClasses: 10 }, { generator: new Generator(2) }).train();
      const before = await settledInUseBytes();
      const logits = model.forward(x);
      const loss = crossEntropy(logits, [0, 1, 2, 3]);
      loss.backward(undefined, { retainGraph });
      const grads = model.parameters().map((p) => p.grad!);
      const gradBytes = grads.reduce((n, g) => n + bucketSize(4 * g.size), 0);
      // Synchronously, before garbage collection could return anything.
      held.push(runtime().stats().inUseBytes - before - gradBytes);
      gradients.push(await Promise.all(grads.map((g) => g.toArray())));
      for (const t of [loss, logits, ...grads]) t.dispose();
      model.dispose();
    }
    const [retained, freed] = held;
    const firstActivation = 4 * 4 * 16 * 28 * 28; // the stem's output: 4 images, 16 channels, 28x28
    // What stays is the logits and the loss: well under one activation.
    expect(freed).toBeLessThan(firstActivation / 8);
    expect(retained).toBeGreaterThan(10 * firstActivation);
    gradients[1].forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(gradients[0][i])));
    x.dispose();
  });
});
