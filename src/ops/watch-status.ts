/**
 * `status --watch`: a fresh status whenever etcd's announcements change (watched, so at once) or fleet's or
 * systemd's view changes (polled, neither offers a watch), emitted only when something other than the
 * clock moved.
 */
import { watchPrefixes } from '../etcd/watch-prefixes.js';
import { buildStatus } from './build-status.js';
import type { StatusSources } from './fetch-status.js';
import type { StatusModel } from './status-model.js';
import { prefixDir } from '../etcd/key-layout.js';

/** Options of watchStatus. */
export interface WatchStatusOptions {
  readonly intervalMs: number;
  readonly signal: AbortSignal;
  /** Called with every changed model; `first` for the first one. */
  readonly onModel: (model: StatusModel, first: boolean) => void;
}

/** What decides "changed": the model without the clock and the ages it drives. */
function fingerprint(m: StatusModel): string {
  return JSON.stringify({ ...m, time: undefined }, (k, v: unknown) => (k === 'ageSeconds' ? undefined : v));
}

/** Runs until `signal` aborts. Read errors are rethrown: the first one ends the watch with its message. */
export async function watchStatus(sources: StatusSources, o: WatchStatusOptions): Promise<void> {
  if (o.signal.aborted) return;
  let last: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let failure: unknown;
  // Stops on the caller's signal, or on the first failed read.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const wake = (): void => stop.abort();
  const done = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  const refresh = (): void => {
    if (running) {
      again = true; // coalesce: one more read after the current one
      return;
    }
    running = (async () => {
      do {
        again = false;
        const model = buildStatus(await sources.read());
        const f = fingerprint(model);
        if (f !== last) {
          o.onModel(model, last === undefined);
          last = f;
        }
      } while (again && !stop.signal.aborted);
    })()
      .catch((e: unknown) => {
        failure = e;
        wake();
      })
      .finally(() => (running = undefined));
  };
  refresh();
  const timer = setInterval(refresh, o.intervalMs);
  const client = await sources.etcd();
  const prefix = sources.options.etcd.prefix;
  const watch = watchPrefixes(client, {
    prefixes: [prefixDir(prefix)],
    signal: stop.signal,
    log: () => undefined,
    onSnapshot: () => refresh(),
    onChanges: () => refresh(),
  });
  try {
    await done;
  } finally {
    clearInterval(timer);
    o.signal.removeEventListener('abort', onAbort);
    await running;
  }
  if (failure) throw failure;
  await watch.catch(() => undefined);
}
