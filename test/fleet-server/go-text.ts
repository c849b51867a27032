/**
 * Small ports of Go standard-library behaviour that fleetd's answers depend on: `strconv.Quote` / `%q`
 * quoting, `encoding/base64` URL decoding with Go's error offsets, and `path.Match` globbing.
 * They live here (not in src/) because the fleet test server must stay an independent referee.
 */

const CONTROL_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };

/** Whether Go's unicode.IsPrint would call this code point printable (close enough for unit names). */
function isPrint(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp === 0xad) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  if (cp === 0xfffe || cp === 0xffff || cp > 0x10ffff) return false;
  // Go's IsPrint accepts only ASCII space among the spaces.
  return !/[\p{Z}\p{Cc}\p{Cf}\p{Co}\p{Cn}]/u.test(String.fromCodePoint(cp)) || cp === 0x20;
}

function escapeCodePoint(cp: number, quote: string): string {
  const ch = String.fromCodePoint(cp);
  if (ch === quote || ch === '\\') return '\\' + ch;
  if (isPrint(cp)) return ch;
  const control = CONTROL_ESCAPES[cp];
  if (control) return control;
  if (cp < 0x80) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** Go's `strconv.Quote(s)`, i.e. what `%q` prints for a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeCodePoint(ch.codePointAt(0) ?? 0, '"');
  return out + '"';
}

/** Go's `%q` for a rune: a single-quoted character literal. */
export function goQuoteRune(ch: string): string {
  return "'" + escapeCodePoint(ch.codePointAt(0) ?? 0, "'") + "'";
}

const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Result of a Go-style decode: the bytes, or Go's error text. */
export type GoDecodeResult = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: string };

/**
 * `base64.URLEncoding.DecodeString` (padded), with Go's `illegal base64 data at input byte N` offsets, so
 * that a bad page token gets fleetd's exact 400 message. A port of Go's decodeQuantum.
 */
export function decodeBase64URL(text: string): GoDecodeResult {
  const src = Buffer.from(text, 'latin1');
  const out: number[] = [];
  const corrupt = (at: number): GoDecodeResult => ({ ok: false, error: `illegal base64 data at input byte ${at}` });
  let si = 0;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailing = -1;
    let j = 0;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { ok: true, bytes: Uint8Array.from(out) };
        return corrupt(si - j); // padding is required, so a short quantum is corrupt
      }
      const c = src[si] ?? 0;
      si++;
      const v = URL_ALPHABET.indexOf(String.fromCharCode(c));
      if (v >= 0 && c < 0x80) {
        dbuf[j] = v;
        continue;
      }
      if (c === 0x0a || c === 0x0d) {
        j--;
        continue;
      }
      if (c !== 0x3d) return corrupt(si - 1);
      if (j === 0 || j === 1) return corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) return corrupt(src.length);
        if (src[si] !== 0x3d) return corrupt(si - 1);
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) trailing = si;
      dlen = j;
      break;
    }
    const val = ((dbuf[0] ?? 0) << 18) | ((dbuf[1] ?? 0) << 12) | ((dbuf[2] ?? 0) << 6) | (dbuf[3] ?? 0);
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, dlen - 1));
    if (trailing >= 0) return corrupt(trailing);
    if (dlen < 4) break;
  }
  return { ok: true, bytes: Uint8Array.from(out) };
}

/** `base64.URLEncoding.EncodeToString`. */
export function encodeBase64URL(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

// ---- path.Match -------------------------------------------------------------------------------

class BadPattern extends Error {}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let star = false;
  let p = pattern;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inrange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inrange = true;
        break;
      case ']':
        inrange = false;
        break;
      case '*':
        if (!inrange) break scan;
        break;
      default:
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

function getEsc(chunk: string[]): { r: string; rest: string[] } {
  let c = chunk;
  if (c.length === 0 || c[0] === '-' || c[0] === ']') throw new BadPattern();
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw new BadPattern();
  }
  const r = c[0] ?? '';
  const rest = c.slice(1);
  if (rest.length === 0) throw new BadPattern();
  return { r, rest };
}

function cp(s: string): number {
  return s.codePointAt(0) ?? -1;
}

function matchChunk(chunkIn: string[], sIn: string[]): string[] | null {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const head = chunk[0];
    if (head === '[') {
      let r = -1;
      if (!failed) {
        r = cp(s[0] ?? '');
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        chunk = lo.rest;
        let hi = lo.r;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1));
          hi = h.r;
          chunk = h.rest;
        }
        if (cp(lo.r) <= r && r <= cp(hi)) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (head === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (head === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) throw new BadPattern();
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

function matchOrThrow(patternText: string, nameText: string): boolean {
  let pattern = [...patternText];
  let name = [...nameText];
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    if (star && chunk.length === 0) return !name.includes('/');
    const t = matchChunk(chunk, name);
    if (t !== null && (t.length === 0 || pattern.length > 0)) {
      name = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, name.slice(i + 1));
        if (t2 !== null) {
          if (pattern.length === 0 && t2.length > 0) continue;
          name = t2;
          continue outer;
        }
      }
    }
    while (pattern.length > 0) {
      const next = scanChunk(pattern);
      pattern = next.rest;
      matchChunk(next.chunk, []);
    }
    return false;
  }
  return name.length === 0;
}

/**
 * Go's `path.Match(pattern, name)` as fleet's `globMatches` uses it: a malformed pattern matches nothing
 * (fleet logs the error and answers false).
 */
export function goPathMatch(pattern: string, name: string): boolean {
  try {
    return matchOrThrow(pattern, name);
  } catch (err) {
    if (err instanceof BadPattern) return false;
    throw err;
  }
}
