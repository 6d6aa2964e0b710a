// Mutants: a kernel's source (or an included fragment's) with one piece of text changed,
// swapped into the runtime, for the tests that prove the checks catch a wrong kernel.
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { runtime } from '../src/index.js';

/** A kernel's file, or an included fragment's (kernels/include/). */
export const kernelFile = (name: string) =>
  existsSync(new URL(`../kernels/include/${name}.wgsl`, import.meta.url))
    ? `kernels/include/${name}.wgsl`
    : `kernels/${name}.wgsl`;
export const sourceOf = (name: string) => readFileSync(new URL(`../${kernelFile(name)}`, import.meta.url), 'utf8');

export function mutate(kernel: string, from: string, to: string): void {
  const source = sourceOf(kernel);
  expect(source, `${kernelFile(kernel)} no longer contains the mutated text`).toContain(from);
  runtime().setKernelSource(kernel, source.replace(from, to));
}

/** Runs checks (until `check` returns null) with a mutated kernel; one must fail at `stage`. */
export async function expectCaught(
  kernel: string,
  from: string,
  to: string,
  stage: string,
  check: (i: number) => Promise<unknown> | null,
): Promise<void> {
  mutate(kernel, from, to);
  let caught: unknown = null;
  try {
    for (let i = 0, run = check(0); run && !caught; run = check(++i)) await run;
  } catch (error) {
    caught = error;
  } finally {
    runtime().setKernelSource(kernel, null);
  }
  expect(String(caught)).toContain(stage);
}
