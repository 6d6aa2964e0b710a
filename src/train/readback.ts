// The read-back pipeline: a step's loss and logits are read from the GPU while the next
// step runs. Each step's numbers are handed on (in step order) once the step after it has
// been submitted, or when the pipeline is settled (at a stop, at the end of an epoch).
import type { Tensor } from '../tensor.js';

/** What the loop knows of a step when it submits it. */
export interface StepInfo {
  labels: Uint8Array;
  size: number;
  step: number;
  lr: number;
}

/** A step's numbers, read back. */
export interface StepNumbers extends StepInfo {
  loss: number;
  logits: Float32Array;
}

export class ReadBack {
  private pending: { read: Promise<[Float32Array, Float32Array]>; info: StepInfo } | null = null;

  /** `settled` gets each step's numbers; what it throws (a NaN loss) is thrown by
   *  push() or settle(). */
  constructor(private readonly settled: (numbers: StepNumbers) => void) {}

  /** Hands on the previous step's numbers, then starts reading this one's; the tensors are
   *  disposed once read. Call it after the step's work has been submitted (flushed). */
  async push(outputs: { loss: Tensor; logits: Tensor }, info: StepInfo): Promise<void> {
    const { loss, logits } = outputs;
    try {
      await this.settle();
    } catch (error) {
      // The run ends here (a NaN loss, a lost device): this step's outputs are never read.
      loss.dispose();
      logits.dispose();
      throw error;
    }
    const read = Promise.all([loss.toArray(), logits.toArray()]).finally(() =>
      [loss, logits].forEach((t) => t.dispose()),
    );
    // A read left behind by an error elsewhere (the device lost mid-step) is not an
    // unhandled rejection; settle() still sees it fail.
    read.catch(() => undefined);
    this.pending = { read, info };
  }

  /** Waits for the step in flight, if any, and hands on its numbers. */
  async settle(): Promise<void> {
    if (!this.pending) return;
    const { read, info } = this.pending;
    const [loss, logits] = await read;
    this.pending = null;
    this.settled({ ...info, loss: loss[0], logits });
  }

  get inFlight(): boolean {
    return this.pending !== null;
  }
}
