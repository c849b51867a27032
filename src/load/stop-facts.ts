/**
 * When a stop is really done: fleet says `loaded` (and may publish systemd's end state) seconds before the
 * container has stopped, so a container unit counts as stopped only once the agents' container facts
 * (`etcd/container-facts.ts`, read through `etcd/read-facts.ts`) show its container exited or removed on the
 * machines the host runs it on. A unit that runs no container is judged by the host's state alone.
 *
 * No facts is never "stopped": a container unit that was up and of which no agent reports anything, or an etcd
 * that does not answer, ends `unknown` (not ok: the command exits 1). A unit that was already down before the
 * stop and of which no agent reports a container is left as the host says: an agent drops the facts of a
 * container that has been gone for a while.
 *
 * A `running` record is evidence only while the agent that wrote it keeps it up. A killed agent (SIGKILL, the
 * OOM killer), one stopped without revoking its leases (SIGTERM keeps them for the next agent), a hung one or
 * one cut off from etcd leaves its records standing until their lease expires (the facts TTL, 60 s by
 * default), saying `running` of a container nobody watches any more: waiting on it would wait out the whole
 * timeout and then call a container that may long be down "still running". So a running record whose lease is
 * no longer renewed (read-facts.ts factsKeepers: no lease, or less left than a renewal every TTL/3 leaves,
 * judged on etcd's clock, so no machine's clock and no record's `updatedAt` enters) makes its unit `unknown`
 * at once, saying so; that is at most TTL/3 + RENEWAL_MARGIN_S after the agent's last renewal (25 s with the
 * default TTL), and never a guess that it stopped. An agent restarted within that margin takes the lease over
 * and writes what docker says now, so a restart is no unknown. An agent that keeps its lease but no longer
 * follows docker cannot be told from one that has nothing new to say: that case still waits.
 *
 * The same wait serves `unload` and `destroy` (a unit gone from the host may keep its container for up to its
 * stop timeout): the agent follows containers, not units, so it writes `exited` (and `absent` once docker
 * removed it) under the unit's key whether or not the unit still exists, and drops that record only after
 * the container has been gone 10 minutes (facts-publisher.ts). A record gone while a unit that was up is
 * waited on is therefore no evidence that its container stopped (the agent's lease expired, or its facts were
 * deleted): unknown, as with no facts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LABEL_UNIT, type ContainerFactsRecord } from '../etcd/container-facts.js';
import { KeptRecords, type KeepersCheck } from './kept-records.js';
import type { UnitHost, UnitResult } from '../unithost/unit-host.js';

/** The container facts of units, by unit: one record per machine whose agent published one. */
export type FactsReader = (units: readonly string[]) => Promise<ReadonlyMap<string, readonly ContainerFactsRecord[]>>;

/** What a stop needs to judge its container units from the agents' facts. */
export interface StopFacts {
  /** Whether the unit runs a container that its host's agent follows. */
  runsContainer(name: string): boolean;
  readonly read: FactsReader;
  /** Where the facts are read (`etcd at http://…, prefix /services`), for messages. */
  readonly where: string;
  /** Whether each record is still kept up by its agent (read-facts.ts factsKeepers), in the order given. */
  readonly keepers?: KeepersCheck;
}

/** One unit whose stop was asked for. `wasUp`: the host reported it up (or did not say) before the stop. */
export interface StoppedUnit {
  readonly name: string;
  readonly wasUp: boolean;
}

const LABEL = new RegExp(`\\s--label[= ]${LABEL_UNIT.replace('.', '\\.')}=`);

/** Whether a definition's lines (`[Service] ExecStart=…` or a unit file's `ExecStart=…`) label a container for the agent. */
export function labelsContainer(lines: readonly string[]): boolean {
  return lines.some((l) => /^(\[Service\] )?ExecStart=/.test(l) && LABEL.test(l));
}

/** Polls between reads of the facts. */
const POLL_MS = 250;
/** How long a unit that was up may go without any facts before it is called unknown (an agent writes within 250 ms). */
const NO_FACTS_GRACE_MS = 3000;
/** Failed reads of etcd in a row before every unit still open is unknown. */
const READ_ATTEMPTS = 3;

