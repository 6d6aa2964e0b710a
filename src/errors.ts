// Typed errors: every message names what went wrong and, where it helps, what to do next.

export class ResnextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export type Shape = readonly number[];
export const fmtShape = (shape: Shape): string => `[${shape.join(', ')}]`;

/** A tensor's shape does not fit the op: names the op, the argument and the shapes. */
export class ShapeError extends ResnextError {
  constructor(
    readonly op: string,
    readonly argument: string,
    detail: string,
  ) {
    super(`${op}: argument '${argument}' ${detail}`);
  }
}

/** A non-tensor argument is out of range (a non-finite scalar, a bad axis, ...). */
export class ArgumentError extends ResnextError {
  constructor(
    readonly op: string,
    readonly argument: string,
    detail: string,
  ) {
    super(`${op}: argument '${argument}' ${detail}`);
  }
}

export class DisposedTensorError extends ResnextError {
  constructor(op: string, argument: string, evicted = false) {
    super(
      evicted
        ? `${op}: argument '${argument}' is an intermediate the autograd graph evicted until its backward recomputes it; keep() it (before the op that reads it last) to use it afterwards`
        : `${op}: argument '${argument}' was disposed (by dispose() or at the end of a tidy() scope) and can no longer be used`,
    );
  }
}

export class NoAdapterError extends ResnextError {
  /** `advice` says what to install or enable where the engine runs (the platform's). */
  constructor(detail: string, advice: string) {
    super(`No WebGPU adapter found (${detail}). ${advice}`);
  }
}

export class DeviceLostError extends ResnextError {
  constructor(reason: string) {
    super(`The WebGPU device is gone (${reason}); tensors created on it can no longer be used.`);
  }
}

/** A tensor larger than the adapter can bind: raised before anything is allocated. */
export class TensorTooLargeError extends ResnextError {}

/** A WGSL kernel failed to compile: the message carries file:line:column. */
export class KernelCompileError extends ResnextError {}

/** WebGPU reported a validation or out-of-memory error for work this engine submitted. */
export class GPUFailure extends ResnextError {}
