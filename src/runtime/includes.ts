// `// @include name` in a kernel brings in kernels/include/name.wgsl, a fragment of helpers
// that several kernels (or entry points split across files) share, so each has one copy.
// The line stays, and the fragment goes after the kernel's last line: WGSL declarations
// may come in any order, and the kernel's own lines keep their numbers, so a compile error
// in them names the right line; errors past its end are placed in the fragment (origin).

export const INCLUDE_MARKER = '// @include ';

/** The fragments `source` names in its include lines, each once, in order. */
export function includesOf(source: string): string[] {
  const names = source
    .split('\n')
    .map((line) => line.trimStart())
    .filter((line) => line.startsWith(INCLUDE_MARKER))
    .map((line) => line.slice(INCLUDE_MARKER.length).trim());
  return [...new Set(names)];
}

/** `source` with the fragments it includes appended; `fragment(name)` gives their text. */
export function expandIncludes(kernel: string, source: string, fragment: (name: string) => string): string {
  const names = includesOf(source);
  if (names.length === 0) return source;
  const parts = [source.replace(/\n$/, '')];
  for (const name of names) {
    const text = fragment(name);
    if (includesOf(text).length > 0)
      throw new Error(
        `kernels/include/${name}.wgsl (included by kernels/${kernel}.wgsl) includes a fragment itself: fragments do not nest`,
      );
    parts.push(fragmentBanner(name), text.replace(/\n$/, ''));
  }
  return `${parts.join('\n')}\n`;
}

const fragmentBanner = (name: string) => `// ---- kernels/include/${name}.wgsl ----`;

/** Where line `line` (1-based) of the expanded `source` comes from: `file:line`. */
export function origin(kernel: string, expanded: string, line: number): string {
  const lines = expanded.split('\n');
  let file = `kernels/${kernel}.wgsl`;
  let start = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) {
    const banner = /^\/\/ ---- (kernels\/include\/\w+\.wgsl) ----$/.exec(lines[i]);
    if (banner) [file, start] = [banner[1], i + 1];
  }
  return `${file}:${line - start}`;
}

/** A failed compile's messages, each at the file and line it comes from. */
export function compileErrorText(kernel: string, expanded: string, errors: readonly GPUCompilationMessage[]): string {
  const where = (m: GPUCompilationMessage) => `${origin(kernel, expanded, m.lineNum)}:${m.linePos}`;
  return ['WGSL kernel failed to compile:', ...errors.map((m) => `${where(m)}: ${m.message}`)].join('\n');
}
