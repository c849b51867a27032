/**
 * The agent's container facts: for every container that carries a `fleetkit.unit` label (whether or not it is
 * announced), what docker's events say of it — starts, exits with their codes, whether the exit followed a
 * requested stop, the restart count and the running configuration's hash — published as one
 * ContainerFactsRecord per unit at `factsKey(prefix, machine, unit)` on the agent's lease for `ttl` (the same
 * lease as announcements of that TTL): the facts outlive a short agent restart and vanish when the host does.
 *
 * - Writes are coalesced per unit: at most one every `minIntervalMs` (250 ms: 4 a second), so a crash loop or
 *   a burst of events costs a bounded number of etcd writes; the last state always lands.
 * - After any gap (docker's event stream reconnected, etcd answered again after an outage, the agent started)
 *   `resync` rebuilds the facts from `docker ps -a` and inspect and writes every unit again, so a fault never
 *   leaves a lie in etcd.
 * - Times come from docker: the event's time stamp (docker stamps a `start`/`die` event as it sets the state's
 *   StartedAt/FinishedAt) and, on resync, inspect's State.StartedAt/FinishedAt.
 */
import type { DockerClient, LabelledContainer } from '../docker/docker-client.js';
import type { ContainerEvent, ContainerInfo } from '../docker/container-info.js';
import type { AnnounceWriter } from '../etcd/announce-writer.js';
import { decodeFacts, encodeFacts, LABEL_CLUSTER, LABEL_CONFIG_HASH, LABEL_UNIT, MAX_REFUSED, type ContainerFactsRecord, type ContainerPhase } from '../etcd/container-facts.js';
import { factsKey } from '../etcd/key-layout.js';
import { validateUnitName } from '../unit/names.js';
import type { Logger } from '../log/logger.js';

/** Options for FactsPublisher. */
export interface FactsPublisherOptions {
  readonly docker: DockerClient;
  readonly writer: AnnounceWriter;
  readonly log: Logger;
  readonly prefix: string;
  readonly machine: string;
  /**
   * Only containers labelled with this cluster: each cluster has its own agent, and two agents on one host
   * publishing the same unit's key under two leases would overwrite each other. Undefined: every container.
   */
  readonly cluster?: string | undefined;
  /** Lease TTL of the facts keys, s. */
  readonly ttl: number;
  /** This machine's records as etcd holds them (a previous agent's), by unit; rejects when etcd does not answer. */
  readonly readPrevious: () => Promise<ReadonlyMap<string, ContainerFactsRecord>>;
  /** Least time between two writes of one unit's facts, ms. Default 250. */
  readonly minIntervalMs?: number;
  /**
   * How long the facts of a unit whose container is gone are kept, ms. Default 10 minutes: far beyond any
   * RestartSec, so a crash loop of `--rm` containers keeps its count, while a destroyed unit's facts do not
   * stay on the host's lease for ever.
   */
  readonly retainAbsentMs?: number;
}

interface UnitState {
  readonly unit: string;
  containerId: string | undefined;
  /** The name of that container (what a sidekick registers, and the announcer's refusals name). */
  containerName: string | undefined;
  phase: ContainerPhase;
  /** A start was seen (or found) for this unit: the next start is a restart. */
  started: boolean;
  restarts: number;
  lastExit: number | undefined;
  stopRequested: boolean | undefined;
  /** A `stop` event came for this container before its `die`. */
  stopFor: string | undefined;
  /** The container whose `die` set lastExit (a `stop` event may follow its `die`). */
  diedId: string | undefined;
  configHash: string | undefined;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** Bumped by every event, so a resync that read docker before the event does not undo it. */
  seq: number;
  lastWrite: number;
  timer: NodeJS.Timeout | undefined;
  /** Deletes the facts once the container has stayed absent for retainAbsentMs. */
  expiry: NodeJS.Timeout | undefined;
}

/** Most distinct bad label values remembered, so each is logged once without growing without end. */
const WARNED_MAX = 1000;

