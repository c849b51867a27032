/**
 * What a doctor check is and how checks run: each under its own deadline (a silent server must not hang
 * doctor), in parallel, a check that needs another's answer (the etcd-based ones) after it, and the results
 * in a fixed order. Pure apart from the timers.
 */

/**
 * A check's verdict. `unknown`: it could not be decided (a server gave no answer, a check it needs failed);
 * like `fail`, it makes doctor exit non-zero, because a host that might be broken is not healthy.
 * `skip`: it does not apply to this cluster (no flannel, no fleet).
 */
export type CheckStatus = 'ok' | 'fail' | 'unknown' | 'skip';

/** What a check reports: one line, plus how to fix it when it is not ok. */
export interface CheckResult {
  readonly status: CheckStatus;
  readonly message: string;
  readonly hint?: string | undefined;
}

/** One check's result as doctor prints it. The JSON form has exactly these fields, in this order. */
export interface CheckReport {
  readonly check: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** null when there is nothing to do. */
  readonly hint: string | null;
  /** How long the check took, ms. */
  readonly ms: number;
}

/** What a running check gets: its deadline as a signal and in ms, and the results of the checks it needs. */
export interface CheckContext {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Results of the checks named in `after`, by name. */
  readonly before: ReadonlyMap<string, CheckResult>;
}

export interface CheckDef {
  /** Stable name, as printed and in --json: `etcd`, `docker-socket`. */
  readonly name: string;
  /** Checks whose results this one needs; it starts, and its deadline starts, when they have ended. */
  readonly after?: readonly string[];
  run(ctx: CheckContext): Promise<CheckResult>;
}

export const ok = (message: string): CheckResult => ({ status: 'ok', message });
export const fail = (message: string, hint?: string): CheckResult => ({ status: 'fail', message, hint });
export const unknown = (message: string, hint?: string): CheckResult => ({ status: 'unknown', message, hint });
export const skip = (message: string): CheckResult => ({ status: 'skip', message });

/** A thrown error as a result: an error that carries a hint (FleetkitError) keeps it. */
export function failFrom(e: unknown, status: 'fail' | 'unknown' = 'fail'): CheckResult {
  const err = e as { message?: string; hint?: string };
  return { status, message: err?.message ?? String(e), hint: err?.hint };
}

/**
 * Runs `checks` (each at most `timeoutMs` from its start, whatever it does) and returns their reports in
 * the order given. `onReport` sees each report as soon as it and every report before it are done, so
 * output keeps its order and still streams.
 */
export async function runChecks(
  checks: readonly CheckDef[],
  timeoutMs: number,
  onReport?: (r: CheckReport) => void,
): Promise<CheckReport[]> {
  const started = new Map<string, Promise<CheckReport>>();
  const start = (def: CheckDef): Promise<CheckReport> => {
    let p = started.get(def.name);
    if (p) return p;
    p = (async () => {
      const before = new Map<string, CheckResult>();
      for (const name of def.after ?? []) {
        const dep = checks.find((c) => c.name === name);
        if (dep) {
          const r = await start(dep);
          before.set(name, { status: r.status, message: r.message, hint: r.hint ?? undefined });
        }
      }
      return runOne(def, timeoutMs, before);
    })();
    started.set(def.name, p);
    return p;
  };
  const all = checks.map(start);
  const out: CheckReport[] = [];
  for (const p of all) {
    const r = await p;
    out.push(r);
    onReport?.(r);
  }
  return out;
}

/** How much longer than its own probes a check may take before the runner ends it. */
const GRACE_MS = 500;

async function runOne(def: CheckDef, timeoutMs: number, before: ReadonlyMap<string, CheckResult>): Promise<CheckReport> {
  const t0 = performance.now();
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // Each probe of a check has `timeoutMs` and says which server was silent; this deadline, a little later,
  // wins even over a check that overruns its own: doctor's answer never waits on a server.
  const deadline = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve(unknown(`no answer within ${formatMs(timeoutMs)}`, 'the server it asks is silent or overloaded; raise --timeout to wait longer'));
    }, timeoutMs + GRACE_MS);
  });
  let result: CheckResult;
  try {
    result = await Promise.race([def.run({ signal: ac.signal, timeoutMs, before }).catch((e: unknown) => failFrom(e)), deadline]);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return { check: def.name, status: result.status, message: result.message, hint: result.hint ?? null, ms: Math.round(performance.now() - t0) };
}

/** `1 s`, `1.5 s`, `250 ms`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(2))} s` : `${Math.round(ms)} ms`;
}
