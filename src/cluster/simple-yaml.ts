/**
 * A fast reader for the plain YAML that cluster.yaml files are written in: block mappings and sequences,
 * one-line flow collections (`[a, b]`, `{ K: v }`), one-line plain and quoted scalars, comments. The full
 * `yaml` parser builds a concrete syntax tree and a document model before any data comes out, which made it
 * most of `gen-units`' time on large specs; this reader goes from lines straight to data.
 *
 * It gives up (returns undefined) on anything outside that subset — anchors, aliases, tags, merge keys, block
 * scalars, multi-line scalars or flow collections, escapes in double quotes, tabs, CR, directives, several
 * documents, duplicate keys, odd indentation — and the caller then uses the full parser, which also reports
 * every YAML error. What it accepts, it reads exactly as `parseDocument(text, options).toJS()` would: plain
 * scalars are resolved with that library's own core-schema tags (test/cluster/simple-yaml.test.ts compares the
 * two on the examples, the test specs and generated documents).
 */
import { Document, isScalar, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';

/** Thrown inside the reader to give the text to the full parser. */
class NotSimple extends Error {}
const GIVE_UP = new NotSimple('not simple YAML');

function giveUp(): never {
  throw GIVE_UP;
}

// Characters the subset leaves to the full parser wherever they appear: tabs, CR, other C0/C1 controls, the
// byte-order mark, line and paragraph separators, non-characters and lone surrogates.
const UNUSUAL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// A plain key: what Compose and fleetkit keys look like (names, labels, directives, environment variables).
const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\/@-]*(?=:(?: |$))/;
// First characters a plain value may not start with (YAML indicators), or that the subset does not take; in a
// flow collection a `-` must not stand before a flow indicator either.
const NOT_PLAIN_START = /^(?:[,\[\]{}#&*!|>'"%@`?:]|-(?: |$))/;
const NOT_FLOW_PLAIN_START = /^(?:[,\[\]{}#&*!|>'"%@`?:]|-(?:[ ,\[\]{}]|$))/;
// Where a plain scalar ends in a flow collection: a flow indicator, `: ` / `:` before one, or ` #`.
const FLOW_PLAIN_END = /[,\[\]{}]|:(?=[ ,\[\]{}]|$)| #/g;

/** `parseDocument` options the reader must match: the schema and its scalar resolution come from them. */
export type SimpleYamlOptions = ParseOptions & DocumentOptions & SchemaOptions;

/**
 * The data of `text` when it is a block mapping in the simple subset; undefined when the full parser is
 * needed (which then also decides whether the text is valid YAML at all).
 */
export function parseSimpleYaml(text: string, options: SimpleYamlOptions): Record<string, unknown> | undefined {
  if (UNUSUAL.test(text)) return undefined;
  try {
    return new Reader(text, options).document();
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

interface Line {
  readonly indent: number;
  /** The line without its indentation (not empty, not a comment). */
  readonly text: string;
}

class Reader {
  private readonly lines: Line[] = [];
  private i = 0;
  private readonly doc: Document;
  private readonly keys = new Map<string, unknown>();
  private readonly values = new Map<string, unknown>();

  constructor(text: string, options: SimpleYamlOptions) {
    for (const raw of text.split('\n')) {
      const body = trimStartSpaces(raw);
      if (body === '' || body.startsWith('#')) continue;
      this.lines.push({ indent: raw.length - body.length, text: body });
    }
    // The same schema and options `parseDocument` composes with, so scalars resolve the same way.
    this.doc = new Document(undefined, options);
  }

  document(): Record<string, unknown> {
    const first = this.lines[0];
    if (!first || first.indent !== 0) giveUp();
    const data = this.mapping(0);
    if (this.i !== this.lines.length) giveUp();
    return data;
  }

  /** A block node whose first line is `this.lines[this.i]`, at `indent`. */
  private block(indent: number): unknown {
    return isItem(this.lines[this.i]?.text ?? '') ? this.sequence(indent) : this.mapping(indent);
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let line = this.lines[this.i]; line && line.indent === indent; line = this.lines[this.i]) {
      const [key, rest] = this.key(line.text);
      this.i++;
      let value: unknown;
      if (rest === '' || rest.startsWith('#')) {
        const next = this.lines[this.i];
        if (next && next.indent > indent) value = this.block(next.indent);
        // `key:` followed by `- item` lines at the key's own indentation is a sequence too.
        else if (next && next.indent === indent && isItem(next.text)) value = this.sequence(indent);
        else value = null;
      } else {
        value = this.inline(rest);
      }
      set(out, key, value);
    }
    // A deeper line here continues a plain scalar or is misplaced: the full parser decides.
    if ((this.lines[this.i]?.indent ?? -1) > indent) giveUp();
    return out;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.lines[this.i]; line && line.indent === indent && isItem(line.text); line = this.lines[this.i]) {
      const rest = trimStartSpaces(line.text.slice(1));
      // Nested blocks and compact mappings (`- key: value`) in a sequence are left to the full parser.
      if (rest === '' || rest.startsWith('#') || isItem(rest) || PLAIN_KEY.test(rest) || /^["'][^]*["']:(?: |$)/.test(rest)) giveUp();
      this.i++;
      out.push(this.inline(rest));
    }
    if ((this.lines[this.i]?.indent ?? -1) > indent) giveUp();
    return out;
  }

  /** `key:` at the start of `text` → the key and what follows the colon (trimmed at the start). */
  private key(text: string): [string, string] {
    let key: unknown;
    let end: number;
    const plain = PLAIN_KEY.exec(text);
    if (plain) {
      key = this.resolve(plain[0], true);
      end = plain[0].length;
    } else if (text.startsWith('"') || text.startsWith("'")) {
      [key, end] = quoted(text, 0);
    } else {
      giveUp();
    }
    // A long implicit key is a YAML error; the full parser reports it.
    if (end > 1000 || text[end] !== ':' || (text.length > end + 1 && text[end + 1] !== ' ')) giveUp();
    if (typeof key !== 'string') giveUp();
    return [key, trimStartSpaces(text.slice(end + 1))];
  }

  /** A value on the rest of a line: a quoted or plain scalar, or a one-line flow collection. */
  private inline(text: string): unknown {
    const first = text[0];
    if (first === '[' || first === '{' || first === '"' || first === "'") {
      const [value, end] = first === '[' || first === '{' ? this.flow(text, 0) : quoted(text, 0);
      // Only spaces and a comment may follow on the line.
      if (!/^(?: *| +#.*)$/.test(text.slice(end))) giveUp();
      return value;
    }
    if (NOT_PLAIN_START.test(text)) giveUp();
    const comment = text.indexOf(' #');
    const source = trimEndSpaces(comment === -1 ? text : text.slice(0, comment));
    // `a: b` or a trailing `:` inside a value would be a nested mapping.
    if (source.includes(': ') || source.endsWith(':')) giveUp();
    return this.resolve(source, false);
  }

  /** A flow collection starting at `text[at]` → its value and the index after it. */
  private flow(text: string, at: number): [unknown, number] {
    const close = text[at] === '[' ? ']' : '}';
    const seq: unknown[] = [];
    const map: Record<string, unknown> = {};
    let p = skipSpaces(text, at + 1);
    while (text[p] !== close) {
      if (close === '}') {
        const [key, afterKey] = this.flowScalar(text, p, true);
        if (typeof key !== 'string' || text[afterKey] !== ':' || text[afterKey + 1] !== ' ') giveUp();
        const [value, afterValue] = this.flowValue(text, skipSpaces(text, afterKey + 1));
        set(map, key, value);
        p = skipSpaces(text, afterValue);
      } else {
        const [value, afterValue] = this.flowValue(text, p);
        seq.push(value);
        p = skipSpaces(text, afterValue);
      }
      if (text[p] === ',') p = skipSpaces(text, p + 1);
      else if (text[p] !== close) giveUp();
    }
    return [close === ']' ? seq : map, p + 1];
  }

  private flowValue(text: string, at: number): [unknown, number] {
    return text[at] === '[' || text[at] === '{' ? this.flow(text, at) : this.flowScalar(text, at, false);
  }

  /** A quoted or plain scalar inside a flow collection → its value and the index after it. */
  private flowScalar(text: string, at: number, atKey: boolean): [unknown, number] {
    if (text[at] === '"' || text[at] === "'") return quoted(text, at);
    if (NOT_FLOW_PLAIN_START.test(text.slice(at, at + 2))) giveUp();
    FLOW_PLAIN_END.lastIndex = at;
    const m = FLOW_PLAIN_END.exec(text);
    const end = m ? m.index : text.length;
    const source = trimEndSpaces(text.slice(at, end));
    if (source === '' || (m && m[0] === ' #')) giveUp();
    return [this.resolve(source, atKey), end];
  }

  /** A plain scalar's value: the first core-schema tag whose test matches resolves it, else a string. */
  private resolve(source: string, atKey: boolean): unknown {
    // Keys and many values repeat from service to service; resolved scalars are immutable primitives.
    const cache = atKey ? this.keys : this.values;
    if (cache.has(source)) return cache.get(source);
    let value: unknown = source;
    const { schema, options } = this.doc;
    for (const tag of schema.tags) {
      if ((tag.default === true || (atKey && tag.default === 'key')) && 'test' in tag && tag.test?.test(source)) {
        const res = tag.resolve(source, giveUp, options);
        value = isScalar(res) ? res.value : res;
        break;
      }
    }
    cache.set(source, value);
    return value;
  }
}

/** True for a block sequence entry: `-` followed by a space or the end of the line. */
function isItem(text: string): boolean {
  return text[0] === '-' && (text.length === 1 || text[1] === ' ');
}

/** Adds a mapping entry as `toJS` does; keys it would treat specially, and duplicates, give up. */
function set(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__' || key === '<<' || Object.prototype.hasOwnProperty.call(map, key)) giveUp();
  map[key] = value;
}

/** A one-line quoted scalar at `text[at]` (no escapes in double quotes) → its value and the index after it. */
function quoted(text: string, at: number): [string, number] {
  const q = text[at];
  let value = '';
  let p = at + 1;
  for (;;) {
    const close = text.indexOf(q ?? '', p);
    if (close === -1) giveUp();
    const part = text.slice(p, close);
    if (q === '"' && part.includes('\\')) giveUp();
    value += part;
    // In single quotes, '' is one quote.
    if (q === "'" && text[close + 1] === "'") {
      value += "'";
      p = close + 2;
      continue;
    }
    return [value, close + 1];
  }
}

// YAML indents and separates with spaces only (tabs never reach the reader); trim() would take more.
function trimStartSpaces(s: string): string {
  let i = 0;
  while (s[i] === ' ') i++;
  return i === 0 ? s : s.slice(i);
}

function trimEndSpaces(s: string): string {
  let i = s.length;
  while (s[i - 1] === ' ') i--;
  return i === s.length ? s : s.slice(0, i);
}

function skipSpaces(text: string, at: number): number {
  while (text[at] === ' ') at++;
  return at;
}
