/**
 * YAML text → plain data plus a source map (path → line:col), using the `yaml` package's document API so that
 * every later check can point at the exact node it is about. Syntax errors and duplicate keys come back as
 * problems with their own positions; the data is only returned when the YAML itself is sound.
 */
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { SourcePosition, SpecProblem } from '../errors.js';
import { formatPath, type SourceMap, type SpecPath } from './problems.js';

/** The result of reading the YAML layer of a spec. */
export interface YamlSource {
  /** The document as plain data; undefined when `problems` is not empty. */
  readonly data: unknown;
  readonly map: SourceMap;
  readonly problems: readonly SpecProblem[];
}

/** Parses `text` (YAML 1.2, merge keys allowed, duplicate keys refused) and maps every node to its position. */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const pos = (offset: number): SourcePosition => lines.linePos(offset);
  const map = { value: new Map<string, SourcePosition>(), key: new Map<string, SourcePosition>() };
  const problems: SpecProblem[] = doc.errors.map((e) => {
    const at = pos(e.pos[0]);
    if (e.code === 'DUPLICATE_KEY') {
      const key = keyTextAt(text, e.pos[0]);
      return {
        file,
        pos: at,
        path: '',
        message: `duplicate key ${JSON.stringify(key)}: YAML allows each key once in a mapping`,
        hint: 'remove one of the two entries, or merge them into one',
      };
    }
    return { file, pos: at, path: '', message: `YAML syntax error: ${e.message}`, hint: yamlHint(e.code) };
  });
  if (problems.length > 0) return { data: undefined, map, problems };
  if (doc.contents) walk(doc.contents, [], map, pos);
  return { data: doc.toJS({ maxAliasCount: 100 }), map, problems };
}

function walk(node: Node, path: SpecPath, map: { value: Map<string, SourcePosition>; key: Map<string, SourcePosition> }, pos: (o: number) => SourcePosition): void {
  const key = formatPath(path);
  if (node.range) map.value.set(key, pos(node.range[0]));
  if (isMap(node)) {
    for (const pair of node.items) {
      // Merge keys (`<<: *base`) have no path of their own; problems inside land on the alias via fallback.
      if (!isScalar(pair.key)) continue;
      const k = String(pair.key.value);
      const child = [...path, k];
      if (pair.key.range) map.key.set(formatPath(child), pos(pair.key.range[0]));
      if (pair.value && typeof pair.value === 'object' && 'range' in pair.value) walk(pair.value as Node, child, map, pos);
      else if (pair.key.range) map.value.set(formatPath(child), pos(pair.key.range[0]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      if (item && typeof item === 'object' && 'range' in item) walk(item as Node, [...path, i], map, pos);
    });
  }
}

/** The key text at a duplicate-key error: up to the `:` that ends it (quotes kept off). */
function keyTextAt(text: string, offset: number): string {
  const m = /^\s*(?:"([^"]*)"|'([^']*)'|([^:\n]*?))\s*:/.exec(text.slice(offset, offset + 300));
  return (m?.[1] ?? m?.[2] ?? m?.[3] ?? '').trim();
}

function yamlHint(code: string): string {
  if (code === 'TAB_AS_INDENT') return 'indent with spaces; YAML does not allow tabs for indentation';
  if (code.includes('INDENT')) return 'check the indentation of this line against the lines above it';
  if (code.includes('QUOTE')) return 'close the quote, or quote the whole value';
  return 'quote values that contain ": ", "#", "[", "{" or start with "*", "&", "!", "%" or "@"';
}
