// Kernels that share helpers include them (`// @include name`, kernels/include/): the
// fragment is appended after the kernel's own lines, compile errors in it name its file,
// and a change to it moves the digests (tuning keys) of every kernel that includes it.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ArgumentError, KernelCompileError } from '../src/errors.js';
import { init, runtime } from '../src/index.js';
import { expandIncludes, includesOf, INCLUDE_MARKER, origin } from '../src/runtime/includes.js';
import { KernelLibrary } from '../src/runtime/kernels.js';
import { whySubgroupsUnavailable } from '../src/ops/subgroup_plan.js';
import { FRAGMENTS, KERNELS } from '../src/runtime/kernels.generated.js';

const fragmentFile = (name: string) =>
  readFileSync(new URL(`../kernels/include/${name}.wgsl`, import.meta.url), 'utf8');

describe('included fragments', () => {
  const kernel = ['fn main() {}', `${INCLUDE_MARKER}helpers`, 'fn after() {}', `${INCLUDE_MARKER}helpers`, ''].join(
    '\n',
  );
  const fragments: Record<string, string> = { helpers: 'fn help() {}\nfn more() {}\n' };

  it("appends each fragment once, after the kernel's own lines, which keep their numbers", () => {
    expect(includesOf(kernel)).toEqual(['helpers']);
    const expanded = expandIncludes('k', kernel, (name) => fragments[name]);
    const lines = expanded.split('\n');
    expect(lines.slice(0, 4)).toEqual(kernel.split('\n').slice(0, 4));
    expect(expanded.match(/fn help\(\)/g)).toHaveLength(1);
    expect(origin('k', expanded, 3)).toBe('kernels/k.wgsl:3');
    expect(origin('k', expanded, lines.indexOf('fn more() {}') + 1)).toBe('kernels/include/helpers.wgsl:2');
  });

  it('refuses a missing fragment and fragments that include others, naming the files', () => {
    const library = new KernelLibrary();
    library.replace('fill', `${INCLUDE_MARKER}no_such_fragment\n`);
    expect(() => library.source('fill')).toThrow(/kernels\/fill\.wgsl includes 'no_such_fragment'/);
    const nested = () => expandIncludes('k', kernel, () => `${INCLUDE_MARKER}other\n`);
    expect(nested).toThrow(/kernels\/include\/helpers\.wgsl .*fragments do not nest/);
  });

  it('the embedded fragments are the files in kernels/include/, each included by some kernel', () => {
    const library = new KernelLibrary();
    expect(Object.keys(FRAGMENTS).length).toBeGreaterThan(0);
    for (const name of Object.keys(FRAGMENTS)) {
      expect(FRAGMENTS[name].source).toBe(fragmentFile(name));
      expect(name in KERNELS, `fragment ${name} shares a kernel's name`).toBe(false);
      expect(library.includers(name).length, `nothing includes ${name}`).toBeGreaterThan(0);
    }
    expect(library.includers('conv2d_window')).toEqual(['conv2d_subgroup']);
  });

  it("a fragment's edit moves the digest of the kernels that include it, and only theirs", () => {
    const library = new KernelLibrary();
    const [conv, fill] = [library.digest('conv2d_subgroup'), library.digest('fill')];
    library.replace('conv2d_window', `${fragmentFile('conv2d_window')}\n// edited\n`);
    expect(library.digest('conv2d_subgroup')).not.toBe(conv);
    expect(library.source('conv2d_subgroup')).toContain('// edited');
    expect(library.digest('fill')).toBe(fill);
    library.replace('conv2d_window', null);
    expect(library.digest('conv2d_subgroup')).toBe(conv);
  });
});

describe('a broken fragment', () => {
  afterEach(() => runtime().setKernelSource('conv2d_window', null));

  it('fails the kernels that include it, with the error placed in the fragment', async (context) => {
    await init();
    // The subgroup kernel runs only where the adapter's subgroups serve it.
    if (whySubgroupsUnavailable() !== null) return context.skip();
    const broken = fragmentFile('conv2d_window').replace(
      'fn set_pixels(first: u32) {',
      'fn set_pixels(first: u32) {\n  let oops: u32 = 1.5;',
    );
    const line = broken.split('\n').findIndex((l) => l.includes('let oops')) + 1;
    runtime().setKernelSource('conv2d_window', broken);
    const { convForward } = await import('../src/ops/conv2d/op.js');
    const { convGeometry } = await import('../src/ops/conv2d/geometry.js');
    const { randn } = await import('../src/index.js');
    const g = convGeometry([1, 4, 8, 8], [4, 4, 3, 3], { padding: 1 });
    const run = async () => {
      const y = convForward(randn([1, 4, 8, 8]), randn([4, 4, 3, 3]), null, g, 'conv2d', 'subgroup');
      await y.toArray();
    };
    const error = await run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KernelCompileError);
    expect(String(error)).toContain(`kernels/include/conv2d_window.wgsl:${line}:`);
    runtime().setKernelSource('conv2d_window', null);
    await run();
  });
});

describe('setKernelSource', () => {
  it('names an unknown kernel instead of swapping nothing', async () => {
    await init();
    expect(() => runtime().setKernelSource('conv2d_subgroups', 'fn main() {}')).toThrow(ArgumentError);
    expect(() => runtime().setKernelSource('conv2d_subgroups', null)).toThrow(
      "setKernelSource: argument 'name' 'conv2d_subgroups' is neither a kernel in kernels/ nor a fragment in kernels/include/",
    );
  });
});
