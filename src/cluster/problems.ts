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

/** The problem list of one spec file. */
export class Problems {
  readonly list: SpecProblem[] = [];
  /** Located warnings: the spec is used, but something in it does not do all that Compose would. */
  readonly warnings: SpecProblem[] = [];

  constructor(
    readonly file: string,
    private readonly source: SourceMap,
  ) {}

  /**
   * Records a problem at `path`. `at: 'key'` points at the key (unknown and unsupported keys); otherwise the
   * value. A path with no node of its own (a default, a merged alias) falls back to its nearest ancestor.
   */
  add(path: SpecPath, message: string, hint?: string, at: 'value' | 'key' = 'value'): void {
    this.list.push({ file: this.file, pos: this.position(path, at), path: formatPath(path), message, hint });
  }

  /** Records a warning at `path`, located like a problem. */
  warn(path: SpecPath, message: string, hint?: string): void {
    this.warnings.push({ file: this.file, pos: this.position(path, 'key'), path: formatPath(path), message, hint });
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
