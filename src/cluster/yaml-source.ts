/**
 * YAML text → plain data plus a source map (path → line:col), using the `yaml` package's document API so that
 * every later check can point at the exact node it is about. Syntax errors and duplicate keys come back as
 * problems with their own positions; the data is only returned when the YAML itself is sound.
 *
 * Both costly parts are skipped when they are not needed, which on a 1,000-service spec made loading several
 * times faster: plain YAML is read by `simple-yaml.ts` without building the document, and the source map is
 * built on first use only, since positions serve problem messages and a sound spec has none.
 */
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { SourcePosition, SpecProblem } from '../errors.js';
import { formatPath, type SourceMap, type SpecPath } from './problems.js';
import { parseSimpleYaml } from './simple-yaml.js';

/** The result of reading the YAML layer of a spec. */
export interface YamlSource {
  /** The document as plain data; undefined when `problems` is not empty. */
  readonly data: unknown;
  /** Built on first use (by re-reading `text`), so a spec without problems never pays for it. */
  readonly map: SourceMap;
  readonly problems: readonly SpecProblem[];
}

type MutableSourceMap = { value: Map<string, SourcePosition>; key: Map<string, SourcePosition> };

/** YAML 1.2, merge keys allowed, duplicate keys refused. */
const PARSE_OPTIONS = { prettyErrors: false, merge: true, uniqueKeys: true } as const;

/** Parses `text` and gives access to every node's position through a lazily built source map. */
export function parseYamlSource(text: string, file: string): YamlSource {
  // Most specs are plain YAML; the rest, and every YAML error, are the full parser's.
  const simple = parseSimpleYaml(text, PARSE_OPTIONS);
  if (simple !== undefined) return { data: simple, map: lazySourceMap(() => sourceMapOf(text)), problems: [] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter: lines });
  const pos = (offset: number): SourcePosition => lines.linePos(offset);
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
  if (problems.length > 0) return { data: undefined, map: { value: new Map(), key: new Map() }, problems };
  return { data: doc.toJS({ maxAliasCount: 100 }), map: lazySourceMap(() => sourceMapOf(text)), problems };
}

/**
 * A source map computed by `build` when first read. Parsing again on demand (rather than keeping the
 * document) lets the whole syntax tree go as soon as the data is out.
 */
function lazySourceMap(build: () => SourceMap): SourceMap {
  let built: SourceMap | undefined;
  return {
    get value() {
      return (built ??= build()).value;
    },
    get key() {
      return (built ??= build()).key;
    },
  };
}

/** Every node's position in `text` (known to parse without errors), by formatted path. */
function sourceMapOf(text: string): SourceMap {
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter: lines });
  const map: MutableSourceMap = { value: new Map(), key: new Map() };
  if (doc.contents) walk(doc.contents, [], map, (offset) => lines.linePos(offset));
  return map;
}

function walk(node: Node, path: SpecPath, map: MutableSourceMap, pos: (o: number) => SourcePosition): void {
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
