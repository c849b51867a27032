/**
 * `fleetkit events`: one stream from three sources, each feeding the same callback —
 * units (fleet's state polled and diffed, or systemd's PropertiesChanged over D-Bus), announcements (etcd
 * watch from a revision, resynced when needed) and machines (fleet's machine list polled and diffed).
 *
 * Reachability: every source must have its starting point within `timeoutMs`, or the stream fails with one
 * line naming the endpoint, why, and what to check (a silent server must not hang the command). A source
 * lost later is said once and reconnected, with a bounded backoff, and the changes missed meanwhile are
 * reported when it is back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3 } from 'etcd3';
import type { RemoteSystem } from '../errors.js';
import { watchPrefixes } from '../etcd/watch-prefixes.js';
import { isFactsKey } from '../etcd/key-layout.js';
import { readFile } from 'node:fs/promises';
import { clusterOf, clusterOfText } from '../unit/cluster-marker.js';
import type { FleetClient } from '../fleet/fleet-client.js';
import { AnnouncementTracker } from './announcement-events.js';
import { diffFleet, stateKey, type FleetSnapshot } from './fleet-diff.js';
import { unitStateEvent, type OpsEvent } from './ops-event.js';
import { briefReason, startFailure, unreachable, type SourceEndpoint } from './unreachable.js';

/** Options of streamEvents. */
export interface StreamEventsOptions {
  /** fleet to poll; undefined with --systemd. */
  readonly fleet: (SourceEndpoint & { readonly client: FleetClient }) | undefined;
  readonly pollMs: number;
  /** D-Bus instead of fleet for units. */
  readonly systemd: (SourceEndpoint & { readonly user: boolean; readonly machineId: string | undefined }) | undefined;
  /** etcd and the prefix to watch; undefined: no announcements. */
  readonly etcd: (SourceEndpoint & { readonly client: Etcd3; readonly prefix: string }) | undefined;
  /** Every source must be ready (have its baseline) within this long … */
  readonly timeoutMs: number;
  /** … counted from here (Date.now() when the command started; default: now). */
  readonly startedAt?: number;
  /** Which units to report (the spec's, or all). */
  readonly include: (unit: string) => boolean;
  /**
   * The spec's cluster: a unit not in `include` is reported too when it carries this cluster's mark
   * (`[X-Fleetkit] Cluster=`), so a service added to the spec and loaded after events started is followed.
   */
  readonly cluster?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly emit: (e: OpsEvent) => void;
  /** Warnings about the sources themselves (etcd lost…), sd-daemon prefixed. */
  readonly log: (line: string) => void;
  /** Called once every source has its baseline: later changes are reported. */
  readonly onReady?: () => void;
}

/** Backoff between reconnects of a lost source: doubling from 250 ms, never more than 5 s apart. */
const RECONNECT_MS = { first: 250, max: 5000 } as const;

async function fleetSnapshot(fleet: FleetClient, cluster: string | undefined): Promise<FleetSnapshot & { readonly marked: ReadonlySet<string> }> {
  const [units, states, machines] = await Promise.all([fleet.listUnits(), fleet.listStates(), fleet.listMachines()]);
  return {
    marked: new Set(cluster === undefined ? [] : units.filter((u) => clusterOf(u) === cluster).map((u) => u.name)),
    units: new Map(units.map((u) => [u.name, { desired: u.desiredState, machineID: u.machineID }])),
    states: new Map(states.filter((s) => s.machineID && s.systemdActiveState).map((s) => [stateKey(s.name, s.machineID!), { active: s.systemdActiveState!, sub: s.systemdSubState }])),
    machines: new Map(machines.map((m) => [m.id, m.primaryIP])),
  };
}

/** Polls fleet, diffing each poll against the last. The first poll is the baseline. */
async function pollFleet(o: StreamEventsOptions, fleet: FleetClient, ready: () => void): Promise<void> {
  let prev = await fleetSnapshot(fleet, o.cluster); // a failure here (fleet unreachable) ends the command with its message
  ready();
  let failing = false;
  while (!o.signal.aborted) {
    await sleep(o.pollMs, undefined, { signal: o.signal }).catch(() => undefined); // an abort ends the wait early
    if (o.signal.aborted) break;
    try {
      const next = await fleetSnapshot(fleet, o.cluster);
      if (failing) o.log('<5>fleet answers again');
      failing = false;
      // The cluster's units as either poll lists them: one destroyed since the last is still reported.
      const include = o.cluster === undefined ? o.include : (u: string): boolean => o.include(u) || prev.marked.has(u) || next.marked.has(u);
      for (const e of diffFleet(prev, next, new Date(), include)) o.emit(e);
      prev = next;
    } catch (e) {
      if (!failing) o.log(`<4>${(e as Error).message}; retrying every ${o.pollMs} ms`);
      failing = true;
    }
  }
}

