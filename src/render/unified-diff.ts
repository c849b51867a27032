/**
 * A unified diff (`diff -u` format) of two texts, for `gen-units --check`, and the line edit script under
 * it, which `load` also uses to show how a unit differs. Unit files are short, so a plain
 * longest-common-subsequence table is fast enough and keeps this dependency-free (and light enough for the
 * gen-units start-up path). Pure.
 */

/** Options for `unifiedDiff`. */
export interface UnifiedDiffOptions {
  /** Label of the old text (`--- LABEL`). */
  readonly from: string;
  /** Label of the new text (`+++ LABEL`). */
  readonly to: string;
  /** Unchanged lines shown around each change. Default 3. */
  readonly context?: number;
}

/** One step of an edit script: a line kept (` `), removed (`-`) or added (`+`). */
export interface LineEdit {
  readonly kind: ' ' | '-' | '+';
  readonly line: string;
  /** 0-based position in the old lines (for an added line: the old line it goes before). */
  readonly a: number;
  /** 0-based position in the new lines (for a removed line: the new line it goes before). */
  readonly b: number;
}

/** The diff from `oldText` to `newText`; empty when they are equal. */
export function unifiedDiff(oldText: string, newText: string, options: UnifiedDiffOptions): string {
  if (oldText === newText) return '';
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const ops = lineEdits(a, b);
  const ctx = options.context ?? 3;
  const out = [`--- ${options.from}`, `+++ ${options.to}`];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.kind === ' ') {
      i++;
      continue;
    }
    // A hunk: from `ctx` lines before this change to `ctx` lines after the last change closer than 2*ctx.
    let start = Math.max(0, i - ctx);
    let end = i;
    while (end < ops.length) {
      if (ops[end]!.kind !== ' ') {
        end++;
        continue;
      }
      let run = end;
      while (run < ops.length && ops[run]!.kind === ' ') run++;
      if (run === ops.length || run - end > 2 * ctx) {
        end = Math.min(ops.length, end + ctx);
        break;
      }
      end = run;
    }
    const hunk = ops.slice(start, end);
    const aLen = hunk.filter((o) => o.kind !== '+').length;
    const bLen = hunk.filter((o) => o.kind !== '-').length;
    const first = hunk[0]!;
    out.push(`@@ -${range(first.a, aLen)} +${range(first.b, bLen)} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    i = end;
    start = end;
  }
  return `${out.join('\n')}\n`;
}

function range(start: number, len: number): string {
  // diff -u numbers an empty range by the line before it.
  const from = len === 0 ? start : start + 1;
  return len === 1 ? `${from}` : `${from},${len}`;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += '\n\\ No newline at end of file';
  return lines;
}

/**
 * The edit script from lines `a` to lines `b`, by a longest-common-subsequence table: every line of both,
 * in order, each kept, removed or added; removals come before the additions that replace them.
 */
export function lineEdits(a: readonly string[], b: readonly string[]): LineEdit[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: LineEdit[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', line: a[i]!, a: i++, b: j++ });
    // Deletions before insertions, as diff -u prints a changed line.
    else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ kind: '-', line: a[i]!, a: i++, b: j });
    else ops.push({ kind: '+', line: b[j]!, a: i, b: j++ });
  }
  return ops;
}
