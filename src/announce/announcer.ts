/**
 * The agent's core: registrations × container state → desired etcd keys. It reacts to docker events
 * (a container going down is withdrawn at once, without a round trip to docker; coming up is confirmed by
 * an inspect), and a resync re-reads every registered container after any gap in the event stream.
 */
import type { DockerClient } from '../docker/docker-client.js';
import { isServing, type ContainerEvent, type ContainerInfo } from '../docker/container-info.js';
import type { AnnounceWriter } from '../etcd/announce-writer.js';
import { chooseAddress, type AddressContext } from './choose-address.js';
import { RECORD_VERSION, serializeRecord } from './record.js';
import type { Registration } from './registration.js';
import type { Logger } from '../log/logger.js';

/** Who this host is, for the record. */
export interface HostIdentity {
  readonly host: string;
  readonly machine: string;
}

/** Where one registration stands. */
export type AnnouncementState = 'pending' | 'announced' | 'down' | 'refused';

/** Options for Announcer. */
export interface AnnouncerOptions {
  readonly docker: DockerClient;
  readonly writer: AnnounceWriter;
  readonly log: Logger;
  readonly identity: HostIdentity;
  /** Read on every use: flannel's subnet and the host address may appear after the agent started. */
  readonly addressContext: () => AddressContext;
  /** First wait before a failed inspect is tried again, ms; it doubles up to `retryMaxMs`. Default 250. */
  readonly retryMinMs?: number;
  /** Longest wait between inspect retries, ms. Default 5000. */
  readonly retryMaxMs?: number;
  /**
   * Told whenever a registered container is refused (no usable address: `reason`) or no longer is (undefined):
   * the agent puts it in the container's facts, so load and status name why its announcement never comes.
   */
  readonly onRefusal?: (container: string, reason: string | undefined) => void;
}

/** Actions after which a container no longer serves, whatever inspect would say a moment later. */
function downReason(ev: ContainerEvent): string | undefined {
  switch (ev.action) {
    case 'die': case 'stop': case 'oom': case 'pause': case 'destroy':
      return ev.action;
    case 'kill':
      // `docker kill -s HUP` does not stop a container; only SIGKILL certainly does.
      return ev.signal === '9' || ev.signal === 'SIGKILL' || ev.signal === 'KILL' ? 'kill' : undefined;
    default:
      return ev.action.startsWith('health_status: unhealthy') ? 'unhealthy' : undefined;
  }
}

/** Registrations and the announcements they lead to. */
export class Announcer {
  readonly #o: AnnouncerOptions;
  readonly #regs = new Map<string, Registration>();
  readonly #state = new Map<string, { state: AnnouncementState; facts: string; value: string }>();
  /** Per container: bumped on every change, so a slow inspect cannot undo a newer event. */
  readonly #gen = new Map<string, number>();
  /** Per container whose last inspect failed: the pending retry and the wait before the one after it. */
  readonly #retries = new Map<string, { timer: NodeJS.Timeout; nextMs: number }>();
  #closed = false;

  constructor(options: AnnouncerOptions) {
    this.#o = options;
  }

  /** The registrations, by key. */
  get registrations(): ReadonlyMap<string, Registration> {
    return this.#regs;
  }

  /** State of the registration under `key`. */
  stateOf(key: string): AnnouncementState | undefined {
    return this.#regs.has(key) ? this.#state.get(key)?.state ?? 'pending' : undefined;
  }

  /** Adds or replaces a registration and checks its container now. */
  async register(reg: Registration): Promise<void> {
    const old = this.#regs.get(reg.key);
    this.#regs.set(reg.key, reg);
    if (old && old.container !== reg.container) this.#state.delete(reg.key);
    await this.refresh(reg.container);
  }

  /** Removes a registration and deletes its key. */
  withdraw(key: string): boolean {
    const reg = this.#regs.get(key);
    this.#regs.delete(key);
    this.#state.delete(key);
    this.#o.writer.delete(key, `(withdrawn${reg ? `, container ${reg.container}` : ''})`);
    if (reg && !this.#keysOf(reg.container).length) {
      this.#cancelRetry(reg.container);
      this.#o.onRefusal?.(reg.container, undefined);
    }
    return reg !== undefined;
  }

