/**
 * The import graph of src/ has no cycles (static imports, `import type` and dynamic `import()` alike):
 * features call shared homes, never each other in a circle.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative module specifiers of a file: `from '…'`, `import '…'`, `import('…')`, `export … from '…'`. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Every cycle's members (Tarjan's strongly connected components with more than one file, or a self-import). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

t.test('the finder finds a cycle, a self-import, and none in a tree', async (t) => {
  t.same(importsOf(`import a from './a.js';\nimport type { B } from "../b.js";\nconst c = await import('./c.js');\nexport { d } from './d.js';\nimport 'node:fs';`), ['./a.js', '../b.js', './c.js', './d.js']);
  t.same(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c']]);
  t.same(cycles(new Map([['a', ['a']]])), [['a']]);
  t.same(cycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
});

t.test('src/ has no import cycles', async (t) => {
  const graph = new Map<string, string[]>();
  for (const f of files(SRC)) {
    const from = relative(SRC, f);
    const deps = importsOf(readFileSync(f, 'utf8')).map((s) => relative(SRC, resolve(dirname(f), s.replace(/\.js$/, '.ts'))));
    graph.set(from, deps);
  }
  t.ok(graph.size > 100, `read ${graph.size} files`);
  t.same(cycles(graph), [], 'cycles (each a list of the files in it)');
});
