/**
 * `fleetkit events`: one stream from three sources, each feeding the same callback —
 * units (fleet's state polled and diffed, or systemd's PropertiesChanged over D-Bus), announcements (etcd
 * watch from a revision, resynced when needed) and machines (fleet's machine list polled and diffed).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3 } from 'etcd3';
import { watchPrefixes } from '../etcd/watch-prefixes.js';
import type { FleetClient } from '../fleet/fleet-client.js';
import { AnnouncementTracker } from './announcement-events.js';
import { diffFleet, stateKey, type FleetSnapshot } from './fleet-diff.js';
import { unitStateEvent, type OpsEvent } from './ops-event.js';
import { prefixDir } from '../etcd/key-layout.js';

/** Options of streamEvents. */
export interface StreamEventsOptions {
  /** fleet to poll; undefined with --systemd. */
  readonly fleet: FleetClient | undefined;
  readonly pollMs: number;
  /** D-Bus instead of fleet for units. */
  readonly systemd: { readonly user: boolean; readonly machineId: string | undefined } | undefined;
  /** etcd and the prefix to watch; undefined: no announcements. */
  readonly etcd: { readonly client: Etcd3; readonly prefix: string } | undefined;
  /** Which units to report (the spec's, or all). */
  readonly include: (unit: string) => boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly emit: (e: OpsEvent) => void;
  /** Warnings about the sources themselves (etcd unreachable…), sd-daemon prefixed. */
  readonly log: (line: string) => void;
  /** Called once every source has its baseline: later changes are reported. */
  readonly onReady?: () => void;
}

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

/** Follows systemd over D-Bus. */
async function followSystemd(o: StreamEventsOptions, sd: NonNullable<StreamEventsOptions['systemd']>, ready: () => void): Promise<void> {
  const { watchUnitStates } = await import('../systemd/watch-unit-states.js');
  const last = new Map<string, string>();
  await watchUnitStates({
    user: sd.user,
    env: o.env,
    signal: o.signal,
    onInitial: (states) => {
      for (const s of states) if (!last.has(s.unit)) last.set(s.unit, s.activeState);
      ready();
    },
    onChange: (c) => {
      if (!o.include(c.unit)) return;
      const e = unitStateEvent(c.unit, sd.machineId, last.get(c.unit), c.activeState, c.subState, new Date());
      last.set(c.unit, c.activeState);
      if (e) o.emit(e);
    },
  });
}

/** Runs every source until `signal` aborts; rejects with the first source that cannot start. */
export async function streamEvents(o: StreamEventsOptions): Promise<void> {
  const tasks: Promise<void>[] = [];
  let pending = 0;
  const ready = (): void => {
    if (--pending === 0) o.onReady?.();
  };
  const once = (): (() => void) => {
    pending++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      ready();
    };
  };
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const inner = { ...o, signal: stop.signal };
  if (o.systemd) tasks.push(followSystemd(inner, o.systemd, once()));
  else if (o.fleet) tasks.push(pollFleet(inner, o.fleet, once()));
  if (o.etcd) {
    const { client, prefix } = o.etcd;
    const tracker = new AnnouncementTracker();
    const r = once();
    tasks.push(watchPrefixes(client, {
      prefixes: [prefixDir(prefix)],
      signal: stop.signal,
      log: o.log,
      onSnapshot: (_rev, kvs) => {
        for (const e of tracker.snapshot(kvs, new Date())) o.emit(e);
        r();
      },
      onChanges: (changes) => {
        for (const e of tracker.changes(changes, new Date())) o.emit(e);
      },
    }));
  }
  try {
    // The first source to fail stops the others: a stream missing a source would mislead.
    await Promise.all(tasks.map((t) => t.catch((e: unknown) => {
      stop.abort();
      throw e;
    })));
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}
