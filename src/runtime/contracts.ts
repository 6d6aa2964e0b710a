// One typed contract per kernel: the uniform structs and named constants (op codes, sizes)
// a kernel shares with its op, declared once in TypeScript next to the op and emitted into
// the kernel's WGSL before it compiles, in place of the kernel's marker line:
//
//   // @contract (FillParams: generated from src/ops/fill.ts)
//
// The declarations go on that one line, so compile errors keep the file's line numbers.
// A source swapped in by a test (Runtime.setKernelSource) is expanded the same way.
import type { UniformStruct } from './uniforms.js';

export const CONTRACT_MARKER = '// @contract';

/** A named WGSL constant: a u32 (the default for a number) or an f32. */
export type ConstValue = number | { f32: number };

export interface KernelContract {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any struct's field map
  structs?: readonly UniformStruct<any>[];
  /** Constants: NAME: value emits `const NAME = value;`; NAME: { key: value, ... } (an op-code
   *  table) emits `const NAME_KEY = value;` per key, keys in UPPER_SNAKE_CASE. */
  consts?: Readonly<Record<string, ConstValue | Readonly<Record<string, number>>>>;
}

const declarations = new Map<string, string>();

const upperSnake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function constText(name: string, value: ConstValue): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new Error(`contract constant ${name} = ${value} is not a u32`);
    return `const ${name} = ${value}u;`;
  }
  return `const ${name} = ${Number.isInteger(value.f32) ? value.f32.toFixed(1) : String(value.f32)};`;
}

/** The WGSL a contract emits: its structs, then its constants, on one line. */
export function contractWgsl(contract: KernelContract): string {
  const parts = (contract.structs ?? []).map((s) => s.wgsl);
  for (const [name, value] of Object.entries(contract.consts ?? {})) {
    if (typeof value === 'number' || 'f32' in value) parts.push(constText(name, value as ConstValue));
    else for (const [key, code] of Object.entries(value)) parts.push(constText(`${name}_${upperSnake(key)}`, code));
  }
  return parts.join(' ');
}

/** Registers what kernels/<kernel>.wgsl gets at its marker; returns the contract. Ops call it
 *  at module load, so it is in place before their first dispatch compiles the kernel. */
export function kernelContract<C extends KernelContract>(kernel: string, contract: C): C {
  const text = contractWgsl(contract);
  const known = declarations.get(kernel);
  if (known !== undefined && known !== text) throw new Error(`kernel '${kernel}' has two different contracts`);
  declarations.set(kernel, text);
  return contract;
}

/** The generated declarations for a kernel, or undefined if it has no contract. */
export function contractOf(kernel: string): string | undefined {
  return declarations.get(kernel);
}

/** `source` with its marker line replaced by the kernel's declarations (line numbers kept). */
export function expandContract(kernel: string, source: string): string {
  const text = declarations.get(kernel);
  const lines = source.split('\n');
  const at = lines.findIndex((line) => line.trimStart().startsWith(CONTRACT_MARKER));
  if (text === undefined) {
    if (at >= 0) throw new Error(`kernels/${kernel}.wgsl has a contract marker but no contract is registered`);
    return source;
  }
  // Without a marker (a test's stand-in source) they go in front of the first line.
  if (at < 0) lines[0] = `${text} ${lines[0]}`;
  else lines[at] = text;
  return lines.join('\n');
}
