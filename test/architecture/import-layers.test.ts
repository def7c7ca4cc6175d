/**
 * The one-way architecture, checked: every relative import in src/ goes to the same layer or a lower one, and no
 * module reaches itself through its imports. Type-only imports count too (a type cycle is still a cycle to read).
 * The order is the data flow's, top to bottom; a new top-level folder must be placed here before it can be used.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Allowed layer order: a module may import from its own layer and any layer after it, never one before it. */
export const LAYERS = ['cli', 'serve', 'report', 'runner', 'model', 'datasets', 'metrics', 'common'] as const;

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|mjs|js)$/.test(e.name) ? [p] : [];
  });
}

/** Relative specifiers of static imports, `export … from` and dynamic `import('…')` (comments stripped first). */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs: string[] = [];
  const patterns = [
    /(?:^|[;\s])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[;\s])import\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1]);
  return specs.filter((s) => s.startsWith('.'));
}

function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0];
}

interface ImportGraph {
  edges: Map<string, string[]>;
}

function buildGraph(): ImportGraph {
  const edges = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const targets = importSpecifiers(readFileSync(file, 'utf8')).map((s) =>
      path.resolve(path.dirname(file), s),
    );
    edges.set(
      file,
      targets.filter((t) => t.startsWith(SRC + path.sep)),
    );
  }
  return { edges };
}

/** Strongly connected components with more than one module (or a self-import): Tarjan's algorithm. */
export function cycles(edges: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('import layers of src/', () => {
  const { edges } = buildGraph();
  const rel = (f: string) => path.relative(SRC, f);

  it('finds the source files and their imports', () => {
    expect(edges.size).toBeGreaterThan(100);
    expect([...edges.values()].flat().length).toBeGreaterThan(300);
  });

  it('every top-level folder has a place in the layer order', () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.filter((f) => !(LAYERS as readonly string[]).includes(f))).toEqual([]);
    expect(
      sourceFiles(SRC)
        .filter((f) => path.dirname(f) === SRC)
        .map(rel),
    ).toEqual([]);
  });

  it('no module imports from a layer above its own', () => {
    const upward: string[] = [];
    for (const [file, targets] of edges) {
      const from = LAYERS.indexOf(layerOf(file) as (typeof LAYERS)[number]);
      for (const t of targets) {
        const to = LAYERS.indexOf(layerOf(t) as (typeof LAYERS)[number]);
        if (to < from) upward.push(`${rel(file)} -> ${rel(t)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles(edges).map((c) => c.map(rel).join(' <-> '))).toEqual([]);
  });
});

describe('the checker itself', () => {
  it('reads static, re-export, side-effect and dynamic imports, and skips comments and packages', () => {
    const src = [
      "import a from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "import './d.ts';",
      "const e = await import('./e.ts');",
      "// import x from './commented.ts';",
      "/* import y from './block.ts'; */",
      "import fs from 'node:fs';",
    ].join('\n');
    expect(importSpecifiers(src)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts']);
  });

  it('finds a cycle and a self-import, and not a chain', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['d']],
      ['e', ['f']],
      ['f', []],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c'], ['d']]);
  });
});
