/**
 * A decoder that answers like Go's `json.NewDecoder(body).Decode(&v)`: the first JSON value of the body is
 * read (trailing bytes are ignored), syntax errors carry Go's scanner wording (`invalid character 'n'
 * looking for beginning of object key string`), an empty body is `EOF`, a cut value is `unexpected EOF`,
 * and type mismatches become Go's `json: cannot unmarshal …` text. fleetd puts these texts in its 400s.
 */

/** Outcome of a Go-style decode: the parsed value, or Go's error text. */
export type GoJSONResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  // strconv.Quote(string(rune(c))) without the double quotes
  const s = JSON.stringify(String.fromCharCode(c)).slice(1, -1);
  if (c < 0x20 || c === 0x7f) {
    const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };
    return `'${named[c] ?? '\\x' + c.toString(16).padStart(2, '0')}'`;
  }
  if (c >= 0x80 && c < 0xa0) return `'\\u${c.toString(16).padStart(4, '0')}'`;
  return `'${s}'`;
}

class SyntaxError_ extends Error {}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/**
 * Scans the first JSON value of `buf` with Go's grammar and messages; returns the end offset of the value.
 * Throws SyntaxError_ with Go's message, or 'EOF' / 'unexpected EOF' texts.
 */
function scanValue(buf: Uint8Array): { start: number; end: number } {
  let i = 0;
  const peek = (): number => (i < buf.length ? (buf[i] ?? -1) : -1);
  const fail = (c: number, context: string): never => {
    throw new SyntaxError_(`invalid character ${quoteChar(c)} ${context}`);
  };
  const eof = (): never => {
    throw new SyntaxError_('unexpected EOF');
  };
  const skip = (): void => {
    while (i < buf.length && isSpace(buf[i] ?? 0)) i++;
  };
  let depth = 0;
  const literal = (word: string): void => {
    for (let k = 1; k < word.length; k++) {
      const c = peek();
      if (c < 0) eof();
      if (c !== word.charCodeAt(k)) fail(c, `in literal ${word} (expecting '${word[k]}')`);
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      const c = peek();
      if (c < 0) eof();
      i++;
      if (c === 0x22) return;
      if (c === 0x5c) {
        const e = peek();
        if (e < 0) eof();
        i++;
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            const h = peek();
            if (h < 0) eof();
            if (!isHex(h)) fail(h, 'in \\u hexadecimal character escape');
            i++;
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          fail(e, 'in string escape code');
        }
      } else if (c < 0x20) {
        fail(c, 'in string literal');
      }
    }
  };
  // A number ends at the first byte that cannot continue it; at end of input the value is complete.
  const number = (): void => {
    if (peek() === 0x2d) {
      i++;
      const c = peek();
      if (c < 0) eof();
      if (!isDigit(c)) fail(c, 'in numeric literal');
    }
    if (peek() === 0x30) i++;
    else while (isDigit(peek())) i++;
    if (peek() === 0x2e) {
      i++;
      const c = peek();
      if (c < 0) eof();
      if (!isDigit(c)) fail(c, 'after decimal point in numeric literal');
      while (isDigit(peek())) i++;
    }
    if (peek() === 0x65 || peek() === 0x45) {
      i++;
      if (peek() === 0x2b || peek() === 0x2d) i++;
      const c = peek();
      if (c < 0) eof();
      if (!isDigit(c)) fail(c, 'in exponent of numeric literal');
      while (isDigit(peek())) i++;
    }
  };
  const value = (): void => {
    skip();
    const c = peek();
    if (c < 0) eof();
    if (c === 0x7b) {
      if (++depth > 10000) throw new SyntaxError_('exceeded max depth');
      i++;
      skip();
      if (peek() === 0x7d) {
        i++;
        depth--;
        return;
      }
      for (;;) {
        skip();
        const k = peek();
        if (k < 0) eof();
        if (k !== 0x22) fail(k, 'looking for beginning of object key string');
        string();
        skip();
        const colon = peek();
        if (colon < 0) eof();
        if (colon !== 0x3a) fail(colon, 'after object key');
        i++;
        value();
        skip();
        const sep = peek();
        if (sep < 0) eof();
        i++;
        if (sep === 0x7d) break;
        if (sep !== 0x2c) fail(sep, 'after object key:value pair');
      }
      depth--;
      return;
    }
    if (c === 0x5b) {
      if (++depth > 10000) throw new SyntaxError_('exceeded max depth');
      i++;
      skip();
      if (peek() === 0x5d) {
        i++;
        depth--;
        return;
      }
      for (;;) {
        value();
        skip();
        const sep = peek();
        if (sep < 0) eof();
        i++;
        if (sep === 0x5d) break;
        if (sep !== 0x2c) fail(sep, 'after array element');
      }
      depth--;
      return;
    }
    if (c === 0x22) return string();
    if (c === 0x2d || isDigit(c)) return number();
    if (c === 0x74) return (i++, literal('true'));
    if (c === 0x66) return (i++, literal('false'));
    if (c === 0x6e) return (i++, literal('null'));
    fail(c, 'looking for beginning of value');
  };
  skip();
  if (i >= buf.length) throw new SyntaxError_('EOF');
  const start = i;
  value();
  return { start, end: i };
}

/** Decodes the first JSON value of a request body like Go's json.Decoder (syntax only). */
export function decodeGoJSON(body: Uint8Array): GoJSONResult {
  try {
    const { start, end } = scanValue(body);
    return { ok: true, value: JSON.parse(Buffer.from(body.subarray(start, end)).toString('utf8')) };
  } catch (err) {
    if (err instanceof SyntaxError_) return { ok: false, error: err.message };
    throw err;
  }
}

/** The JSON kind Go names in an UnmarshalTypeError. */
export function goKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** Go's UnmarshalTypeError text for a struct field (Go ≥ 1.20 wording: full field path). */
export function goFieldTypeError(value: unknown, struct: string, field: string, type: string): string {
  return `json: cannot unmarshal ${goKind(value)} into Go struct field ${struct}.${field} of type ${type}`;
}

/** Go's UnmarshalTypeError text for a top-level value. */
export function goValueTypeError(value: unknown, type: string): string {
  return `json: cannot unmarshal ${goKind(value)} into Go value of type ${type}`;
}

/** Finds a key the way encoding/json matches struct fields: exact first, else case-insensitive; last one wins. */
export function goField(obj: Record<string, unknown>, name: string): { found: boolean; value: unknown } {
  let found = false;
  let value: unknown;
  for (const [k, v] of Object.entries(obj)) {
    if (k.toLowerCase() === name.toLowerCase()) {
      found = true;
      value = v;
    }
  }
  return { found, value };
}
