/**
 * The wait of `fleetkit await`: read the dependencies' announcement keys once, then watch them (through
 * src/etcd/watch-prefixes, which never misses a change and rides out etcd restarts) until every one is
 * there, or the deadline passes. Bounded in time by `timeoutMs`; every state change is one log line, so the
 * journal of the unit says what it waits for.
 */
import type { Etcd3 } from 'etcd3';
import { watchPrefixes } from '../etcd/watch-prefixes.js';
import { missingKeys, type AwaitedDependency } from '../cluster/dependency-wait.js';

/** One dependency to wait for; `required: false` ones do not fail the wait (Compose's `required: false`). */
export interface AwaitTarget extends AwaitedDependency {
  readonly required: boolean;
}

export interface AwaitOptions {
  readonly targets: readonly AwaitTarget[];
  readonly timeoutMs: number;
  /** sd-daemon style lines (`<4>…`). */
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
}

/** How the wait ended: `ready` (all there), `timeout` (a required one is missing), `optional-missing`, `aborted`. */
export interface AwaitResult {
  readonly outcome: 'ready' | 'timeout' | 'optional-missing' | 'aborted';
  /** Services still missing at the end. */
  readonly missing: readonly string[];
  readonly waitedMs: number;
}

/** Waits for every target's keys; resolves (never rejects for etcd trouble: that is waited out until the deadline). */
export async function awaitAnnounced(client: Etcd3, o: AwaitOptions): Promise<AwaitResult> {
  const t0 = Date.now();
  const present = new Set<string>();
  // A key and its directory keys are watched as prefixes; exact keys are compared exactly.
  const prefixes = [...new Set(o.targets.flatMap((t) => t.keys))];
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  let logged = false;
  let lastMissing = '';
  const missing = (required: boolean | undefined): AwaitTarget[] => o.targets.filter((t) => (required === undefined || t.required === required) && missingKeys(t, present).length > 0);
  const names = (ts: readonly AwaitTarget[]): string[] => [...new Set(ts.map((t) => t.service))];
  const check = (): void => {
    const now = missing(undefined);
    const text = names(now).join(', ');
    if (now.length === 0) return stop.abort();
    if (!logged || text !== lastMissing) {
      const keys = now.flatMap((t) => missingKeys(t, present).map((k) => (k.endsWith('/') ? `${k}*` : k)));
      o.log(`<5>waiting for ${text}: not announced yet (${keys.join(', ')}); the container starts when ${now.length > 1 ? 'they are' : 'it is'}, at most ${Math.ceil((o.timeoutMs - (Date.now() - t0)) / 1000)} s from now`);
      logged = true;
      lastMissing = text;
    }
  };
  const timer = setTimeout(() => stop.abort(), o.timeoutMs);
  try {
    await watchPrefixes(client, {
      prefixes,
      signal: stop.signal,
      log: o.log,
      onSnapshot: (_rev, kvs) => {
        present.clear();
        for (const kv of kvs) if (kv.value.length > 0) present.add(kv.key);
        check();
      },
      onChanges: (changes) => {
        for (const c of changes) {
          if (c.type === 'put' && c.value.length > 0) present.add(c.key);
          else present.delete(c.key);
        }
        check();
      },
    });
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onAbort);
  }
  const waitedMs = Date.now() - t0;
  const req = names(missing(true));
  const opt = names(missing(false));
  if (o.signal.aborted) return { outcome: 'aborted', missing: [...req, ...opt], waitedMs };
  if (req.length) return { outcome: 'timeout', missing: [...req, ...opt], waitedMs };
  if (opt.length) return { outcome: 'optional-missing', missing: opt, waitedMs };
  return { outcome: 'ready', missing: [], waitedMs };
}
