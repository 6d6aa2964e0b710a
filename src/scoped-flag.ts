// A module's on/off switch that a callback sets for as long as it runs, as torch.no_grad and
// skip_init do: restored afterwards even when the callback throws, so that calls nest.
export class ScopedFlag {
  private current: boolean;

  constructor(initial: boolean) {
    this.current = initial;
  }

  get value(): boolean {
    return this.current;
  }

  /** Runs fn with the flag set to `value`, then restores the value it had before. */
  during<T>(value: boolean, fn: () => T): T {
    const previous = this.current;
    this.current = value;
    try {
      return fn();
    } finally {
      this.current = previous;
    }
  }
}
