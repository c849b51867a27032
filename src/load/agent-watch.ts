/**
 * Whether the cluster's agent, which announces the cluster's containers, can still announce a unit's. A
 * container unit healthy by its state waits for its announcement only while the agent on its machine may
 * run: one seen down (inactive or failed, or not on the host at all) on every read for `downMs` will not
 * announce it, and the health wait says so then, naming the agent, instead of "not announced" at its
 * timeout. The grace keeps a restarting agent, caught between its restart job's stop and start, from
 * counting as down. An agent restarted with Restart= is `activating`, a running state: it is waited for.
 */
import { RUNNING_STATES } from '../unit/active-state.js';
import type { UnitHost, UnitState } from '../unithost/unit-host.js';

export class AgentWatch {
  private states = new Map<string, UnitState>();
  /** `agent|machine` → when it was first seen down, in the run of reads that saw it down. */
  private readonly downSince = new Map<string, number>();

  constructor(private readonly host: UnitHost, private readonly downMs = 2000) {}

  /** Reads the agents' states (once per round of the wait); a failed read leaves every agent not down. */
  async read(agents: readonly string[], now: number): Promise<void> {
    this.states = agents.length ? await this.host.states(agents, { history: false }).catch(() => new Map<string, UnitState>()) : new Map();
    for (const key of [...this.downSince.keys()]) {
      const [agent, machine] = key.split('|');
      if (this.whyDown(agent!, machine || undefined) === undefined) this.downSince.delete(key);
    }
    for (const agent of agents) for (const m of this.machinesOf(agent)) if (this.whyDown(agent, m) !== undefined && !this.downSince.has(`${agent}|${m ?? ''}`)) this.downSince.set(`${agent}|${m ?? ''}`, now);
  }

  /** Why `agent` on `machine` (undefined: a host of one machine) will not announce, once seen down for downMs. */
  down(agent: string, machine: string | undefined, now: number): string | undefined {
    const why = this.whyDown(agent, machine);
    const since = this.downSince.get(`${agent}|${machine ?? ''}`);
    if (why === undefined || since === undefined || now - since < this.downMs) return undefined;
    return `${why} (for ${Math.round((now - since) / 1000)}s)`;
  }

  /** The machines an agent's state speaks of: each one fleet reports it on, or the one host. */
  private machinesOf(agent: string): Array<string | undefined> {
    const s = this.states.get(agent);
    return s?.runningOn !== undefined ? [...s.machines] : [undefined];
  }

  private whyDown(agent: string, machine: string | undefined): string | undefined {
    const s = this.states.get(agent);
    if (!s) return undefined;
    if (s.loadState === 'not-found') return `${agent} is not on ${this.host.endpoint}`;
    // A host that reports per machine (fleet): down only where its machine reports it not running.
    if (s.runningOn !== undefined) {
      if (machine === undefined || !s.machines.includes(machine) || s.runningOn.includes(machine)) return undefined;
      return `${agent} does not run on ${machine.slice(0, 8)}`;
    }
    return RUNNING_STATES.has(s.activeState) ? undefined : `${agent} is ${s.activeState}/${s.subState ?? '?'}`;
  }
}
