/**
 * Unit-file text → {@link UnitFile}, reading it the way fleet does (go-systemd's unit deserializer), so what
 * fleetkit sees is what fleet stores, hashes and schedules by:
 * - duplicate keys are kept in order, nothing is merged;
 * - comments are lines whose first non-blank character is `#` or `;` (a `#` after `=` is part of the value);
 * - a line ending in `\` continues the value; the backslash and a newline are kept in the value;
 * - names and values are trimmed; text before the first `[Section]` is skipped;
 * - a line of 2048 bytes or more (newline not counted) is refused: `line too long (max 2048 bytes)`.
 */
import { UnitError } from '../errors.js';
import type { UnitFile, UnitOption } from './model.js';
import { goTrimSpace, isGoSpace } from './go-text.js';

/** fleet's line limit: a line and its newline must fit in this many bytes. */
export const LINE_MAX = 2048;

const NL = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();

/**
 * Parses `text` as the unit `name`. Throws `ERR_UNIT_LINE` for an over-long line (naming the line and
 * directive) and `ERR_UNIT_SYNTAX` for text fleet cannot read (unclosed `[`, text after `]`, a name without
 * `=`).
 */
export function parseUnit(name: string, text: string): UnitFile {
  const buf = Buffer.from(text, 'utf8');
  const n = buf.length;
  // Next CR/LF at or after each position, so the line-length check is O(1) per step.
  const nextBreak = new Int32Array(n + 1);
  nextBreak[n] = n;
  for (let i = n - 1; i >= 0; i--) nextBreak[i] = buf[i] === NL || buf[i] === CR ? i : (nextBreak[i + 1] ?? n);

  const options: UnitOption[] = [];
  let pos = 0;
  let section: string | undefined;
  let directive: string | undefined;

  const lineNo = (at: number): number => {
    let count = 1;
    for (let i = 0; i < at && i < n; i++) if (buf[i] === NL) count++;
    return count;
  };
  // The directive a position belongs to: the one being read, else the `Name=` that starts its line.
  const directiveAt = (at: number): string | undefined => {
    if (directive !== undefined) return directive;
    const start = buf.lastIndexOf(NL, at - 1) + 1;
    const head = decoder.decode(buf.subarray(start, Math.min(n, start + 256)));
    const m = /^\s*([^=[#;\s][^=\r\n]*)=/u.exec(head);
    return m?.[1] === undefined ? undefined : goTrimSpace(m[1]);
  };
  const fail = (code: string, message: string, at: number, hint?: string): never => {
    const what = directiveAt(at);
    const where = `line ${lineNo(at)}${what ? ` (${what})` : ''}`;
    throw new UnitError(code, `${where}: ${message}`, hint === undefined ? { unit: name } : { unit: name, hint });
  };
  // fleet checks before each lexer step that the next 2048 bytes hold a line break.
  const checkLength = (): void => {
    if (n - pos >= LINE_MAX && (nextBreak[pos] ?? n) - pos >= LINE_MAX) {
      fail('ERR_UNIT_LINE', `line too long (max ${LINE_MAX} bytes)`, pos, 'shorten the value; fleet refuses longer lines');
    }
  };
  // Reads to the end of the line, dropping "\n" and one "\r" before it.
  const toEOL = (): { line: Buffer; eof: boolean } => {
    const nl = buf.indexOf(NL, pos);
    const end = nl === -1 ? n : nl;
    let line = buf.subarray(pos, end);
    pos = nl === -1 ? n : nl + 1;
    if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    return { line, eof: nl === -1 };
  };
  const readRune = (): number | undefined => {
    if (pos >= n) return undefined;
    const b = buf[pos] ?? 0;
    const len = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    const cp = len === 1 ? b : (decoder.decode(buf.subarray(pos, pos + len)).codePointAt(0) ?? 0xfffd);
    pos += len;
    return cp;
  };
  // Comments run to the end of line, and on while a line ends in "\" (trailing spaces ignored).
  const skipComment = (): void => {
    checkLength();
    for (;;) {
      const line = toEOL().line.toString('latin1').replace(/ +$/, '');
      if (!line.endsWith('\\') || pos >= n) return;
    }
  };
  const readSectionName = (): void => {
    checkLength();
    const close = buf.indexOf(0x5d, pos);
    if (close === -1) fail('ERR_UNIT_SYNTAX', 'unable to find end of section', pos, 'close the section header with "]"');
    section = decoder.decode(buf.subarray(pos, close));
    pos = close + 1;
    checkLength();
    const garbage = goTrimSpace(decoder.decode(toEOL().line));
    if (garbage !== '') fail('ERR_UNIT_SYNTAX', `found garbage after section name ${section}: ${JSON.stringify(garbage)}`, pos - 1);
  };
  const readOption = (): void => {
    const start = pos;
    const eq = buf.indexOf(0x3d, pos);
    const br = nextBreak[pos] ?? n;
    if (eq === -1 && br === n) fail('ERR_UNIT_SYNTAX', 'unexpected end of file while parsing option name', start);
    if (eq === -1 || br < eq) fail('ERR_UNIT_SYNTAX', 'unexpected newline encountered while parsing option name', start, 'write NAME=VALUE');
    directive = goTrimSpace(decoder.decode(buf.subarray(pos, eq)));
    pos = eq + 1;
    const parts: Buffer[] = [];
    for (;;) {
      checkLength();
      const { line, eof } = toEOL();
      if (goTrimSpace(decoder.decode(line)) === '') break;
      parts.push(line);
      if (line[line.length - 1] !== 0x5c) break;
      if (eof) break;
      parts.push(Buffer.from('\n'));
    }
    options.push({ section: section ?? '', name: directive, value: goTrimSpace(decoder.decode(Buffer.concat(parts))) });
    directive = undefined;
  };

  for (;;) {
    checkLength();
    const r = readRune();
    if (r === undefined) break;
    if (r === 0x5b) readSectionName();
    else if (r === 0x23 || r === 0x3b) skipComment();
    else if (section === undefined || isGoSpace(r)) continue; // fleet skips any text before the first section
    else {
      pos -= Buffer.byteLength(String.fromCodePoint(r));
      readOption();
    }
  }
  return { name, options };
}
