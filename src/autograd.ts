// The tape: ops record a GradFn on their output; backward() walks the graph once in
// reverse topological order, accumulating gradients, and frees the graph afterwards.
import { ArgumentError, fmtShape, ShapeError } from './errors.js';
import { ScopedFlag } from './scoped-flag.js';
import { Tensor, type GradFn } from './tensor.js';

const gradEnabled = new ScopedFlag(true);

export function isGradEnabled(): boolean {
  return gradEnabled.value;
}

/** Runs fn without recording operations for autograd (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  return gradEnabled.during(false, fn);
}

export interface RecordOptions {
  /** Intermediate tensors the backward reads (cross-entropy's log-sum-exp, max pooling's
   *  argmax, batch norm's statistics). The graph owns them: they are disposed when the
   *  graph is freed (after a backward() without retainGraph), or at once when no graph is
   *  recorded (under noGrad, or when no input requires grad). */
  saved?: readonly Tensor[];
  /** The inputs, and the output, that the backward reads (its closure's captures); all of
   *  them when not given. An intermediate that no recorded backward reads is freed by
   *  releaseIntermediates as soon as its last consumer is recorded, training or not (the
   *  identity branch of a downsampling block, what max pooling reads). */
  reads?: readonly Tensor[];
}

/** Called by every differentiable op after its forward dispatch. The options, when given,
 *  come before the backward function so that it stays the last argument. */
export function record(output: Tensor, name: string, inputs: readonly Tensor[], backward: GradFn['backward']): Tensor;
export function record(
  output: Tensor,
  name: string,
  inputs: readonly Tensor[],
  options: RecordOptions,
  backward: GradFn['backward'],
): Tensor;
export function record(
  output: Tensor,
  name: string,
  inputs: readonly Tensor[],
  ...rest: [GradFn['backward']] | [RecordOptions, GradFn['backward']]
): Tensor {
  const [{ saved = [], reads = [...inputs, output] }, backward] = rest.length === 1 ? [{}, rest[0]] : rest;
  if (gradEnabled.value && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.gradFn = { name, inputs, backward, saved, reads };
    for (const t of reads) t.readByBackward = true;
  } else {
    for (const t of saved) t.dispose();
  }
  return output;
}

/** Frees the intermediates a composite op or a module's forward made, once `consumer` (the
 *  op that read them last) is recorded. Where no graph holds them (under noGrad, or with no
 *  input that needs a gradient) that is at once: nothing reads them again. This is how an
 *  eval forward holds only the activations still to be read, with or without an enclosing
 *  tidy() (docs/memory.md). Where a graph was recorded, one that no recorded backward reads
 *  (record()'s `reads`) goes at once too; the others are handed to the node that made them
 *  and freed once backward() has walked that node: every node that reads one (its
 *  consumers, and its maker, whose backward may read its own output) comes before it in the
 *  walk. So a training step's backward lets the activations go as it passes them, as
 *  PyTorch's autograd frees saved tensors. */
export function releaseIntermediates(consumer: Tensor, ...intermediates: (Tensor | null)[]): void {
  for (const t of intermediates) {
    // A step may hand on what it does not own: a parameter (a leaf that wants a gradient)
    // or a tensor kept out of tidy(). Those stay.
    if (!t || t === consumer || t.isKept || (t.requiresGrad && t.isLeaf)) continue;
    if (!consumer.requiresGrad || !t.readByBackward) t.dispose();
    else if (t.gradFn) {
      t.gradFn.saved = [...t.gradFn.saved, t];
      t.evict(); // where its maker can recompute it (Tensor.recompute)
    }
  }
}

const freed: GradFn['backward'] = () => {
  throw new ArgumentError(
    'backward',
    'this',
    'walks a graph that was already freed by an earlier backward(); pass { retainGraph: true } to the first call to walk it twice',
  );
};

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top[0].gradFn?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  retainGraph?: boolean;
}

