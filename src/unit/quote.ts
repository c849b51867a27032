/**
 * Writing values into unit files so systemd reads back exactly what was meant: argv words for
 * `ExecStart=`-style settings, `Environment=` assignments, and plain one-line values. Nothing a spec holds
 * (`%`, `$`, quotes, backslashes, `;`, newlines) can change a command line's words or add a directive.
 * Rules: systemd.syntax(7), systemd.service(5) "Command lines", systemd.exec(5) `Environment=`.
 */
import { UnitError } from '../errors.js';
import { goTrimSpace } from './go-text.js';

export { parseCommandLine, parseExecLine } from './parse-command-line.js';

// C escapes systemd's unquoting understands (cunescape_one); other control characters become \xNN.
const cEscapes: Readonly<Record<string, string>> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
};

function escapeControl(ch: string, context: string): string {
  if (ch === '\0') {
    // systemd rejects \x00 and \000 inside a setting: there is no way to pass a NUL byte.
    throw new UnitError('ERR_UNIT_VALUE', `${context}: a NUL character cannot be written into a unit file`, {
      hint: 'remove the NUL character from the value',
    });
  }
  return cEscapes[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

// C0 controls and DEL; Unicode beyond ASCII passes through untouched (systemd reads UTF-8).
const control = /[\x00-\x1f\x7f]/;

// What quoteWord rewrites. Most words hold none of it and are taken as they are, without a walk per character.
const rewritten = /[%$\\"\x00-\x1f\x7f]/;

function quoteWord(word: string, expandsEnv: boolean): string {
  const body = rewritten.test(word) ? escapeWord(word, expandsEnv) : word;
  // Quote when systemd would otherwise split or unquote the word, when it is empty (it would vanish), when it
  // is a lone `;` (a command separator), and when it ends in `\`: fleet's parser takes any line whose last
  // byte is `\` as continued (it does not know `\\`), so the closing quote keeps the line whole for fleet too.
  const needsQuotes = word === '' || word === ';' || /[\s'"]/u.test(body) || word.endsWith('\\');
  return needsQuotes ? `"${body}"` : body;
}

function escapeWord(word: string, expandsEnv: boolean): string {
  let body = '';
  for (const ch of word) {
    if (ch === '%') body += '%%';
    else if (ch === '$') body += expandsEnv ? '$$' : '$';
    else if (ch === '\\') body += '\\\\';
    else if (ch === '"') body += '\\"';
    else if (control.test(ch)) body += escapeControl(ch, 'command line');
    else body += ch;
  }
  return body;
}

/**
 * One argv word → its text in `ExecStart=` and friends (systemd.md's safe rule): `%`→`%%`, `$`→`$$`,
 * `\`→`\\`, `"`→`\"`, control characters as C escapes (`\n`, `\t`, `\x1b`), wrapped in `"…"` when it has
 * whitespace or quotes, is empty, is `;` or ends in `\`. A NUL character throws `ERR_UNIT_VALUE`.
 * @example quoteArg('date +%s') === '"date +%%s"'
 */
export function quoteArg(word: string): string {
  return quoteWord(word, true);
}

/** Options for {@link quoteExec}. */
export interface QuoteExecOptions {
  /**
   * Prefix characters for the executable, from `-@:+!|` (each at most once, `!!` allowed): `-` ignores
   * failure, `@` makes the second word argv[0], `:` turns off `$` expansion (so `$` is then written as is).
   */
  readonly prefix?: string;
}

const prefixChars = '-@:+!|';

function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  const seen = new Set<string>();
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i] ?? '';
    const bang = ch === '!' && prefix[i + 1] === '!' && !seen.has('!');
    if (!prefixChars.includes(ch) || (seen.has(ch) && !bang)) {
      throw new UnitError('ERR_UNIT_EXEC', `invalid command prefix ${JSON.stringify(prefix)}`, {
        hint: `use each of ${prefixChars} at most once ("!!" is allowed)`,
      });
    }
    seen.add(ch);
    if (bang) i++;
  }
  if (seen.has('+') && seen.has('!')) {
    throw new UnitError('ERR_UNIT_EXEC', `invalid command prefix ${JSON.stringify(prefix)}: "+" and "!" exclude each other`);
  }
}

// systemd accepts an absolute, normalized path (no `.`/`..`/empty components, no trailing `/`) or a bare
// file name searched in its fixed PATH.
function checkExecutable(path: string): void {
  const fail = (why: string, hint: string): never => {
    throw new UnitError('ERR_UNIT_EXEC', `invalid executable ${JSON.stringify(path)}: ${why}`, { hint });
  };
  if (path === '') fail('it is empty', 'give an absolute path such as /usr/bin/docker');
  if (prefixChars.includes(path[0] ?? '')) {
    fail(`it starts with the prefix character "${path[0]}"`, 'pass the prefix with quoteExec(argv, {prefix}) instead');
  }
  if (path.includes('$')) fail('systemd does not expand "$" in the executable', 'write the path literally');
  if (control.test(path)) fail('it contains a control character', 'remove it');
  if (path.startsWith('/')) {
    const parts = path.split('/').slice(1);
    if (parts.some((p, i) => p === '.' || p === '..' || (p === '' && i < parts.length))) {
      fail('the path is not normalized', 'remove "//", "/./", "/../" and any trailing "/"');
    }
  } else if (path.includes('/')) {
    fail('a relative path is not allowed', 'use an absolute path or a bare name');
  } else if (path === '.' || path === '..' || Buffer.byteLength(path) > 255) {
    fail('not a valid file name', 'use an absolute path or a bare name');
  }
}

/**
 * An argv (executable first) → the value of `ExecStart=` etc., each word quoted by {@link quoteArg}.
 * The executable must be an absolute normalized path or a bare name and must not start with a prefix
 * character; otherwise throws `ERR_UNIT_EXEC`.
 * @example quoteArgv(['/bin/echo', 'a b', '50%']) === '/bin/echo "a b" 50%%'
 */
export function quoteArgv(argv: readonly string[]): string {
  return quoteExec(argv, {});
}

/** {@link quoteArgv} with an executable prefix: `quoteExec(['/usr/bin/docker', 'kill', 'web'], {prefix: '-'})`. */
export function quoteExec(argv: readonly string[], options: QuoteExecOptions = {}): string {
  const prefix = options.prefix ?? '';
  checkPrefix(prefix);
  const [exe, ...rest] = argv;
  if (exe === undefined) throw new UnitError('ERR_UNIT_EXEC', 'empty command line', { hint: 'give at least the executable' });
  checkExecutable(exe);
  const expandsEnv = !prefix.includes(':');
  return [prefix + quoteWord(exe, expandsEnv), ...rest.map((w) => quoteWord(w, expandsEnv))].join(' ');
}

/** `%` → `%%`: the text systemd turns back into `s` after resolving specifiers. */
export function escapeSpecifiers(s: string): string {
  return s.replaceAll('%', '%%');
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One `Environment=` assignment: `"NAME=value"` with `\` and `"` escaped, `%` → `%%`, control characters
 * as C escapes. `$` is written as is: systemd does not expand variables in `Environment=`. A name that is not
 * `[A-Za-z_][A-Za-z0-9_]*` throws `ERR_UNIT_VALUE`.
 * @example quoteEnvironment('MSG', 'say "hi" 100%') === '"MSG=say \\"hi\\" 100%%"'
 */
export function quoteEnvironment(name: string, value: string): string {
  if (!envName.test(name)) {
    throw new UnitError('ERR_UNIT_VALUE', `invalid environment variable name ${JSON.stringify(name)}`, {
      hint: 'names are letters, digits and "_", not starting with a digit',
    });
  }
  let body = '';
  for (const ch of `${name}=${value}`) {
    if (ch === '%') body += '%%';
    else if (ch === '\\') body += '\\\\';
    else if (ch === '"') body += '\\"';
    else if (control.test(ch)) body += escapeControl(ch, `Environment ${name}`);
    else body += ch;
  }
  return `"${body}"`;
}

/**
 * A single-line value for a setting that takes text as is (`Description=`, `Documentation=`, …): `%` → `%%`;
 * `$` is kept (systemd expands it only in command lines). Throws `ERR_UNIT_VALUE` for anything that would
 * change the unit's meaning: a control character (a newline would start a new directive), a trailing `\`
 * (it would swallow the next line) or leading/trailing whitespace (silently dropped by every parser).
 */
export function plainValue(name: string, value: string): string {
  const fail = (why: string): never => {
    throw new UnitError('ERR_UNIT_VALUE', `${name}=: ${why}`, { hint: 'give a single-line value' });
  };
  if (control.test(value)) fail('the value contains a newline or another control character');
  if (value.endsWith('\\')) fail('the value ends in "\\", which would join the next line');
  if (value !== goTrimSpace(value)) fail('leading or trailing whitespace would be lost');
  return escapeSpecifiers(value);
}