/** Follows systemd over D-Bus; a lost bus is reconnected, and what changed meanwhile reported. */
async function followSystemd(o: StreamEventsOptions, sd: NonNullable<StreamEventsOptions['systemd']>, ready: () => void): Promise<void> {
  const { watchUnitStates } = await import('../systemd/watch-unit-states.js');
  const last = new Map<string, string>();
  let primed = false;
  let lost = false;
  let delay: number = RECONNECT_MS.first;
  let fragmentPath: ((unit: string) => Promise<string | undefined>) | undefined;
  // A unit outside the spec is the cluster's when the file it was loaded from carries the cluster's mark:
  // asked once per unit. Its changes wait, in order, for that answer.
  const marked = new Map<string, Promise<boolean>>();
  const queue = new Map<string, Promise<void>>();
  const isMarked = (unit: string): Promise<boolean> => {
    let m = marked.get(unit);
    if (!m) {
      const read = fragmentPath;
      m = read === undefined ? Promise.resolve(false) : read(unit).then(async (path) => (path === undefined ? undefined : clusterOfText(await readFile(path, 'utf8'))) === o.cluster, () => false);
      marked.set(unit, m);
    }
    return m;
  };
  const emitChange = (unit: string, activeState: string, subState: string | undefined, at = new Date()): void => {
    const e = unitStateEvent(unit, sd.machineId, last.get(unit), activeState, subState, at);
    last.set(unit, activeState);
    if (e) o.emit(e);
  };
  const change = (unit: string, activeState: string, subState: string | undefined): void => {
    if (o.include(unit)) return emitChange(unit, activeState, subState);
    if (o.cluster === undefined) return;
    const at = new Date();
    const next = (queue.get(unit) ?? Promise.resolve()).then(async () => {
      if (await isMarked(unit)) emitChange(unit, activeState, subState, at);
    });
    queue.set(unit, next);
  };
  while (!o.signal.aborted) {
    try {
      await watchUnitStates({
        user: sd.user,
        env: o.env,
        signal: o.signal,
        onBus: (read) => {
          fragmentPath = read;
          // A unit's file may have changed while the bus was lost: asked again.
          marked.clear();
        },
        onInitial: (states) => {
          if (primed) {
            o.log(`<5>the bus at ${sd.endpoint} answers again`);
            for (const s of states) if (last.get(s.unit) !== s.activeState) change(s.unit, s.activeState, s.subState);
          } else {
            for (const s of states) if (!last.has(s.unit)) last.set(s.unit, s.activeState);
            primed = true;
            ready();
          }
          lost = false;
          delay = RECONNECT_MS.first;
        },
        onChange: (c) => change(c.unit, c.activeState, c.subState),
      });
      return; // the signal ended it
    } catch (e) {
      if (!primed) throw e;
      if (!lost) o.log(`<4>${(e as Error).message}; reconnecting`);
      lost = true;
      await sleep(delay, undefined, { signal: o.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, RECONNECT_MS.max);
    }
  }
}

/** Runs every source until `signal` aborts; rejects with the first source that cannot start. */
export async function streamEvents(o: StreamEventsOptions): Promise<void> {
  interface Source { readonly system: RemoteSystem; readonly at: SourceEndpoint; ready: boolean; lastLog?: string }
  const sources: Source[] = [];
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  let pending = 0;
  const add = (system: RemoteSystem, at: SourceEndpoint): { source: Source; ready: () => void } => {
    const source: Source = { system, at, ready: false };
    sources.push(source);
    pending++;
    return {
      source,
      ready: () => {
        if (source.ready) return;
        source.ready = true;
        if (--pending === 0) o.onReady?.();
      },
    };
  };
  // Before its start a source's own warnings would be a second line: the failure line carries the last one.
  const logFor = (s: Source) => (line: string): void => {
    if (s.ready) o.log(line);
    else s.lastLog = briefReason(line.replace(/^<\d>/, ''), o.timeoutMs);
  };
  const inner = { ...o, signal: stop.signal };
  const tasks: { source: Source; run: Promise<void> }[] = [];
  if (o.systemd) {
    const { source, ready } = add('systemd', o.systemd);
    tasks.push({ source, run: followSystemd({ ...inner, log: logFor(source) }, o.systemd, ready) });
  } else if (o.fleet) {
    const { source, ready } = add('fleet', o.fleet);
    tasks.push({ source, run: pollFleet({ ...inner, log: logFor(source) }, o.fleet.client, ready) });
  }
  if (o.etcd) {
    const { client, prefix } = o.etcd;
    const tracker = new AnnouncementTracker();
    // The agents' container facts live under the same prefix (`_facts/`): they are no announcements.
    const announced = <T extends { readonly key: string }>(kvs: readonly T[]): T[] => kvs.filter((kv) => !isFactsKey(prefix, kv.key));
    const { source, ready } = add('etcd', o.etcd);
    tasks.push({
      source,
      run: watchPrefixes(client, {
        prefixes: [prefix === '/' ? '/' : `${prefix}/`],
        signal: stop.signal,
        log: logFor(source),
        onSnapshot: (_rev, kvs) => {
          for (const e of tracker.snapshot(announced(kvs), new Date())) o.emit(e);
          ready();
        },
        onChanges: (changes) => {
          for (const e of tracker.changes(announced(changes), new Date())) o.emit(e);
        },
      }),
    });
  }

  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const s = sources.find((x) => !x.ready);
      const why = `no answer within ${o.timeoutMs} ms`;
      if (s) reject(unreachable(s.system, s.at, s.lastLog && s.lastLog !== why ? `${why} (${s.lastLog})` : why));
    }, Math.max(0, (o.startedAt ?? Date.now()) + o.timeoutMs - Date.now()));
  });
  try {
    // The first source to fail stops the others: a stream missing a source would mislead.
    await Promise.race([
      late,
      Promise.all(tasks.map(({ source, run }) => run.catch((e: unknown) => {
        throw source.ready ? e : unreachable(source.system, source.at, startFailure(e, o.timeoutMs));
      }))),
    ]);
  } finally {
    clearTimeout(timer);
    // Sources stop on the signal; a call in flight ends when the caller closes its client, which is not
    // waited for here: a source stuck on a silent server must not hold the command past its timeout.
    stop.abort();
    o.signal.removeEventListener('abort', onAbort);
  }
}
