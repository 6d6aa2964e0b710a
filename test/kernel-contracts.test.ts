// Every converted kernel compiles with the structs and constants its op declares in
// TypeScript (src/runtime/contracts.ts), and the packers check the fields they are given.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '../src/index.js'; // the ops register their kernels' contracts on load
import { contractOf, expandContract, CONTRACT_MARKER } from '../src/runtime/contracts.js';
import { KernelLibrary } from '../src/runtime/kernels.js';
import { u32x4Array, UniformArena, uniformStruct } from '../src/runtime/uniforms.js';

const CONVERTED = [
  'elementwise',
  'fill',
  'reduce',
  'batchnorm',
  'pool',
  'cross_entropy',
  'sgd',
  'matmul',
  'matmul_subgroup',
  'matmul_tiled',
  'conv2d',
  'conv2d_subgroup',
  'conv2d_naive',
  'conv2d_tiled',
] as const;

const file = (kernel: string) => readFileSync(new URL(`../kernels/${kernel}.wgsl`, import.meta.url), 'utf8');

describe('kernel contracts', () => {
  it.each(CONVERTED)('%s compiles with the declarations its op generates, at its marker', (kernel) => {
    const declarations = contractOf(kernel);
    expect(declarations, `no contract registered for kernels/${kernel}.wgsl`).toBeDefined();
    const raw = file(kernel);
    expect(raw).toContain(CONTRACT_MARKER);
    expect(raw, 'the struct is written by hand in the kernel').not.toMatch(/^\s*struct \w*Params\b/m);
    const compiled = new KernelLibrary().source(kernel);
    expect(compiled).toContain(declarations);
    expect(compiled).not.toContain(CONTRACT_MARKER);
    // The kernel's own lines keep their numbers: only the marker line changes, and any
    // included fragments come after the last one (src/runtime/includes.ts).
    const [own, ours] = [compiled.split('\n'), raw.replace(/\n$/, '').split('\n')];
    const changed = ours.filter((line, i) => own[i] !== line);
    expect(changed, 'line numbers move').toEqual([ours.find((line) => line.trimStart().startsWith(CONTRACT_MARKER))]);
    // Every uniform the kernel binds has its type among the generated structs.
    for (const [, type] of compiled.matchAll(/var<uniform> \w+: (\w+);/g))
      expect(declarations).toContain(`struct ${type} {`);
  });

  it('emits op-code tables as WGSL constants the kernel switches on', () => {
    const elementwise = contractOf('elementwise')!;
    expect(elementwise).toContain('const BINARY_SUB = 1u;');
    expect(elementwise).toContain('const BINARY_RELU_BACKWARD = 4u;');
    expect(elementwise).toContain('const UNARY_RELU = 1u;');
    expect(file('elementwise')).toContain('case BINARY_SUB:');
    expect(file('elementwise')).not.toMatch(/case \d+u:/);
  });

  it('expands a source swapped in by a test, marker or not', () => {
    const kernels = new KernelLibrary();
    const digest = kernels.digest('fill');
    kernels.replace('fill', file('fill').replace('k < copying.n', 'k <= copying.n'));
    expect(kernels.source('fill')).toContain(contractOf('fill'));
    expect(kernels.digest('fill')).not.toBe(digest);
    kernels.replace('fill', '// no marker\nfn f() {}\n');
    expect(kernels.source('fill').split('\n')[0]).toBe(`${contractOf('fill')} // no marker`);
    expect(() => expandContract('no_such_kernel', `${CONTRACT_MARKER}\n`)).toThrow(/no contract is registered/);
  });
});

describe('uniformStruct', () => {
  const S = uniformStruct('TestParams', { n: 'u32', value: 'f32', offset: 'i32', shape: u32x4Array(2) });

  it('gives the WGSL struct text and the std140-like layout', () => {
    expect(S.wgsl).toBe('struct TestParams { n: u32, value: f32, offset: i32, shape: array<vec4<u32>, 2> }');
    expect(S.byteLength).toBe(48);
    const arena = new UniformArena(new ArrayBuffer(64));
    arena.u32.fill(0xdead);
    S.pack({ n: 7, value: 0.5, offset: -3, shape: [2, 3, 4] }).writeTo(arena, 0);
    expect(arena.u32[0]).toBe(7);
    expect(arena.f32[1]).toBe(0.5);
    expect(arena.i32[2]).toBe(-3);
    expect(arena.u32[3]).toBe(0); // padding before the array, zeroed
    expect(Array.from(arena.u32.slice(4, 12))).toEqual([2, 3, 4, 0, 0, 0, 0, 0]);
    expect(arena.u32[12]).toBe(0xdead); // nothing past the struct
  });

  it('rejects a missing field, naming it', () => {
    // @ts-expect-error -- the type checker catches it too
    expect(() => S.pack({ n: 1, value: 0, offset: 0 })).toThrow("TestParams.pack: missing field 'shape'");
  });

  it('rejects an unknown field, naming it', () => {
    // @ts-expect-error -- the type checker catches it too
    expect(() => S.pack({ n: 1, value: 0, offset: 0, shape: [], rows: 2 })).toThrow(
      "TestParams.pack: unknown field 'rows'",
    );
  });

  it('rejects an unsupported field type', () => {
    // @ts-expect-error -- not a FieldType
    expect(() => uniformStruct('Bad', { v: 'vec3<f32>' })).toThrow(/field 'v' has unsupported type 'vec3<f32>'/);
  });
});
