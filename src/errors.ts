/**
 * fleetkit's error hierarchy. Every error a user can cause or meet carries a stable `code` (asserted by
 * tests), an exit code, and a message that names the file, key or unit it is about plus what to do next.
 * The CLI prints `format()` of these and never a stack trace; anything else is a bug and is printed with
 * its stack so it can be reported.
 */

/** Exit codes used by every command. */
export const ExitCode = {
  ok: 0,
  /** Something failed at run time (a unit failed, a remote system refused, a diff was found by --check). */
  failed: 1,
  /** The input was wrong: bad spec, bad arguments, bad unit file. Nothing was changed. */
  usage: 2,
} as const;

/** Base class: a stable code, an exit code and an optional hint telling the user what to do. */
export class FleetkitError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.hint = options.hint;
  }

  /** The text the CLI prints: the message, then `  hint: …` when there is one. */
  format(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

/** Where in the spec file a problem is: 1-based line and column. */
export interface SourcePosition {
  readonly line: number;
  readonly col: number;
}

/** One problem found in a spec: `FILE:LINE:COL: PATH: MESSAGE` plus a hint. */
export interface SpecProblem {
  readonly file: string;
  readonly pos: SourcePosition | undefined;
  /** Dotted path with indices, e.g. `services.web.ports[0]`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string | undefined;
}

/** Formats one problem the way every tool that reports file positions does. */
export function formatProblem(p: SpecProblem): string {
  const where = p.pos ? `${p.file}:${p.pos.line}:${p.pos.col}` : p.file;
  const head = p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
  return p.hint ? `${head}\n  hint: ${p.hint}` : head;
}

/** Formats a warning about a place in a file: as a problem, with `warning:` before the message. */
export function formatWarning(p: SpecProblem): string {
  return formatProblem({ ...p, message: `warning: ${p.message}` });
}

/**
 * Problems in reading order: by file (in the order files first appear: the spec, then the env files it
 * names), then by line and column.
 */
export function sortProblems(problems: readonly SpecProblem[]): SpecProblem[] {
  const files = [...new Set(problems.map((p) => p.file))];
  return [...problems].sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0));
}

/** A spec (cluster.yaml) that cannot be used. Carries every problem found, so a user fixes all in one pass. */
export class SpecError extends FleetkitError {
  readonly problems: readonly SpecProblem[];
  /** The file's warnings, found in the same run: a user fixing the problems should see them too. */
  readonly warnings: readonly SpecProblem[];

  constructor(problems: readonly SpecProblem[], warnings: readonly SpecProblem[] = []) {
    // In file order, as a reader goes through the file (checks run in another order).
    const sorted = sortProblems(problems);
    const first = sorted[0];
    super('ERR_SPEC', first ? formatProblem(first) : 'invalid spec', { exitCode: ExitCode.usage });
    this.problems = sorted;
    this.warnings = sortProblems(warnings);
  }

  /** Problems and warnings in one list by file and line, each warning marked `warning:`. */
  override format(): string {
    const marked = new Set(this.warnings);
    const lines = sortProblems([...this.problems, ...this.warnings]).map((p) => (marked.has(p) ? formatWarning(p) : formatProblem(p)));
    const w = this.warnings.length;
    if (this.problems.length > 1 || w > 0) lines.push(`${this.problems.length} problem${this.problems.length === 1 ? '' : 's'}${w ? ` and ${w} warning${w === 1 ? '' : 's'}` : ''}; nothing was written.`);
    return lines.join('\n');
  }
}

/** A unit (name, option, line) that systemd or fleet would reject or misread. */
export class UnitError extends FleetkitError {
  readonly unit: string | undefined;

  constructor(code: string, message: string, options: { unit?: string; hint?: string; cause?: unknown } = {}) {
    super(code, options.unit ? `${options.unit}: ${message}` : message, { ...options, exitCode: ExitCode.usage });
    this.unit = options.unit;
  }
}

/** Bad command-line usage. */
export class UsageError extends FleetkitError {
  constructor(message: string, hint?: string) {
    super('ERR_USAGE', message, hint === undefined ? { exitCode: ExitCode.usage } : { hint, exitCode: ExitCode.usage });
  }
}

/** The outside systems fleetkit talks to. */
export type RemoteSystem = 'fleet' | 'systemd' | 'etcd' | 'docker' | 'journal' | 'ssh' | 'agent';

/** An outside system refused, failed or could not be reached. `cause` keeps the original error. */
export class RemoteError extends FleetkitError {
  readonly system: RemoteSystem;

  constructor(
    system: RemoteSystem,
    code: string,
    message: string,
    options: { hint?: string; cause?: unknown; exitCode?: number } = {},
  ) {
    super(code, message, options);
    this.system = system;
  }
}

/** True for errors that carry a user-facing message (printed without a stack trace). */
export function isFleetkitError(e: unknown): e is FleetkitError {
  return e instanceof FleetkitError;
}
