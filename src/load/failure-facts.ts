/**
 * The exit status of a unit that failed at once, from the agents' container facts. fleet reports a failed
 * unit with no exit status, and its journal is on another machine: without this, `load` of a container
 * that exits 3 (Compose's default `restart: "no"`) said only "failed". The agent publishes the exit a
 * moment after systemd's failure reaches fleet, so the facts are read until a container other than the one
 * that ran before the start shows exited; never longer than two seconds, as the failure journal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerFacts, FactsReading } from './wait-healthy.js';

/** An exit the agent saw: its status, and the machine whose agent reported it. */
export interface FailureExit {
  readonly status: number;
  readonly machine: string | undefined;
}

/**
 * The exits of `names` this run caused: facts whose container is not the one of `before` (the facts read
 * before the start jobs), not running, with an exit status. Units without such facts within the bound are
 * left out.
 */
export async function failureExits(
  names: readonly string[], read: (names: readonly string[]) => Promise<FactsReading>, before: ReadonlyMap<string, ContainerFacts>,
  signal: AbortSignal, boundMs = 2000,
): Promise<Map<string, FailureExit>> {
  const out = new Map<string, FailureExit>();
  const deadline = Date.now() + boundMs;
  for (let open = [...names]; open.length && !signal.aborted; ) {
    const facts = (await read(open).catch(() => undefined))?.facts;
    for (const n of open) {
      const f = facts?.get(n);
      if (f && f.running === false && f.lastExit !== undefined && f.containerId !== before.get(n)?.containerId) out.set(n, { status: f.lastExit, machine: f.machine });
    }
    open = open.filter((n) => !out.has(n));
    if (!open.length || Date.now() >= deadline) break;
    await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
  }
  return out;
}
