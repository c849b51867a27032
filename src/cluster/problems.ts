/**
 * Collecting spec problems: every check appends to one `Problems` list with the path of the value it is about,
 * and the list resolves each path to a line and column through the YAML source map. Checks never throw, so a
 * user sees every problem of a file in one run.
 */
import type { SourcePosition, SpecProblem } from '../errors.js';

/** A path into the spec: keys and list indices, e.g. `['services', 'web', 'ports', 0]`. */
export type SpecPath = ReadonlyArray<string | number>;

/** Positions of a value and of its key (for mapping entries), by formatted path. */
export interface SourceMap {
  readonly value: ReadonlyMap<string, SourcePosition>;
  readonly key: ReadonlyMap<string, SourcePosition>;
}

/** Formats a path the way messages show it: `services.web.ports[0]`, `labels["com.example.tier"]`. */
export function formatPath(path: SpecPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** The problem list of one spec file, and its warnings (things that work, but maybe not as meant). */
export class Problems {
  readonly list: SpecProblem[] = [];
  /** Located warnings: the spec is used, but something in it does not do all that Compose would. */
  readonly warnings: SpecProblem[] = [];
  /** Paths whose value is known to be wrong: later checks of them (or inside them) add nothing. */
  private readonly settled: Set<string> = new Set();

  constructor(
    readonly file: string,
    private readonly source: SourceMap,
    /** Put in front of every path: the normalizers of `x-fleetkit` parts write paths relative to it. */
    private readonly prefix: SpecPath = [],
    shared?: Problems,
  ) {
    if (shared) [this.list, this.warnings, this.settled] = [shared.list, shared.warnings, shared.settled];
  }

  /** A view that records into the same lists, with `prefix` before every path. */
  under(prefix: SpecPath): Problems {
    return new Problems(this.file, this.source, [...this.prefix, ...prefix], this);
  }

  /**
   * Records a problem at `path`. `at: 'key'` points at the key (unknown and unsupported keys); otherwise the
   * value. A path with no node of its own (a default, a merged alias) falls back to its nearest ancestor.
   */
  add(path: SpecPath, message: string, hint?: string, at: 'value' | 'key' = 'value'): void {
    const full = [...this.prefix, ...path];
    for (let n = full.length; n > 0; n--) if (this.settled.has(formatPath(full.slice(0, n)))) return;
    this.list.push({ file: this.file, pos: this.position(full, at), path: formatPath(full), message, hint });
  }

  /**
   * Records a problem at `path` and settles it: a value that could not be interpolated or cast is wrong
   * already, and what later checks would say about it (its raw text is not an image, …) is noise.
   */
  addFinal(path: SpecPath, message: string, hint?: string): void {
    this.add(path, message, hint);
    this.settle(path);
  }

  /** Marks the value at `path` as reported: problems about it (or inside it) recorded later are dropped. */
  settle(path: SpecPath): void {
    this.settled.add(formatPath([...this.prefix, ...path]));
  }

  /** Records a warning at `path`, located like a problem (at its key unless `at` says the value). */
  warn(path: SpecPath, message: string, hint?: string, at: 'value' | 'key' = 'key'): void {
    const full = [...this.prefix, ...path];
    this.warnings.push({ file: this.file, pos: this.position(full, at), path: formatPath(full), message, hint });
  }

  /** Records a problem (or a warning) in another file the spec names, such as an env file, by line. */
  addIn(file: string, line: number, message: string, hint?: string, kind: 'problem' | 'warning' = 'problem'): void {
    (kind === 'problem' ? this.list : this.warnings).push({ file, pos: { line, col: 1 }, path: '', message, hint });
  }

  /** The number of problems so far: callers compare before/after to know whether a part was valid. */
  get count(): number {
    return this.list.length;
  }

  private position(path: SpecPath, at: 'value' | 'key'): SourcePosition | undefined {
    if (at === 'key') {
      const k = this.source.key.get(formatPath(path));
      if (k) return k;
    }
    for (let n = path.length; n >= 0; n--) {
      const p = this.source.value.get(formatPath(path.slice(0, n)));
      if (p) return p;
    }
    return undefined;
  }
}

/** Describes a value for a message: `"80a"`, `5`, `a list`, `a mapping`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** The closest of `candidates` to `word` (edit distance ≤ 2, or ≤ 1 for short words), for did-you-mean hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = word.length <= 4 ? 2 : 3;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
