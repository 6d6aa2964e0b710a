// The code's shape, checked: no import cycles among src/ modules (static imports, types
// included: a cycle of types is still two modules that cannot be read apart), the core
// free of Node and Dawn, and the library free of bench/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Each module's static imports: relative ones as resolved .ts paths, the rest as package names. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(STATIC_IMPORT)].map((m) => m[1] ?? m[2]);
    graph.set(
      file,
      specifiers.map((s) => (s.startsWith('.') ? resolve(dirname(file), s).replace(/\.js$/, '.ts') : s)),
    );
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the list of modules around it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles.map((c) => c.map((f) => relative(SRC, f)));
}

/** Modules reachable from `entry` by static imports. */
function reachable(graph: Map<string, string[]>, entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (node: string) => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const next of graph.get(node) ?? []) walk(next);
  };
  walk(entry);
  return seen;
}

describe('the structure of src/', () => {
  const graph = importGraph();

  it('has no import cycles', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const a = join(SRC, 'a.ts');
    const b = join(SRC, 'b.ts');
    expect(
      findCycles(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });

  it('keeps the browser entry free of Node built-ins, Dawn and the file system', () => {
    const modules = reachable(graph, join(SRC, 'browser.ts'));
    const nodeOnly = [...modules].filter((m) => /^(node:|webgpu$|fs$|path$)/.test(m) || m.includes(`${SRC}node/`));
    expect(nodeOnly).toEqual([]);
  });

  it('does not import bench/ from the library or the CLI', () => {
    const intoBench = [...graph].flatMap(([file, deps]) =>
      deps.filter((d) => d.includes('/bench/') && !d.startsWith(SRC)).map((d) => `${relative(SRC, file)} -> ${d}`),
    );
    expect(intoBench).toEqual([]);
  });
});
