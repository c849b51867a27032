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

async function fleetSnapshot(fleet: FleetClient): Promise<FleetSnapshot> {
  const [units, states, machines] = await Promise.all([fleet.listUnits(), fleet.listStates(), fleet.listMachines()]);
  return {
    units: new Map(units.map((u) => [u.name, { desired: u.desiredState, machineID: u.machineID }])),
    states: new Map(states.filter((s) => s.machineID && s.systemdActiveState).map((s) => [stateKey(s.name, s.machineID!), { active: s.systemdActiveState!, sub: s.systemdSubState }])),
    machines: new Map(machines.map((m) => [m.id, m.primaryIP])),
  };
}

/** Polls fleet, diffing each poll against the last. The first poll is the baseline. */
async function pollFleet(o: StreamEventsOptions, fleet: FleetClient, ready: () => void): Promise<void> {
  let prev = await fleetSnapshot(fleet); // a failure here (fleet unreachable) ends the command with its message
  ready();
  let failing = false;
  while (!o.signal.aborted) {
    await sleep(o.pollMs, undefined, { signal: o.signal }).catch(() => undefined); // an abort ends the wait early
    if (o.signal.aborted) break;
    try {
      const next = await fleetSnapshot(fleet);
      if (failing) o.log('<5>fleet answers again');
      failing = false;
      for (const e of diffFleet(prev, next, new Date(), o.include)) o.emit(e);
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
  const change = (unit: string, activeState: string, subState: string | undefined): void => {
    if (!o.include(unit)) return;
    const e = unitStateEvent(unit, sd.machineId, last.get(unit), activeState, subState, new Date());
    last.set(unit, activeState);
    if (e) o.emit(e);
  };
  while (!o.signal.aborted) {
    try {
      await watchUnitStates({
        user: sd.user,
        env: o.env,
        signal: o.signal,
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