/** Follows labelled containers and keeps their facts in etcd. */
export class FactsPublisher {
  readonly #o: FactsPublisherOptions;
  readonly #units = new Map<string, UnitState>();
  readonly #warned = new Set<string>();
  /** Why the announcer will not announce a container, by container name (`setRefusal`). */
  readonly #refusals = new Map<string, string>();
  #resyncing: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: FactsPublisherOptions) {
    this.#o = options;
  }

  /** Units followed, with the record each would publish now (for tests and `list`). */
  records(): ContainerFactsRecord[] {
    return [...this.#units.values()].map((s) => this.#record(s));
  }

  /** Stops pending writes (the agent is stopping; the writer decides whether the lease is revoked). */
  close(): void {
    this.#closed = true;
    for (const s of this.#units.values()) {
      clearTimeout(s.timer);
      clearTimeout(s.expiry);
    }
  }

  /**
   * The announcer will not announce `container` (`reason`), or no longer refuses it (undefined): written into
   * the facts of the unit that runs it, so load and status can say why its announcement never comes.
   */
  setRefusal(container: string, reason: string | undefined): void {
    if ((reason === undefined ? undefined : reason.slice(0, MAX_REFUSED)) === this.#refusals.get(container)) return;
    if (reason === undefined) this.#refusals.delete(container);
    else this.#refusals.set(container, reason.slice(0, MAX_REFUSED));
    for (const s of this.#units.values()) if (s.containerName === container) this.#touch(s);
  }

  /** Reacts to one docker event of any container; those without a valid unit label are ignored. */
  onEvent(ev: ContainerEvent): void {
    const label = ev.attributes[LABEL_UNIT];
    if (label === undefined || this.#closed) return;
    if (this.#o.cluster !== undefined && ev.attributes[LABEL_CLUSTER] !== this.#o.cluster) return;
    const unit = this.#checkUnit(label, ev.name);
    if (!unit) return;
    const s = this.#state(unit);
    const at = ev.timeNano > 0 ? new Date(Math.floor(ev.timeNano / 1e6)).toISOString() : new Date().toISOString();
    s.seq++;
    switch (ev.action) {
      case 'start':
        if (s.started) s.restarts++;
        s.started = true;
        s.containerId = ev.id;
        s.containerName = ev.name;
        s.phase = 'running';
        s.startedAt = at;
        s.configHash = this.#checkHash(ev.attributes[LABEL_CONFIG_HASH], unit);
        break;
      case 'die':
        // A late `die` of a container this unit has already replaced says nothing of the current one.
        if (s.containerId !== undefined && s.containerId !== ev.id) return;
        s.containerId = ev.id;
        s.phase = 'exited';
        s.lastExit = ev.exitCode;
        s.finishedAt = at;
        s.diedId = ev.id;
        s.stopRequested = s.stopFor === ev.id;
        s.stopFor = undefined;
        break;
      case 'stop':
        // `docker stop` (and systemd's ExecStop, which runs it) logs `stop` once the container is down: docker
        // logs it after the wait, so it may come before or after the `die`. A `kill` alone (`docker kill`, an
        // OOM kill, a crash) is no requested stop, whatever its signal.
        if (s.diedId === ev.id) s.stopRequested = true;
        else s.stopFor = ev.id;
        break;
      case 'destroy':
        if (s.containerId !== ev.id) return;
        s.phase = 'absent';
        break;
      default:
        return;
    }
    this.#touch(s);
  }

  /**
   * Rebuilds every unit's facts from docker (`ps -a`, inspect) and writes them all again. Called after the
   * event stream (re)connects and after an etcd outage; concurrent calls share one run plus one more after it.
   */
  resync(): Promise<void> {
    if (this.#resyncing) {
      this.#again = true;
      return this.#resyncing;
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false;
        await this.#resyncOnce();
      } while (this.#again && !this.#closed);
    };
    this.#resyncing = run().finally(() => {
      this.#resyncing = undefined;
    });
    return this.#resyncing;
  }

  async #resyncOnce(): Promise<void> {
    const seqs = new Map([...this.#units].map(([u, s]) => [u, s.seq]));
    let list: LabelledContainer[];
    try {
      list = await this.#o.docker.listLabelled(LABEL_UNIT);
    } catch (e) {
      this.#o.log.warn(`container facts not resynced: ${(e as Error).message}; trying again after the next docker reconnect`);
      return;
    }
    let previous: ReadonlyMap<string, ContainerFactsRecord> = new Map();
    if (this.#units.size === 0) {
      // At start only: continue a previous agent's counts (an upgrade or restart keeps the crash-loop evidence).
      try {
        previous = await this.#o.readPrevious();
      } catch (e) {
        this.#o.log.warn(`cannot read this host's previous container facts (${(e as Error).message}): restart counts start at 0`);
      }
    }
    // Newest container per unit (creation time; a running one first): the one its unit runs now.
    const current = new Map<string, LabelledContainer>();
    for (const c of list) {
      if (this.#o.cluster !== undefined && c.labels[LABEL_CLUSTER] !== this.#o.cluster) continue;
      const unit = this.#checkUnit(c.labels[LABEL_UNIT] ?? '', c.name);
      if (!unit) continue;
      const other = current.get(unit);
      if (!other || Number(c.running) - Number(other.running) > 0 || (c.running === other.running && c.created > other.created)) current.set(unit, c);
    }
    const infos = new Map<string, ContainerInfo | undefined>();
    await Promise.all([...current].map(async ([unit, c]) => {
      infos.set(unit, await this.#o.docker.inspect(c.id).catch(() => undefined));
    }));
    const units = new Set([...current.keys(), ...this.#units.keys(), ...previous.keys()]);
    for (const unit of units) {
      if (this.#closed) return;
      const known = this.#units.get(unit);
      if (known && known.seq !== (seqs.get(unit) ?? 0)) continue; // an event during the resync is fresher
      const s = known ?? this.#adopt(unit, previous.get(unit));
      const c = current.get(unit);
      const info = infos.get(unit);
      if (!c) {
        // Gone (a `--rm` container between its unit's restarts, or removed): what is left is its last exit.
        s.phase = 'absent';
        this.#touch(s);
        continue;
      }
      // docker's RestartCount stays 0 for `--rm` containers (each restart of the unit is a new container), so a
      // start the agent did not see counts only when the container changed: a lower bound, never a guess.
      if (s.started && s.containerId !== undefined && s.containerId !== c.id) s.restarts++;
      s.started = true;
      s.containerId = c.id;
      s.containerName = c.name;
      s.phase = c.running ? 'running' : 'exited';
      s.configHash = this.#checkHash(c.labels[LABEL_CONFIG_HASH], unit);
      if (info) {
        s.startedAt = info.startedAt ?? s.startedAt;
        if (!c.running) {
          s.lastExit = info.exitCode ?? s.lastExit;
          s.finishedAt = info.finishedAt ?? s.finishedAt;
        }
      }
      if (!c.running && s.diedId !== c.id) {
        // The exit was not seen as an event: whether a stop was asked for is unknown, so it is not claimed.
        s.stopRequested = undefined;
        s.diedId = c.id;
      }
      this.#touch(s, true);
    }
  }

  #adopt(unit: string, prev: ContainerFactsRecord | undefined): UnitState {
    const s = this.#state(unit);
    if (prev) {
      s.started = true;
      s.restarts = prev.restarts;
      s.containerId = prev.containerId;
      s.phase = prev.phase;
      s.lastExit = prev.lastExit;
      s.stopRequested = prev.stopRequested;
      s.diedId = prev.phase === 'running' ? undefined : prev.containerId;
      s.configHash = prev.configHash;
      s.startedAt = prev.startedAt;
      s.finishedAt = prev.finishedAt;
    }
    return s;
  }

  #state(unit: string): UnitState {
    let s = this.#units.get(unit);
    if (!s) {
      s = {
        unit, containerId: undefined, containerName: undefined, phase: 'absent', started: false, restarts: 0, lastExit: undefined, stopRequested: undefined,
        stopFor: undefined, diedId: undefined, configHash: undefined, startedAt: undefined, finishedAt: undefined, seq: 0, lastWrite: 0, timer: undefined,
        expiry: undefined,
      };
      this.#units.set(unit, s);
    }
    return s;
  }

  /** Schedules a write of `s`: at once when none was made within the interval, else at its end (one write for the burst). */
  #touch(s: UnitState, force = false): void {
    if (this.#closed) return;
    clearTimeout(s.expiry);
    s.expiry = undefined;
    if (s.phase === 'absent') {
      const seq = s.seq;
      s.expiry = setTimeout(() => {
        if (this.#closed || s.seq !== seq || s.phase !== 'absent' || this.#units.get(s.unit) !== s) return;
        clearTimeout(s.timer);
        this.#units.delete(s.unit);
        this.#o.writer.delete(factsKey(this.#o.prefix, this.#o.machine, s.unit), '(facts: the container has been gone a while)');
      }, this.#o.retainAbsentMs ?? 600_000);
      s.expiry.unref();
    }
    if (s.timer) return;
    const wait = force ? 0 : Math.max(0, s.lastWrite + (this.#o.minIntervalMs ?? 250) - Date.now());
    s.timer = setTimeout(() => {
      s.timer = undefined;
      s.lastWrite = Date.now();
      const r = this.#record(s);
      this.#o.writer.put(factsKey(this.#o.prefix, this.#o.machine, s.unit), encodeFacts(r), this.#o.ttl,
        `(facts: ${r.phase}, ${r.restarts} restart(s)${r.lastExit === undefined ? '' : `, last exit ${r.lastExit}${r.stopRequested ? ' after a stop' : ''}`})`);
    }, wait);
    s.timer.unref();
  }

  #record(s: UnitState): ContainerFactsRecord {
    // A refusal is about the container that runs: an exited one is announced by nobody anyway.
    const refused = s.phase === 'running' && s.containerName !== undefined ? this.#refusals.get(s.containerName) : undefined;
    return {
      v: 1, unit: s.unit, machine: this.#o.machine, phase: s.phase, restarts: s.restarts, updatedAt: new Date().toISOString(),
      ...(s.containerId !== undefined ? { containerId: s.containerId } : {}),
      ...(s.startedAt !== undefined ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt !== undefined ? { finishedAt: s.finishedAt } : {}),
      ...(s.lastExit !== undefined ? { lastExit: s.lastExit } : {}),
      ...(s.stopRequested !== undefined ? { stopRequested: s.stopRequested } : {}),
      ...(s.configHash !== undefined ? { configHash: s.configHash } : {}),
      ...(refused !== undefined ? { refused } : {}),
    };
  }

  /**
   * The label as a unit name, or undefined (logged once per value) when it is not one: a label is any string a
   * `docker run` was given, and only a valid unit name can become a key and a record readers accept.
   */
  #checkUnit(label: string, container: string): string | undefined {
    let why: string | undefined;
    try {
      validateUnitName(label);
      const probe = { v: 1, unit: label, machine: this.#o.machine, phase: 'absent', restarts: 0, updatedAt: new Date().toISOString() } as const;
      if (!decodeFacts(encodeFacts(probe))) why = 'not a name a facts record can hold';
    } catch (e) {
      why = (e as Error).message;
    }
    if (why === undefined) return label;
    this.#warnOnce(`unit:${label}`, `container ${container}: label ${LABEL_UNIT}=${JSON.stringify(label.slice(0, 200))}${label.length > 200 ? '…' : ''} is not a unit name (${why}); no facts are published for it`);
    return undefined;
  }

  #checkHash(label: string | undefined, unit: string): string | undefined {
    if (label === undefined) return undefined;
    if (/^[A-Za-z0-9:_.-]{1,256}$/.test(label)) return label;
    this.#warnOnce(`hash:${unit}:${label}`, `${unit}: label ${LABEL_CONFIG_HASH}=${JSON.stringify(label.slice(0, 80))} is not a hash; published without one`);
    return undefined;
  }

  #warnOnce(id: string, message: string): void {
    if (this.#warned.has(id)) return;
    if (this.#warned.size >= WARNED_MAX) this.#warned.clear();
    this.#warned.add(id);
    this.#o.log.warn(message);
  }
}
