/**
 * systemd's reading of a command-line setting (`ExecStart=` …) back into words, written from
 * systemd.syntax(7), systemd.service(5) and systemd.exec(5) — independently of the quoting code, so tests can
 * use it as the referee for {@link quoteArgv}. Works on UTF-8 bytes as systemd does.
 *
 * Order of systemd's steps: continuation lines are joined, specifiers (`%x`) are resolved on the raw text,
 * the text is split into words (quotes, C escapes), the executable's prefix characters are taken off, and at
 * run time `$` references are replaced in every word.
 */
import { UnitError } from '../errors.js';

/** Options for {@link parseExecLine}. */
export interface ParseCommandLineOptions {
  /** Values for specifiers (`{ n: 'web@1.service', i: '1' }`). A known specifier without a value throws. */
  readonly specifiers?: Readonly<Record<string, string>>;
}

/** A parsed command line: the executable's prefix characters and the words (executable first). */
export interface ExecLine {
  readonly prefix: string;
  readonly argv: string[];
}

// Specifiers systemd 252 knows in unit files (systemd.unit(5) "Specifiers").
const knownSpecifiers = new Set('aAbBCdEfgGhHiIjJlLmMnNopPsStTuUvVwWyY'.split(''));
const WS = new Set([0x20, 0x09, 0x0a, 0x0d]); // systemd's WHITESPACE: " \t\n\r"

function fail(message: string): never {
  throw new UnitError('ERR_UNIT_EXEC', message);
}

// A trailing unescaped `\` joins the next line; systemd turns that backslash into a space.
function joinContinuations(line: string): string {
  const lines = line.split('\n');
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (i === lines.length - 1) return out + l;
    const run = /\\+$/.exec(l)?.[0].length ?? 0;
    if (run % 2 === 0) fail('a raw newline inside a command line');
    out += `${l.slice(0, -1)} `;
  }
  return out;
}

function resolveSpecifiers(text: string, values: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const spec = text[i + 1];
    i++;
    if (spec === '%') out += '%';
    else if (spec === undefined) fail('a lone "%" at the end of the command line (write "%%")');
    else if (!knownSpecifiers.has(spec)) fail(`unknown specifier "%${spec}" (write "%%" for a literal "%")`);
    else if (values[spec] === undefined) fail(`specifier "%${spec}" has no value here`);
    else out += values[spec];
  }
  return out;
}

const hex = (b: number | undefined): number => {
  if (b === undefined) return -1;
  const c = String.fromCharCode(b);
  return /[0-9a-fA-F]/.test(c) ? parseInt(c, 16) : -1;
};

// systemd's cunescape_one: the escape after a backslash at bytes[i]; returns the bytes and the length used.
function unescapeOne(bytes: Buffer, i: number): { out: number[]; used: number } {
  const c = bytes[i];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39, s: 32 };
  const name = c === undefined ? '' : String.fromCharCode(c);
  if (c === undefined) fail('a "\\" at the end of the command line');
  if (simple[name] !== undefined) return { out: [simple[name]], used: 1 };
  if (name === 'x') {
    const a = hex(bytes[i + 1]);
    const b = hex(bytes[i + 2]);
    if (a < 0 || b < 0 || a + b === 0) fail('bad "\\x" escape (two hex digits, not 00)');
    return { out: [a * 16 + b], used: 3 };
  }
  if (name === 'u' || name === 'U') {
    const n = name === 'u' ? 4 : 8;
    let cp = 0;
    for (let k = 1; k <= n; k++) {
      const d = hex(bytes[i + k]);
      if (d < 0) fail(`bad "\\${name}" escape (${n} hex digits)`);
      cp = cp * 16 + d;
    }
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(`bad "\\${name}" escape (not a character)`);
    return { out: [...Buffer.from(String.fromCodePoint(cp))], used: n + 1 };
  }
  if (c >= 0x30 && c <= 0x37) {
    const d = [c, bytes[i + 1], bytes[i + 2]].map((b) => (b !== undefined && b >= 0x30 && b <= 0x37 ? b - 0x30 : -1));
    const [a = -1, b = -1, e = -1] = d;
    if (b < 0 || e < 0 || a > 3) fail('bad octal escape (three digits, at most \\377)');
    const v = a * 64 + b * 8 + e;
    if (v === 0) fail('bad octal escape (not \\000)');
    return { out: [v], used: 3 };
  }
  return fail(`unknown escape "\\${name}" (write "\\\\" for a backslash)`);
}