/** The kernels backward needs from the ops layer, which this module must not import. */
export interface GradientKernels {
  clone: (t: Tensor) => Tensor;
  onesLike: (t: Tensor) => Tensor;
  /** target += source, in place (shapes equal). */
  accumulate: (target: Tensor, source: Tensor) => void;
}

/**
 * Accumulates d(root)/d(leaf), weighted by `gradient` (ones by default), into leaf.grad
 * for every leaf that requires grad. Every gradient held here owns its storage alone (a
 * gradient passed to two inputs is cloned for one of them), which is what makes in-place
 * accumulation safe.
 */
export function runBackward(
  root: Tensor,
  gradient: Tensor | undefined,
  kernels: GradientKernels,
  { retainGraph = false }: BackwardOptions = {},
): void {
  checkRoot(root, gradient);
  noGrad(() => {
    const seed = gradient ? kernels.clone(gradient) : kernels.onesLike(root);
    const grads = new Map<Tensor, Tensor>([[root, seed]]);
    for (const t of topologicalOrder(root)) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.gradFn) {
        if (t.grad) {
          kernels.accumulate(t.grad, g);
          g.dispose();
        } else t.grad = g.keep();
        continue;
      }
      const consumed = passToInputs(t.gradFn, backwardOf(t.gradFn, g), grads, kernels);
      if (!retainGraph) freeNode(t.gradFn);
      if (!consumed.has(g)) g.dispose();
    }
  });
}

function checkRoot(root: Tensor, gradient: Tensor | undefined): void {
  if (!root.requiresGrad) {
    throw new ArgumentError(
      'backward',
      'this',
      `is ${root.toString()} and does not require grad: no input of the ops that made it had requiresGrad`,
    );
  }
  if (gradient === undefined && root.size !== 1) {
    throw new ShapeError(
      'backward',
      'gradient',
      `must be given for a non-scalar tensor of shape ${fmtShape(root.shape)} (as in PyTorch)`,
    );
  }
  if (gradient && gradient.shape.join() !== root.shape.join()) {
    throw new ShapeError(
      'backward',
      'gradient',
      `has shape ${fmtShape(gradient.shape)} but the tensor has shape ${fmtShape(root.shape)}`,
    );
  }
}

/** Adds a node's input gradients into `grads`; returns the gradients now owned there. */
function passToInputs(
  fn: GradFn,
  inputGrads: (Tensor | null)[],
  grads: Map<Tensor, Tensor>,
  kernels: GradientKernels,
): Set<Tensor> {
  const inputs = fn.inputs;
  const consumed = new Set<Tensor>();
  inputs.forEach((input, i) => {
    const gi = inputGrads[i];
    if (!gi || !input.requiresGrad) return;
    // A gradient used again later, or one that is already owned, is cloned; the
    // upstream gradient itself is handed over once instead of being disposed.
    const usedAgain = inputGrads.some((other, j) => j > i && other === gi && inputs[j].requiresGrad);
    const own = usedAgain || consumed.has(gi) ? kernels.clone(gi) : gi;
    consumed.add(own);
    const existing = grads.get(input);
    if (!existing) return grads.set(input, own);
    kernels.accumulate(existing, own);
    own.dispose();
  });
  for (const gi of inputGrads) if (gi && !consumed.has(gi)) gi.dispose();
  return consumed;
}

/** The node's input gradients; an evicted tensor it reads is recomputed for it alone. */
function backwardOf(fn: GradFn, g: Tensor): (Tensor | null)[] {
  const restored = fn.reads.filter((t) => t.isEvicted);
  for (const t of restored) t.restore();
  const inputGrads = fn.backward(g);
  for (const t of restored) t.evict();
  return inputGrads;
}

/** A walked node without retainGraph: its backward can no longer run, and the tensors
 *  it saved for it are returned now. */
function freeNode(fn: GradFn): void {
  fn.backward = freed;
  for (const t of fn.saved) t.dispose();
  fn.saved = [];
}
