/**
 * Unit-file text → {@link UnitFile}, reading it the way fleet does (go-systemd's unit deserializer), so what
 * fleetkit sees is what fleet stores, hashes and schedules by:
 * - duplicate keys are kept in order, nothing is merged;
 * - comments are lines whose first non-blank character is `#` or `;` (a `#` after `=` is part of the value);
 * - a line ending in `\` continues the value; the backslash and a newline are kept in the value;
 * - names and values are trimmed; text before the first `[Section]` is skipped;
 * - a line of 2048 bytes or more (newline not counted) is refused: `line too long (max 2048 bytes)`.
 *
 * fleet reads UTF-8 bytes; this parser walks the JavaScript string (every rendered unit goes through it, and
 * slicing strings is several times cheaper than decoding byte ranges) and counts bytes only where fleet's
 * rules are about bytes: the line limit, and the line number and directive an error names.
 */
import { UnitError } from '../errors.js';
import type { UnitFile, UnitOption } from './model.js';
import { goTrimSpace, isGoSpace } from './go-text.js';

/** fleet's line limit: a line and its newline must fit in this many bytes. */
export const LINE_MAX = 2048;

const NL = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();
// A lone surrogate has no UTF-8 form: fleet (and Buffer.from) see U+FFFD in its place.
const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A piece of text as TextDecoder would hand it over: a leading byte-order mark dropped. The byte-based parser
 * before this one decoded every name, value and line that way; kept so that no result changes (fleet, in Go,
 * would keep the mark).
 */
function decoded(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/**
 * Parses `text` as the unit `name`. Throws `ERR_UNIT_LINE` for an over-long line (naming the line and
 * directive) and `ERR_UNIT_SYNTAX` for text fleet cannot read (unclosed `[`, text after `]`, a name without
 * `=`).
 */
export function parseUnit(name: string, text: string): UnitFile {
  const s = SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
  const n = s.length;
  const options: UnitOption[] = [];
  let pos = 0;
  let section: string | undefined;
  let directive: string | undefined;
  // The next LF, the next CR and the next of either at or after `pos` (`n` for none): `pos` never moves back
  // past one found, so each stretch of text is searched once.
  let lfAt = -1;
  let crAt = -1;
  let breakAt = -1;

  const fail = (code: string, message: string, at: number, hint?: string): never => {
    const bytes = Buffer.from(s, 'utf8');
    const where = errorPlace(bytes, Buffer.byteLength(s.slice(0, at)), directive);
    throw new UnitError(code, `${where}: ${message}`, hint === undefined ? { unit: name } : { unit: name, hint });
  };
  const next = (ch: string): number => {
    const at = s.indexOf(ch, pos);
    return at === -1 ? n : at;
  };
  const nextBreak = (): number => {
    if (breakAt < pos) {
      if (lfAt < pos) lfAt = next('\n');
      if (crAt < pos) crAt = next('\r');
      breakAt = Math.min(lfAt, crAt);
    }
    return breakAt;
  };
  // fleet checks before each lexer step that the next 2048 bytes hold a line break.
  const checkLength = (): void => {
    const br = nextBreak();
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only a stretch that long can be over the limit.
    if ((br - pos) * 3 >= LINE_MAX && Buffer.byteLength(s.slice(pos, br)) >= LINE_MAX) {
      fail('ERR_UNIT_LINE', `line too long (max ${LINE_MAX} bytes)`, pos, 'shorten the value; fleet refuses longer lines');
    }
  };
  // Reads to the end of the line, dropping "\n" and one "\r" before it.
  const toEOL = (): { line: string; eof: boolean } => {
    const nl = s.indexOf('\n', pos);
    const end = nl === -1 ? n : nl;
    const line = s.charCodeAt(end - 1) === CR && end > pos ? s.slice(pos, end - 1) : s.slice(pos, end);
    pos = nl === -1 ? n : nl + 1;
    return { line, eof: nl === -1 };
  };
  // Comments run to the end of line, and on while a line ends in "\" (trailing spaces ignored).
  const skipComment = (): void => {
    checkLength();
    for (;;) {
      const line = toEOL().line.replace(/ +$/, '');
      if (!line.endsWith('\\') || pos >= n) return;
    }
  };
  const readSectionName = (): void => {
    checkLength();
    const close = s.indexOf(']', pos);
    if (close === -1) fail('ERR_UNIT_SYNTAX', 'unable to find end of section', pos, 'close the section header with "]"');
    section = decoded(s.slice(pos, close));
    pos = close + 1;
    checkLength();
    const garbage = goTrimSpace(decoded(toEOL().line));
    if (garbage !== '') fail('ERR_UNIT_SYNTAX', `found garbage after section name ${section}: ${JSON.stringify(garbage)}`, pos - 1);
  };
  const readOption = (): void => {
    const start = pos;
    const eq = s.indexOf('=', pos);
    const br = nextBreak();
    if (eq === -1 && br === n) fail('ERR_UNIT_SYNTAX', 'unexpected end of file while parsing option name', start);
    if (eq === -1 || br < eq) fail('ERR_UNIT_SYNTAX', 'unexpected newline encountered while parsing option name', start, 'write NAME=VALUE');
    directive = goTrimSpace(decoded(s.slice(pos, eq)));
    pos = eq + 1;
    let value = '';
    for (;;) {
      checkLength();
      const { line, eof } = toEOL();
      if (goTrimSpace(decoded(line)) === '') break;
      value += line;
      if (!line.endsWith('\\')) break;
      if (eof) break;
      value += '\n';
    }
    options.push({ section: section ?? '', name: directive, value: goTrimSpace(decoded(value)) });
    directive = undefined;
  };

  for (;;) {
    checkLength();
    if (pos >= n) break;
    const r = s.codePointAt(pos) ?? 0;
    pos += r > 0xffff ? 2 : 1;
    if (r === 0x5b) readSectionName();
    else if (r === 0x23 || r === 0x3b) skipComment();
    else if (section === undefined || isGoSpace(r)) continue; // fleet skips any text before the first section
    else {
      pos -= r > 0xffff ? 2 : 1;
      readOption();
    }
  }
  return { name, options };
}

/**
 * `line N (Directive)` for an error at byte `at` of `bytes`: the directive being read, else the `Name=` that
 * starts the line.
 */
function errorPlace(bytes: Buffer, at: number, directive: string | undefined): string {
  let line = 1;
  for (let i = 0; i < at && i < bytes.length; i++) if (bytes[i] === NL) line++;
  let what = directive;
  if (what === undefined) {
    const start = bytes.lastIndexOf(NL, at - 1) + 1;
    const head = decoder.decode(bytes.subarray(start, Math.min(bytes.length, start + 256)));
    const m = /^\s*([^=[#;\s][^=\r\n]*)=/u.exec(head);
    what = m?.[1] === undefined ? undefined : goTrimSpace(m[1]);
  }
  return `line ${line}${what ? ` (${what})` : ''}`;
}