// One word as systemd's extract_first_word(UNQUOTE|CUNESCAPE) reads it: quotes open anywhere in a word and
// close at the matching quote; escapes work inside and outside quotes. Returns the word and the next index.
function extractWord(bytes: Buffer, start: number): { word: string; next: number } {
  const out: number[] = [];
  let quote = 0;
  let i = start;
  for (; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (quote === 0 && WS.has(b)) break;
    if (b === 0x5c) {
      const { out: o, used } = unescapeOne(bytes, i + 1);
      out.push(...o);
      i += used;
    } else if (quote !== 0 && b === quote) quote = 0;
    else if (quote === 0 && (b === 0x22 || b === 0x27)) quote = b;
    else out.push(b);
  }
  if (quote !== 0) fail('unterminated quote');
  try {
    return { word: new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(out)), next: i };
  } catch {
    return fail('a word is not valid UTF-8');
  }
}

function splitWords(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < bytes.length && WS.has(bytes[i] ?? 0)) i++;
    if (i >= bytes.length) return words;
    const end = (k: number): boolean => k >= bytes.length || WS.has(bytes[k] ?? 0);
    // A bare `;` separates commands; `\;` is a literal ";" (systemd checks both on the raw text).
    if (words.length > 0 && bytes[i] === 0x3b && end(i + 1)) fail('";" separates commands: one command per line');
    if (words.length > 0 && bytes[i] === 0x5c && bytes[i + 1] === 0x3b && end(i + 2)) {
      words.push(';');
      i += 2;
      continue;
    }
    const { word, next } = extractWord(bytes, i);
    words.push(word);
    i = next;
  }
}

// Run-time `$` handling (systemd.service(5)): a word that is `$NAME` is replaced by the variable's split
// value, `${NAME}` inside a word by its value, `$$` is a literal `$`; any other `$` stays as it is.
function expandEnv(word: string): string {
  if (word.startsWith('$') && word[1] !== '{' && word[1] !== '$') fail(`unresolved variable reference ${JSON.stringify(word)}`);
  let out = '';
  for (let i = 0; i < word.length; i++) {
    if (word[i] === '$' && word[i + 1] === '$') {
      out += '$';
      i++;
    } else if (word[i] === '$' && word[i + 1] === '{') fail(`unresolved variable reference in ${JSON.stringify(word)}`);
    else out += word[i];
  }
  return out;
}

/** A command line → its prefix and words, by systemd's rules. Throws `ERR_UNIT_EXEC` where systemd would fail or warn. */
export function parseExecLine(line: string, options: ParseCommandLineOptions = {}): ExecLine {
  const words = splitWords(resolveSpecifiers(joinContinuations(line), options.specifiers ?? {}));
  const first = words[0];
  if (first === undefined) fail('empty command line');
  const prefix = /^[-@:+!|]*/.exec(first)?.[0] ?? '';
  words[0] = first.slice(prefix.length);
  if (words[0] === '') fail('no executable after the prefix');
  return { prefix, argv: prefix.includes(':') ? words : words.map(expandEnv) };
}

/**
 * The value of `ExecStart=` (or another command setting) → argv, as systemd reads it: quotes, C escapes
 * (`\n`, `\xNN`, `\NNN`, `\uXXXX`), `%%` → `%`, `$$` → `$`. An unknown specifier, a lone `%`, an unknown
 * escape, an unresolved `$VAR`/`${VAR}` or a second command after `;` throws `ERR_UNIT_EXEC`.
 */
export function parseCommandLine(line: string, options: ParseCommandLineOptions = {}): string[] {
  return parseExecLine(line, options).argv;
}
