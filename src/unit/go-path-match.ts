/**
 * Go's `path.Match`, which fleet uses for `Conflicts=` and `Replaces=` globs: `*` (any run without `/`),
 * `?` (one character but `/`), `[...]` classes with `^` negation, ranges and `\` escapes, `\` escaping
 * outside classes. Written from Go's algorithm so edge cases (a bad pattern never matches) agree.
 */

class BadPattern extends Error {}

type Chars = readonly string[];

function scanChunk(p: Chars): { star: boolean; chunk: Chars; rest: Chars } {
  let i = 0;
  let star = false;
  while (p[i] === '*') {
    i++;
    star = true;
  }
  const from = i;
  let inRange = false;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
    }
  }
  return { star, chunk: p.slice(from, i), rest: p.slice(i) };
}

function getEsc(c: Chars, i: number): { r: string; next: number } {
  if (i >= c.length || c[i] === '-' || c[i] === ']') throw new BadPattern();
  if (c[i] === '\\') {
    i++;
    if (i >= c.length) throw new BadPattern();
  }
  const r = c[i] ?? '';
  if (i + 1 >= c.length) throw new BadPattern();
  return { r, next: i + 1 };
}

const cp = (s: string | undefined): number => (s === undefined ? 0 : (s.codePointAt(0) ?? 0));

// Matches one chunk at the start of s; returns the rest of s, or undefined. Keeps checking the chunk's
// syntax after a mismatch, as Go does, so a malformed pattern throws.
function matchChunk(chunk: Chars, s: Chars): Chars | undefined {
  let failed = false;
  let si = 0;
  let i = 0;
  while (i < chunk.length) {
    if (!failed && si >= s.length) failed = true;
    const c = chunk[i];
    if (c === '[') {
      const r = failed ? 0 : cp(s[si++]);
      i++;
      let negated = false;
      if (chunk[i] === '^') {
        negated = true;
        i++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk[i] === ']' && nrange > 0) {
          i++;
          break;
        }
        const lo = getEsc(chunk, i);
        let hi = lo;
        i = lo.next;
        if (chunk[i] === '-') {
          hi = getEsc(chunk, i + 1);
          i = hi.next;
        }
        if (cp(lo.r) <= r && r <= cp(hi.r)) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[si] === '/') failed = true;
        si++;
      }
      i++;
    } else {
      if (c === '\\') {
        i++;
        if (i >= chunk.length) throw new BadPattern();
      }
      if (!failed) {
        if (chunk[i] !== s[si]) failed = true;
        si++;
      }
      i++;
    }
  }
  return failed ? undefined : s.slice(si);
}

function match(pattern: Chars, name: Chars): boolean {
  let p = pattern;
  let n = name;
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) return !n.includes('/');
    const t = matchChunk(chunk, n);
    if (t !== undefined && (t.length === 0 || p.length > 0)) {
      n = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, n.slice(i + 1));
        if (t2 !== undefined) {
          if (p.length === 0 && t2.length > 0) continue;
          n = t2;
          continue outer;
        }
      }
    }
    // Before reporting no match, check the rest of the pattern is well formed (Go does the same).
    while (p.length > 0) {
      const next = scanChunk(p);
      p = next.rest;
      matchChunk(next.chunk, []);
    }
    return false;
  }
  return n.length === 0;
}

/**
 * The common forms without the general walk, which is slow over the thousands of pairs that placement checks:
 * a pattern of plain characters, or with one `*` (`web@*.service`: any run without `/` between its two
 * literal ends). Undefined for anything else (`?`, classes, escapes, several stars): those take the walk.
 */
function literalMatcher(pattern: string): ((name: string) => boolean) | undefined {
  if (/[?[\\\]]/.test(pattern)) return undefined;
  const star = pattern.indexOf('*');
  if (star < 0) return (name) => name === pattern;
  if (pattern.indexOf('*', star + 1) >= 0) return undefined;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return (name) => name.length >= head.length + tail.length && name.startsWith(head) && name.endsWith(tail)
    && !name.slice(head.length, name.length - tail.length).includes('/');
}

function walkMatcher(pattern: string): (name: string) => boolean {
  const p = [...pattern];
  return (name) => {
    try {
      return match(p, [...name]);
    } catch (e) {
      if (e instanceof BadPattern) return false;
      throw e;
    }
  };
}

/** Matchers by pattern: a cluster has few patterns, asked about many names. Bounded: cleared when full. */
const matchers = new Map<string, (name: string) => boolean>();

/** True when `name` matches the Go `path.Match` pattern. A malformed pattern matches nothing (fleet ignores the error). */
export function goPathMatch(pattern: string, name: string): boolean {
  let m = matchers.get(pattern);
  if (!m) {
    if (matchers.size >= 4096) matchers.clear();
    m = literalMatcher(pattern) ?? walkMatcher(pattern);
    matchers.set(pattern, m);
  }
  return m(name);
}

/** True when Go's `path.Match` would report `ErrBadPattern` for `pattern` (it then never matches in fleet). */
export function isBadGoPattern(pattern: string): boolean {
  try {
    // Matching against the empty name walks every chunk's syntax.
    match([...pattern], []);
    return false;
  } catch (e) {
    if (e instanceof BadPattern) return true;
    throw e;
  }
}
