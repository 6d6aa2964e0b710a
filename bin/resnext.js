#!/usr/bin/env node
// The `resnext` command. An installed package runs its built CLI (dist/, plain JavaScript);
// a clone of the repository runs the TypeScript source through tsx, with the kernels
// embedded afresh, so an edit is live without a build step.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
// A clone without its dev dependencies (no tsx) runs the build, if there is one.
const inClone = existsSync(source);
const hasTsx =
  inClone &&
  (await import('tsx/esm/api').then(
    () => true,
    () => false,
  ));
if (inClone && (hasTsx || !existsSync(new URL('../dist/cli/main.js', import.meta.url)))) {
  const { embedKernels } = await import('../scripts/embed-kernels.mjs');
  embedKernels();
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