  /** Stops every pending retry (the agent is stopping). */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#retries.keys()]) this.#cancelRetry(c);
  }

  /** Reacts to one docker event. */
  onEvent(ev: ContainerEvent): void {
    if (ev.action === 'rename') {
      // The event names only the new name: re-read every registered container, old names included.
      void this.resync();
      return;
    }
    if (!this.#keysOf(ev.name).length) return;
    const reason = downReason(ev);
    if (reason) {
      // An event is fresher than any retry of an inspect that failed before it.
      this.#cancelRetry(ev.name);
      this.#bump(ev.name);
      this.#apply(ev.name, undefined, reason);
      return;
    }
    if (ev.action === 'start' || ev.action === 'restart' || ev.action === 'unpause' || ev.action.startsWith('health_status')) {
      void this.refresh(ev.name);
    }
  }

  /** Re-reads every registered container (after start-up and after any gap in the event stream). */
  async resync(): Promise<void> {
    // One `docker ps` settles every stopped container; only running ones need an inspect (health, address).
    let running: Set<string> | undefined;
    try {
      running = new Set(await this.#o.docker.runningNames());
    } catch (e) {
      this.#o.log.warn(`docker ps failed during resync: ${(e as Error).message}; inspecting each container`);
    }
    await Promise.all(this.#containers().map(async (c) => {
      if (!running || running.has(c)) return this.refresh(c);
      this.#bump(c);
      this.#apply(c, undefined, 'not running');
    }));
  }

  /**
   * Inspects one container and updates its keys. A failed inspect (dockerd restarting, overloaded, frozen
   * past the request deadline) keeps what is announced and is tried again with backoff until dockerd
   * answers: the event stream may stay up through such a fault, so no resync would come to the rescue, and
   * a container registered meanwhile would never be announced.
   */
  async refresh(container: string): Promise<void> {
    const gen = this.#bump(container);
    let info: ContainerInfo | undefined;
    try {
      info = await this.#o.docker.inspect(container);
    } catch (e) {
      if (this.#gen.get(container) !== gen || this.#closed || !this.#keysOf(container).length) return;
      const wait = this.#scheduleRetry(container);
      this.#o.log.warn(`cannot inspect container ${container} for ${this.#keysOf(container).join(', ')}: ${(e as Error).message}; trying again in ${wait} ms`);
      return;
    }
    if (this.#gen.get(container) !== gen) return;
    if (this.#retries.has(container)) {
      this.#cancelRetry(container);
      this.#o.log.info(`container ${container} inspected again after docker failed to answer`);
    }
    this.#apply(container, info, info ? undefined : 'no such container');
  }

  /** Arms the next retry of `container`'s inspect; returns its wait, ms. */
  #scheduleRetry(container: string): number {
    const min = this.#o.retryMinMs ?? 250;
    const max = this.#o.retryMaxMs ?? 5000;
    const prev = this.#retries.get(container);
    if (prev) clearTimeout(prev.timer);
    const wait = prev?.nextMs ?? min;
    const timer = setTimeout(() => void this.refresh(container), wait);
    timer.unref();
    this.#retries.set(container, { timer, nextMs: Math.min(wait * 2, max) });
    return wait;
  }

  #cancelRetry(container: string): void {
    const r = this.#retries.get(container);
    if (!r) return;
    clearTimeout(r.timer);
    this.#retries.delete(container);
  }

  #containers(): string[] {
    return [...new Set([...this.#regs.values()].map((r) => r.container))];
  }

  #keysOf(container: string): string[] {
    return [...this.#regs.values()].filter((r) => r.container === container).map((r) => r.key);
  }

  #bump(container: string): number {
    const g = (this.#gen.get(container) ?? 0) + 1;
    this.#gen.set(container, g);
    return g;
  }

  #apply(container: string, info: ContainerInfo | undefined, reason: string | undefined): void {
    // The address is the container's, whatever key announces it: one verdict for all of them.
    const refusal = info && isServing(info) ? chooseAddress(info, this.#o.addressContext()) : undefined;
    this.#o.onRefusal?.(container, refusal && !refusal.ok && this.#keysOf(container).length ? refusal.reason : undefined);
    for (const key of this.#keysOf(container)) {
      const reg = this.#regs.get(key)!;
      const prev = this.#state.get(key);
      if (!info || !isServing(info)) {
        const why = reason ?? (info?.running ? `health ${info.health}` : 'not running');
        if (prev?.state === 'announced') this.#o.log.info(`container ${container} is down (${why}): withdrawing ${key}`);
        else if (prev?.state !== 'down') this.#o.log.info(`container ${container} is not serving (${why}): ${key} waits`);
        this.#state.set(key, { state: 'down', facts: '', value: '' });
        this.#o.writer.delete(key, `(container ${container}: ${why})`);
        continue;
      }
      const addr = chooseAddress(info, this.#o.addressContext());
      if (!addr.ok) {
        if (prev?.state !== 'refused') this.#o.log.err(`refusing to announce ${key}: container ${container}: ${addr.reason}`);
        this.#state.set(key, { state: 'refused', facts: '', value: '' });
        this.#o.writer.delete(key, `(container ${container} refused)`);
        continue;
      }
      const base = {
        ip: addr.ip,
        ...(reg.port === undefined ? {} : { port: reg.port }),
        hostname: reg.hostname,
        host: this.#o.identity.host,
        ...(this.#o.addressContext().hostIP ? { hostIP: this.#o.addressContext().hostIP! } : {}),
        machine: this.#o.identity.machine,
        container,
        version: RECORD_VERSION as typeof RECORD_VERSION,
        ...(reg.aliases ? { aliases: reg.aliases } : {}),
        ...(reg.extra ? { extra: reg.extra } : {}),
      };
      // The time stamp changes on every call: compare without it, so a resync does not rewrite unchanged keys.
      const facts = JSON.stringify([base, reg.ttl]);
      const value = prev?.state === 'announced' && prev.facts === facts ? prev.value : serializeRecord({ ...base, time: new Date().toISOString() });
      this.#state.set(key, { state: 'announced', facts, value });
      this.#o.writer.put(key, value, reg.ttl, `(container ${container} at ${addr.ip}${reg.port ? `:${reg.port}` : ''})`);
    }
  }
}
