// Device errors found asynchronously (compile info, error scopes, uncaptured errors): kept
// until the runtime's next sync point, which throws the first of them as a typed error.
import { GPUFailure, KernelCompileError } from '../errors.js';

export class ErrorChecks {
  /** Checks still running; what they find is thrown at the next sync point. */
  private readonly running = new Set<Promise<void>>();
  private readonly found: Error[] = [];

  constructor(private readonly device: GPUDevice) {}

  /** Records an error found outside any check (an uncaptured device error). */
  report(error: Error): void {
    this.found.push(error);
  }

  /** Awaits the checks still running, then throws the first error found (compile errors first). */
  async throwPending(): Promise<void> {
    await Promise.all(this.running);
    const found = this.found.splice(0);
    const first = found.find((e) => e instanceof KernelCompileError) ?? found[0];
    if (first) throw first;
  }

  check(finding: Promise<Error | null>): void {
    const running: Promise<void> = finding.then((error) => {
      this.running.delete(running);
      if (error) this.found.push(error);
    });
    this.running.add(running);
  }

  /** Runs device calls inside validation and out-of-memory error scopes, checked at the next sync. */
  watch(calls: () => void, what: string): void {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    calls();
    const validation = this.device.popErrorScope();
    const memory = this.device.popErrorScope();
    this.check(
      Promise.all([validation, memory]).then(([v, m]) => {
        const e = v ?? m;
        return e
          ? new GPUFailure(`WebGPU ${m && !v ? 'out-of-memory' : 'validation'} error while ${what}: ${e.message}`)
          : null;
      }),
    );
  }
}