/**
 * Waits, up to `timeoutMs`, until the facts show the container of each of `units` (those that run one) down
 * on the machines `host` runs it on. Returns a result for each container unit that did not end stopped; the
 * others are left as the host's own wait judged them.
 */
export async function waitContainersDown(host: UnitHost, units: readonly StoppedUnit[], facts: StopFacts, o: { readonly timeoutMs: number; readonly signal: AbortSignal }): Promise<UnitResult[]> {
  const open = new Map(units.filter((u) => facts.runsContainer(u.name)).map((u) => [u.name, u]));
  if (!open.size) return [];
  const started = Date.now();
  const out: UnitResult[] = [];
  const why = new Map<string, string>();
  /** The last word on each running record's agent. */
  const keepers = facts.keepers ? new KeptRecords(facts.keepers) : undefined;
  let failures = 0;
  for (;;) {
    const names = [...open.keys()];
    let records: ReadonlyMap<string, readonly ContainerFactsRecord[]> | undefined;
    try {
      records = await facts.read(names);
      failures = 0;
    } catch (e) {
      if (++failures >= READ_ATTEMPTS) {
        const text = `no container facts could be read from ${facts.where} (${(e as Error)?.message ?? String(e)}): whether its container stopped is unknown`;
        for (const n of names) out.push({ name: n, ok: false, state: 'unknown', error: text });
        return out;
      }
    }
    if (records) {
      const machines = await host.states(names, { history: false }).then((m) => new Map([...m].map(([k, s]) => [k, s.machines])), () => new Map<string, readonly string[]>());
      // The record of the machine the host runs it on; a host that names none (systemd, a fleet whose state
      // of that machine expired) leaves every agent's word.
      const mineOf = new Map(names.map((n) => {
        const on = machines.get(n) ?? [];
        const all = records!.get(n) ?? [];
        return [n, { on, mine: on.length ? all.filter((r) => on.includes(r.machine)) : all }] as const;
      }));
      await keepers?.refresh([...mineOf.values()].flatMap((x) => x.mine.filter((r) => r.phase === 'running')));
      for (const n of names) {
        const { on, mine } = mineOf.get(n)!;
        const running = mine.filter((r) => r.phase === 'running');
        const kept = running.filter((r) => keepers?.kept(r) ?? true);
        if (kept.length) {
          why.set(n, `its container still runs: the agent on ${kept.map((r) => r.machine.slice(0, 8)).join(', ')} reported it running at ${kept[0]!.updatedAt}`);
          continue;
        }
        if (running.length) {
          const r = running[0]!;
          const k = keepers!.of(r)!;
          out.push({ name: n, ok: false, state: 'unknown', error: `the agent on ${r.machine.slice(0, 8)} last reported its container running (at ${r.updatedAt}) and no longer keeps that record up: ${k.why} (the agent was killed or stopped, is hung, or cannot reach ${facts.where}): whether its container stopped is unknown` });
          open.delete(n);
          continue;
        }
        if (mine.length || !open.get(n)!.wasUp) {
          open.delete(n);
          continue;
        }
        why.set(n, `no agent reports its container${on.length ? ` on ${on.map((m) => m.slice(0, 8)).join(', ')}` : ''} in ${facts.where} (is the cluster's fleetkit agent running there?): whether it stopped is unknown`);
        if (Date.now() - started >= Math.min(NO_FACTS_GRACE_MS, o.timeoutMs)) {
          out.push({ name: n, ok: false, state: 'unknown', error: why.get(n)! });
          open.delete(n);
        }
      }
    }
    if (!open.size) return out;
    const left = o.timeoutMs - (Date.now() - started);
    if (left <= 0 || o.signal.aborted) {
      const secs = `${Math.round(o.timeoutMs / 100) / 10} s`;
      for (const n of open.keys()) {
        out.push(o.signal.aborted
          ? { name: n, ok: false, state: 'interrupted', error: 'interrupted while waiting for its container to stop' }
          : { name: n, ok: false, state: 'timeout', error: `${why.get(n) ?? 'its container was not seen to stop'} (after ${secs})` });
      }
      return out;
    }
    await sleep(Math.min(POLL_MS, left), undefined, { signal: o.signal }).catch(() => undefined);
  }
}
