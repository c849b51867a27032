/**
 * `.env` and `env_file` files, read as Compose reads them (compose-go's `dotenv` parser):
 *
 * - blank lines and lines starting with `#` are skipped; `export ` before a key is allowed;
 * - `KEY=value` or `KEY: value`; a key is letters, digits, `_`, `.`, `-`, `[`, `]` (no spaces inside);
 * - a line holding only `KEY` takes KEY from the lookup (the shell), and is left out when it is unset;
 * - unquoted values run to the end of the line, lose a ` #…` comment and trailing white space, and are
 *   interpolated;
 * - `'…'` is taken as written (only `\'` loses its backslash); `"…"` understands `\"`, `\\`, `\n`, `\t`,
 *   `\r`, `\a`, `\b`, `\f`, `\v`, `\$` and octal `\0NNN`, then is interpolated; both may span lines;
 * - interpolation looks a name up in the lookup first, then in the keys already read from this file.
 *
 * Pure: the caller reads the file and gives the text.
 */
import { substitute, TemplateError, type Lookup, type Reference } from './interpolate.js';

/** One problem in an env file, by 1-based line. */
export interface DotenvProblem {
  readonly line: number;
  readonly message: string;
}

/** The variables of a file in the order they were last set, with its problems and unset references. */
export interface Dotenv {
  readonly values: ReadonlyMap<string, string>;
  readonly problems: readonly DotenvProblem[];
  readonly unset: ReadonlyArray<{ readonly line: number; readonly ref: Reference }>;
}

const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u;
// compose-go's isSpace: white space that does not end a line.
const INLINE_SPACE = /[\t\v\f\r \u0085\u00a0]/;
const ESCAPE = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

/** Parses `text`; interpolation reads `lookup` first, then the keys set earlier in the file. */
export function parseDotenv(text: string, lookup: Lookup): Dotenv {
  const src = text.startsWith('\ufeff') ? text.slice(1) : text;
  const values = new Map<string, string>();
  const problems: DotenvProblem[] = [];
  const unset: Array<{ line: number; ref: Reference }> = [];
  let pos = 0;
  const lineAt = (at: number): number => {
    let n = 1;
    for (let i = src.indexOf('\n'); i >= 0 && i < at; i = src.indexOf('\n', i + 1)) n++;
    return n;
  };
  const expand = (value: string, at: number): string => {
    try {
      return substitute(value, (name) => lookup(name) ?? values.get(name), { unset: (ref) => void unset.push({ line: lineAt(at), ref }) });
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      problems.push({ line: lineAt(at), message: e.message });
      return value;
    }
  };
  while (pos < src.length) {
    // The start of the next statement: white space and comment lines skipped.
    while (pos < src.length && /\s/u.test(src[pos] ?? '')) pos++;
    if (pos >= src.length) break;
    if (src[pos] === '#') {
      const nl = src.indexOf('\n', pos);
      pos = nl < 0 ? src.length : nl;
      continue;
    }
    const start = pos;
    const exported = /^export[\t\v\f\r \u0085\u00a0]+/.exec(src.slice(pos, pos + 40));
    if (exported) pos += exported[0].length;
    // The key runs to `=`, `:` or the end of the line (a key alone: inherited).
    let end = pos;
    let bad: string | undefined;
    while (end < src.length && !'=:\n'.includes(src[end] ?? '')) {
      const c = src[end] ?? '';
      if (!INLINE_SPACE.test(c) && !KEY_CHAR.test(c)) {
        bad = c;
        break;
      }
      end++;
    }
    const lineEnd = src.indexOf('\n', pos) < 0 ? src.length : src.indexOf('\n', pos);
    const key = src.slice(pos, end).replace(/\s+$/u, '');
    if (bad !== undefined || key.includes(' ') || key === '') {
      const why = bad !== undefined ? `unexpected character ${JSON.stringify(bad)} in variable name` : key === '' ? 'a line needs a variable name before "="' : 'a variable name cannot contain a space';
      problems.push({ line: lineAt(start), message: `${why}: ${JSON.stringify(src.slice(start, lineEnd).slice(0, 60))}` });
      pos = lineEnd;
      continue;
    }
    if (end >= src.length || src[end] === '\n') {
      const inherited = lookup(key);
      if (inherited !== undefined) values.set(key, inherited);
      pos = end;
      continue;
    }
    pos = end + 1;
    while (pos < src.length && INLINE_SPACE.test(src[pos] ?? '')) pos++;
    const quote = src[pos];
    if (quote === '"' || quote === "'") {
      const read = quoted(src, pos, quote);
      if (read === undefined) {
        problems.push({ line: lineAt(start), message: `unterminated quoted value: ${JSON.stringify(src.slice(pos, lineEnd).slice(0, 60))}` });
        pos = lineEnd;
        continue;
      }
      values.set(key, quote === '"' ? expand(unescape(read.value), start) : read.value);
      pos = read.end;
    } else {
      const raw = src.slice(pos, lineEnd);
      const hash = raw.indexOf(' #');
      values.set(key, expand((hash < 0 ? raw : raw.slice(0, hash)).replace(/\s+$/u, ''), start));
      pos = lineEnd;
    }
  }
  return { values, problems, unset };
}

/** The body of a quoted value starting at `open`: an escaped quote loses its backslash, others keep it. */
function quoted(src: string, open: number, quote: string): { value: string; end: number } | undefined {
  let value = '';
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i];
    if (c === '\\' && i + 1 < src.length) {
      const n = src[++i] ?? '';
      value += n === quote ? n : `\\${n}`;
    } else if (c === quote) return { value, end: i + 1 };
    else value += c;
  }
  return undefined;
}

/** Double-quote escapes; `\$` becomes `$$` so that interpolation leaves one literal `$`. */
function unescape(s: string): string {
  return s.replace(ESCAPE, (m) => {
    const c = m[1] ?? '';
    if (c === '$') return '$$';
    if (c !== '0') return SIMPLE_ESCAPES[c] ?? m;
    // `\0NNN`: octal, three digits after the 0 (as Go's UnquoteChar reads `\NNN`); otherwise the 0 goes.
    const digits = m.slice(2);
    return /^[0-7]{3}$/.test(digits) && parseInt(digits, 8) <= 255 ? String.fromCharCode(parseInt(digits, 8)) : `\\${digits}`;
  });
}
