/**
 * Compose's variable substitution in one string, as the Compose Specification ("Interpolation") defines it
 * and compose-go's `template` package implements it:
 *
 * - `$$` is a literal `$`; a `$` before anything that cannot start a name or `{` stays as it is (`$1`, `a $`);
 * - `$NAME` and `${NAME}` (NAME = `[_A-Za-z][_A-Za-z0-9]*`) give the value, or "" when unset (reported);
 * - `${NAME:-x}` / `${NAME-x}`: x when NAME is unset or empty / unset;
 * - `${NAME:?msg}` / `${NAME?msg}`: an error when NAME is unset or empty / unset;
 * - `${NAME:+x}` / `${NAME+x}`: x when NAME is set and not empty / set, else NAME's value ("" when unset);
 * - the x and msg parts are substituted themselves (nesting), and always, as compose-go does: an unset
 *   variable inside an unused default is still reported;
 * - the closing brace is the one that balances `${` (braces inside count), and it must come before the end
 *   of the line; `${`, `${}`, `${ x}`, `${x }`, `${x!}` are invalid.
 *
 * Pure: no environment is read here. The caller gives a lookup and receives the names it found unset.
 */

/** A variable's value, or undefined when it is not set (which differs from set to ""). */
export type Lookup = (name: string) => string | undefined;

/** What went wrong in a template: the message names the variable where there is one. */
export class TemplateError extends Error {
  constructor(
    readonly kind: 'invalid' | 'required',
    message: string,
    readonly variable: string | undefined,
  ) {
    super(message);
  }
}

/** A reference that substitution read: its name, and whether it had braces (`${X}`) or not (`$X`). */
export interface Reference {
  readonly name: string;
  readonly braced: boolean;
}

/** Observers of the references a substitution reads; both are optional. */
export interface SubstituteHooks {
  /** A `$NAME` or `${NAME}` whose variable is not set: it became "". */
  readonly unset?: (ref: Reference) => void;
  /** Every plain `$NAME` / `${NAME}` reference that was resolved to a set variable. */
  readonly used?: (ref: Reference) => void;
}

const NAME_START = /[_A-Za-z]/;
const NAME_CHAR = /[_A-Za-z0-9]/;

/** Substitutes `template`; throws TemplateError for an invalid template or a missing required variable. */
export function substitute(template: string, lookup: Lookup, hooks: SubstituteHooks = {}): string {
  // Most values have no `$`: they are returned as they are, without a walk.
  if (!template.includes('$')) return template;
  let out = '';
  let i = 0;
  for (;;) {
    const d = template.indexOf('$', i);
    if (d < 0) return out + template.slice(i);
    out += template.slice(i, d);
    const next = template[d + 1] ?? '';
    if (next === '$') {
      out += '$';
      i = d + 2;
    } else if (NAME_START.test(next)) {
      let end = d + 2;
      while (end < template.length && NAME_CHAR.test(template[end] ?? '')) end++;
      out += plain(template.slice(d + 1, end), false, lookup, hooks);
      i = end;
    } else if (next === '{') {
      const [value, end] = braced(template, d, lookup, hooks);
      out += value;
      i = end;
    } else {
      out += '$';
      i = d + 1;
    }
  }
}

function plain(name: string, isBraced: boolean, lookup: Lookup, hooks: SubstituteHooks): string {
  const value = lookup(name);
  const ref = { name, braced: isBraced };
  if (value === undefined) hooks.unset?.(ref);
  else hooks.used?.(ref);
  return value ?? '';
}

function invalid(template: string): TemplateError {
  return new TemplateError('invalid', `invalid interpolation format in ${JSON.stringify(template)}`, undefined);
}

/** `${…}` starting at `d` (the `$`): its value and the index after its closing brace. */
function braced(template: string, d: number, lookup: Lookup, hooks: SubstituteHooks): [string, number] {
  let k = d + 2;
  if (!NAME_START.test(template[k] ?? '')) throw invalid(template);
  while (k < template.length && NAME_CHAR.test(template[k] ?? '')) k++;
  const name = template.slice(d + 2, k);
  if (template[k] === '}') return [plain(name, true, lookup, hooks), k + 1];
  const op = template[k] === ':' ? template.slice(k, k + 2) : (template[k] ?? '');
  if (!['-', '?', '+', ':-', ':?', ':+'].includes(op)) throw invalid(template);
  const close = closingBrace(template, d + 1);
  if (close < 0) throw invalid(template);
  // The argument is itself a template, substituted before it is known to be needed (as compose-go does).
  const arg = substitute(template.slice(k + op.length, close), lookup, hooks);
  const value = lookup(name);
  const empty = value === undefined || value === '';
  switch (op) {
    case ':-':
      return [empty ? arg : value, close + 1];
    case '-':
      return [value ?? arg, close + 1];
    case ':+':
      return [empty ? (value ?? '') : arg, close + 1];
    case '+':
      return [value === undefined ? '' : arg, close + 1];
    default: {
      if (op === ':?' ? empty : value === undefined) {
        const because = arg === '' ? '' : `: ${arg}`;
        throw new TemplateError('required', `required variable ${name} is missing a value${because}`, name);
      }
      return [value ?? '', close + 1];
    }
  }
}

/** The index of the `}` that balances the `{` at `open`; -1 when a line ends (or the text does) first. */
function closingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
    else if (c === '\n') return -1;
  }
  return -1;
}
