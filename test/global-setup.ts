// Before any test file loads: embed the current kernels/*.wgsl, so a kernel edited since
// the last build is the one the tests run.
// @ts-expect-error: a plain ESM script without type declarations
import { embedKernels } from '../scripts/embed-kernels.mjs';

export default function setup(): void {
  (embedKernels as () => boolean)();
}
