/**
 * The checks of a rolling replace after an instance's new version started, each bounded by the batch's
 * deadline: the agents report its new container (`rolling-facts.ts`), its announcement was put again, and it is
 * still healthy once those waits are over.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { UnitHost, UnitState } from '../unithost/unit-host.js';
import type { ContainerFactsRecord } from '../etcd/container-facts.js';
import { notReplacedYet, type ReplaceEvidence } from './rolling-facts.js';
import { waitHealthy, type HealthOptions } from './wait-healthy.js';

/** What a unit looked like right after it was judged healthy: the host's state and the containers it runs. */
export interface HealthySnapshot {
  readonly states: ReadonlyMap<string, UnitState>;
  /** Container ids the agents report running, by unit (only with evidence). */
  readonly running: ReadonlyMap<string, readonly string[]>;
}

/** Reads the snapshot `stillHealthy` compares with; what cannot be read is left out. */
export async function healthySnapshot(host: UnitHost, names: readonly string[], evidence: ReplaceEvidence | undefined): Promise<HealthySnapshot> {
  if (!names.length) return { states: new Map(), running: new Map() };
  const [states, facts] = await Promise.all([
    host.states(names).catch(() => new Map<string, UnitState>()),
    evidence ? evidence.facts(names).catch(() => undefined) : undefined,
  ]);
  return { states, running: runningIds(facts) };
}

function runningIds(facts: ReadonlyMap<string, readonly ContainerFactsRecord[]> | undefined): Map<string, string[]> {
  return new Map([...(facts ?? [])].map(([n, rs]) => [n, rs.flatMap((r) => (r.phase === 'running' && r.containerId ? [r.containerId] : []))] as const).filter(([, ids]) => ids.length));
}

/**
 * The units of `names` that are no longer healthy, with why. A stable unit neither restarts nor changes its
 * container, so against `was` (read right after it was judged healthy): one whose container no longer runs
 * (the agents' facts: a container that dies at once is a new one after every restart), one systemd restarted
 * since (its count is not enough alone: a sidekick's start job resets it), or one a final health read fails.
 */
export async function stillHealthy(host: UnitHost, names: readonly string[], was: HealthySnapshot, evidence: ReplaceEvidence | undefined, o: Omit<HealthOptions, 'timeoutMs'>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!names.length) return out;
  const [now, facts] = await Promise.all([
    host.states(names).catch(() => new Map<string, UnitState>()),
    evidence && was.running.size ? evidence.facts(names).catch(() => undefined) : undefined,
  ]);
  const running = runningIds(facts);
  for (const n of names) {
    const ids = was.running.get(n);
    if (facts && ids?.length && !ids.some((id) => running.get(n)?.includes(id))) {
      out.set(n, `crash loop: its container ${ids[0]!.slice(0, 12)} stopped after it was judged healthy (now ${(facts.get(n) ?? []).map((r) => r.phase).join(', ') || 'not reported'})`);
      continue;
    }
    const before = was.states.get(n)?.restarts;
    const after = now.get(n)?.restarts;
    if (before !== undefined && after !== undefined && after > before) out.set(n, `crash loop: restarted ${after - before} time(s) after it was judged healthy`);
  }
  const rest = names.filter((n) => !out.has(n));
  for (const r of rest.length ? await waitHealthy(host, rest, { ...o, timeoutMs: 0 }) : []) if (!r.ok) out.set(r.name, `healthy at first, then: ${r.error ?? 'not healthy'}`);
  return out;
}

/**
 * Waits until the agents report each unit's new container (a unit in `machines`, a global one: on each of
 * those machines); what is still missing at the deadline, by unit.
 */
export async function confirmNew(
  evidence: ReplaceEvidence, names: readonly string[], hashes: ReadonlyMap<string, string>, before: ReadonlyMap<string, ReadonlySet<string>>,
  since: number, deadline: number, signal: AbortSignal, machines: ReadonlyMap<string, readonly string[]> = new Map(),
): Promise<Map<string, string>> {
  let missing = new Map<string, string>();
  for (let open = [...names]; open.length; ) {
    const facts = await evidence.facts(open).catch((e: unknown) => e as Error);
    missing = new Map(open.flatMap((n) => {
      const why = facts instanceof Error ? `its container facts could not be read (${facts.message})` : notReplacedYet(facts.get(n), hashes.get(n)!, before.get(n) ?? new Set(), since, machines.get(n));
      return why ? [[n, why] as const] : [];
    }));
    open = [...missing.keys()];
    if (!open.length || Date.now() >= deadline || signal.aborted) break;
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
  return missing;
}

/** Waits until each `[unit, key]` is announced anew (created after `revision`); the ones still missing at the deadline. */
export async function announcedAgain(evidence: ReplaceEvidence, keys: ReadonlyArray<readonly [string, string]>, revision: bigint | undefined, deadline: number, signal: AbortSignal): Promise<Array<readonly [string, string]>> {
  let open = [...keys];
  while (open.length) {
    const seen = await evidence.announced(open.map(([, k]) => k)).catch(() => new Map<string, bigint>());
    open = open.filter(([, k]) => !(seen.has(k) && (revision === undefined || seen.get(k)! > revision)));
    if (!open.length || Date.now() >= deadline || signal.aborted) break;
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
  return open;
}
