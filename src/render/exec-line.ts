/**
 * Command lines and values that mix spec text with systemd specifiers. Spec text must reach the program
 * byte for byte (every `%` and `$` escaped by the unit quoting functions), while a few words need a live
 * specifier: the container name `web-%i`, the announce key `/services/web/web/%i`, the hostname `web-%H`.
 *
 * Words are built with `specifier('i')`, which stands for `%i` as a private-use character that quoting
 * leaves alone; after quoting it becomes `%`. `assertNoMarks` rejects a spec that itself contains that
 * character, so spec text can never turn into a specifier.
 */
import { UnitError } from '../errors.js';
import { plainValue, quoteExec } from '../unit/quote.js';

/** U+E000, a private-use code point: stands for `%` of a specifier until the line is quoted. */
const MARK = '\uE000';
const MARKS = /\uE000/g;

/** Specifiers the renderer uses (systemd.unit(5)): instance, host name, unit prefix, full name. */
export type SpecifierLetter = 'i' | 'H' | 'l' | 'm' | 'p' | 'n';

/** A live specifier (`%i`…) to put inside a word built from spec text. */
export function specifier(letter: SpecifierLetter): string {
  return MARK + letter;
}

/**
 * Spec text in which the documented placeholders (`%i` for the instance, `%H`/`%l` for the host) stay live and
 * every other `%` is literal.
 */
export function withSpecifiers(text: string, allowed: readonly SpecifierLetter[]): string {
  return text.replace(/%([A-Za-z])/g, (m, letter: string) =>
    (allowed as readonly string[]).includes(letter) ? specifier(letter as SpecifierLetter) : m,
  );
}

/** `ExecStart=`-style value for `argv`: every word quoted and escaped, marked specifiers made live. */
export function execLine(argv: readonly string[], prefix = ''): string {
  return quoteExec(argv, { prefix }).replace(MARKS, '%');
}

/** A one-line value of setting `name` (Description=, BindsTo=): literal `%` escaped, marked specifiers made live. */
export function textValue(name: string, text: string): string {
  return plainValue(name, text).replace(MARKS, '%');
}

/** Rejects spec text containing the marker character, which would otherwise become a specifier. */
export function assertNoMarks(json: string, file: string): void {
  if (json.includes(MARK)) {
    throw new UnitError('ERR_UNIT_RESERVED_CHAR', `${file}: the character U+E000 is reserved and cannot appear in a spec value`, {
      hint: 'remove the private-use character U+E000 from the spec',
    });
  }
}
