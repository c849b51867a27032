/**
 * Go's text conventions, reproduced so fleetkit can print and judge values exactly as fleet (written in Go)
 * does: `%q` quoting in fleet's error messages, and `unicode.IsSpace`/`strings.TrimSpace`, which fleet's
 * unit parser uses (they differ from JavaScript's `trim()`: U+0085 is space in Go, U+FEFF is not).
 */

/** Go's `unicode.IsSpace`. */
export function isGoSpace(cp: number): boolean {
  switch (cp) {
    case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x20: case 0x85: case 0xa0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

/** Go's `strings.TrimSpace`. */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isGoSpace(s.charCodeAt(start))) start++;
  while (end > start && isGoSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function escapeRune(ch: string, quote: '"' | "'"): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (ch === quote || ch === '\\') return `\\${ch}`;
  if (printable.test(ch)) return ch;
  switch (ch) {
    case '\x07': return '\\a';
    case '\b': return '\\b';
    case '\f': return '\\f';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    case '\v': return '\\v';
  }
  if (cp < 0x80) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd'; // a lone surrogate is not valid UTF-8: Go prints U+FFFD
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** Go's `%q` of a string (`strconv.Quote`): `"a\"b"`, printable Unicode kept, the rest escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch, '"');
  return out + '"';
}

/** Go's `%q` of a rune (`strconv.QuoteRune`): `' '`, `'\n'`, `'ö'`. */
export function goQuoteRune(ch: string): string {
  return `'${escapeRune(ch, "'")}'`;
}
