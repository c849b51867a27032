/**
 * `startAgent`: the per-host announce agent as a library (the CLI, `announce --standalone` and the tests
 * all start it this way). One etcd connection, one docker event stream, one lease per TTL for every
 * announcement on the host.
 */
import type { Server } from 'node:net';
import { join } from 'node:path';
import { connectEtcd, etcdError, type EtcdOptions } from '../etcd/connect.js';
import { AnnounceWriter } from '../etcd/announce-writer.js';
import type { EtcdRequestCounts } from '../etcd/lease-pool.js';
import { connectDocker } from '../docker/docker-client.js';
import { followContainerEvents } from '../docker/follow-events.js';
import { RemoteError } from '../errors.js';
import { AGENT_SOCKET, type AgentReply } from './agent-protocol.js';
import { errorReply, listenAgentSocket } from './agent-server.js';
import { Announcer, type AnnouncementState } from './announcer.js';
import { loadFlannelEnv, type FlannelEnv } from '../flannel/subnet-env.js';
import { lookupFlannelPublicIP } from '../flannel/public-ip.js';
import { loadHostIdentity } from './host-identity.js';
import type { Logger } from '../log/logger.js';
import { checkKey, validateRegistration, type Registration } from './registration.js';
import { ensureStateDir, loadLeases, loadRegistry, writeLeases, writeRegistry } from './registry-file.js';
import { leaseFactory } from '../etcd/lease-takeover.js';
import { prefixDir } from '../etcd/key-layout.js';
import { readContainerFacts } from '../etcd/read-facts.js';
import { FactsPublisher } from './facts-publisher.js';

/** Everything the agent needs. */
export interface AgentOptions {
  readonly etcd: EtcdOptions;
  /** Keys must lie under this prefix (`--etcd-prefix`, default `/services`). */
  readonly prefix: string;
  /** The cluster this agent serves (`--cluster`): container facts only for its containers. */
  readonly cluster?: string | undefined;
  /** Registry and socket live here; undefined for `announce --standalone` (nothing persisted, no socket). */
  readonly stateDir?: string | undefined;
  /** Default `unix:///var/run/docker.sock`. */
  readonly dockerHost?: string | undefined;
  /** Longest wait for one docker request, ms (docker-client's default, 10 s); tests lower it. */
  readonly dockerTimeoutMs?: number | undefined;
  /** First and longest wait between retries of a failed inspect, ms (the announcer's defaults); tests lower them. */
  readonly dockerRetryMs?: { readonly min: number; readonly max: number } | undefined;
  /** Default `/run/flannel/subnet.env`; a missing file means flannel is not in use. */
  readonly flannelEnv?: string | undefined;
  /** flannel's etcd prefix (`flannel.prefix`); default flannel's own, /coreos.com/network. */
  readonly flannelPrefix?: string | undefined;
  /** The host's address, for host-network containers (else flannel's PublicIP). */
  readonly ip?: string | undefined;
  readonly machineId?: string | undefined;
  readonly log: Logger;
  /** Smallest TTL accepted, s. Default 5; tests lower it. */
  readonly minTtl?: number | undefined;
  /** How long a registration waits for its container to be created, ms. Default 10000. */
  readonly containerWaitMs?: number | undefined;
  /** Registrations to hold from the start (standalone). */
  readonly registrations?: readonly Registration[] | undefined;
  /**
   * Lease TTL of the container facts, s (`--facts-ttl`). Default 60, the default announcement TTL, so facts
   * share the announcements' lease. Facts are published only by an agent with a state dir (not standalone).
   */
  readonly factsTtl?: number | undefined;
  /** Least time between two writes of one unit's facts, ms (the publisher's default, 250); tests may change it. */
  readonly factsIntervalMs?: number | undefined;
  /** How long facts of a unit whose container is gone are kept, ms (the publisher's default, 10 min). */
  readonly factsRetainMs?: number | undefined;
  /** Fail at start when etcd does not answer (standalone); the agent instead logs and keeps retrying. */
  readonly requireEtcd?: boolean | undefined;
}

/** A running agent. */
export interface Agent {
  readonly registry: ReadonlyMap<string, Registration>;
  readonly socketPath: string | undefined;
  /** Client-side counts of etcd requests (for the bench). */
  readonly counts: EtcdRequestCounts;
  /** Validates and adds a registration; resolves once it is persisted. */
  register(raw: unknown): Promise<AnnouncementState>;
  /** Removes a registration and deletes its key; false when it was not registered. */
  withdraw(key: string): Promise<boolean>;
  stateOf(key: string): AnnouncementState | undefined;
  /** Resolves when every desired change has reached etcd. */
  settled(): Promise<void>;
  /**
   * Stops; with `revoke` (default) every lease is revoked first so all keys vanish at once. Without, the leases
   * stay (recorded in the state dir) for the next agent process to take over; unclaimed, they expire.
   */
  close(options?: { readonly revoke?: boolean }): Promise<void>;
}

/** Starts the agent: recovers the registry, opens the socket, follows docker, announces. */
export async function startAgent(o: AgentOptions): Promise<Agent> {
  const { log } = o;
  const limits = { prefix: o.prefix, minTtl: o.minTtl ?? 5 };
  // Before any connection is opened: a failure here leaves nothing running.
  if (o.stateDir) await ensureStateDir(o.stateDir);
  const identity = await loadHostIdentity(o.machineId);
  const docker = await connectDocker({ host: o.dockerHost, requestTimeoutMs: o.dockerTimeoutMs });
  const client = await connectEtcd(o.etcd);
  const where = o.etcd.endpoints.join(', ');
  try {
    await client.get(prefixDir(o.prefix)).string();
  } catch (e) {
    if (o.requireEtcd) {
      client.close();
      throw etcdError(e, 'first read', o.etcd.endpoints);
    }
    log.err(`etcd does not answer (${where}): ${(e as Error).message}; registrations are accepted and announced once it does`);
  }
  // Facts are rebuilt from docker once etcd answers again after an outage: etcd may have lost or kept stale keys.
  let facts: FactsPublisher | undefined;
  // The leases of the agent process before this one (an upgrade, a restart, a crash within the TTL): taken over
  // while etcd still holds them, so their keys never go away. Each change is written in order.
  let leaseFile: Promise<void> = Promise.resolve();
  const saveLeases = (leases: ReadonlyMap<number, string>): void => {
    if (!o.stateDir) return;
    const dir = o.stateDir;
    leaseFile = leaseFile.then(() => writeLeases(dir, leases)).catch((e: unknown) => log.warn(`cannot record the agent's leases in ${dir}: ${(e as Error).message}`));
  };
  const handover = o.stateDir ? { factory: await leaseFactory(client), takeOver: await loadLeases(o.stateDir, log), onChange: saveLeases } : undefined;
  const writer = new AnnounceWriter({ client, log, onRecovered: () => void facts?.resync(), ...(handover ? { handover } : {}) });
  const flannelPath = o.flannelEnv ?? '/run/flannel/subnet.env';
  let flannel: FlannelEnv | undefined;
  let hostIP = o.ip;
  const refreshFlannel = async (): Promise<void> => {
    try {
      const next = await loadFlannelEnv(flannelPath);
      if (next?.subnet !== flannel?.subnet) log.info(next ? `flannel subnet ${next.subnet} (network ${next.network}) from ${flannelPath}` : `no ${flannelPath}: flannel not in use`);
      flannel = next;
      if (!hostIP && flannel) hostIP = await lookupFlannelPublicIP(client, flannel, o.flannelPrefix).catch(() => undefined);
    } catch (e) {
      log.err(`${(e as Error).message}; container addresses are not checked against flannel until it is fixed`);
    }
  };
  await refreshFlannel();
  const announcer = new Announcer({
    docker, writer, log, identity, addressContext: () => ({ flannel, hostIP }),
    ...(o.dockerRetryMs ? { retryMinMs: o.dockerRetryMs.min, retryMaxMs: o.dockerRetryMs.max } : {}),
    onRefusal: (container, reason) => facts?.setRefusal(container, reason),
  });

  if (o.stateDir) {
    const machine = identity.machine;
    facts = new FactsPublisher({
      docker, writer, log, prefix: o.prefix, machine, cluster: o.cluster, ttl: o.factsTtl ?? 60,
      ...(o.factsIntervalMs !== undefined ? { minIntervalMs: o.factsIntervalMs } : {}),
      ...(o.factsRetainMs !== undefined ? { retainAbsentMs: o.factsRetainMs } : {}),
      readPrevious: async () => new Map([...await readContainerFacts(client, o.prefix, undefined, { machine })].map(([u, rs]) => [u, rs[0]!])),
    });
  }

  // Group commit: changes that arrive while a write is under way share the next write, so 500 sidekicks
  // registering at boot cost a handful of fsyncs, not 500 rewrites of a growing file.
  let persist: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  const save = (): Promise<void> => {
    if (!o.stateDir) return Promise.resolve();
    const dir = o.stateDir;
    queued ??= persist.catch(() => undefined).then(() => {
      queued = undefined;
      persist = writeRegistry(dir, [...announcer.registrations.values()]);
      return persist;
    });
    return queued;
  };

  for (const reg of [...(o.stateDir ? await loadRegistry(o.stateDir, limits, log) : []), ...(o.registrations ?? [])]) {
    void announcer.register(reg);
  }
  if (announcer.registrations.size) log.info(`holding ${announcer.registrations.size} registration(s) from ${o.stateDir ? join(o.stateDir, 'registry.json') : 'the command line'}`);

  const waitForContainer = async (name: string): Promise<void> => {
    const deadline = Date.now() + (o.containerWaitMs ?? 10_000);
    for (;;) {
      try {
        if (await docker.inspect(name)) return;
      } catch (e) {
        log.warn(`cannot check container ${name}: ${(e as Error).message}; accepting the registration`);
        return;
      }
      // The container unit's `docker run` may not have created it yet when the sidekick starts.
      if (Date.now() >= deadline) {
        throw new RemoteError('docker', 'ERR_NO_SUCH_CONTAINER', `no container named ${name} on this host (${docker.host})`, {
          hint: 'check --container against `docker ps -a`; the sidekick must run on the container\'s machine (MachineOf=)',
          exitCode: 2,
        });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const register = async (raw: unknown, wait = true): Promise<AnnouncementState> => {
    const reg = validateRegistration(raw, limits);
    if (!wait) {
      // The sidekick does not wait: a container still starting (or pulling its image) is the agent's to
      // follow, through docker events, like a registration recovered from the registry file.
      await refreshFlannel();
      void announcer.register(reg).catch((e: unknown) => log.warn(`${reg.key}: ${(e as Error).message}`));
      await save();
      log.info(`accepted ${reg.key} for container ${reg.container} (TTL ${reg.ttl}s); announced once it runs`);
      return announcer.stateOf(reg.key) ?? 'pending';
    }
    await waitForContainer(reg.container);
    await refreshFlannel();
    const done = announcer.register(reg);
    await save();
    log.info(`registered ${reg.key} for container ${reg.container} (TTL ${reg.ttl}s)`);
    await done;
    return announcer.stateOf(reg.key) ?? 'pending';
  };
  const withdraw = async (key: string): Promise<boolean> => {
    checkKey(key, o.prefix);
    const known = announcer.withdraw(key);
    await save();
    log.info(`withdrew registration ${key}${known ? '' : ' (was not registered; key deleted anyway)'}`);
    return known;
  };

  let server: Server | undefined;
  const socketPath = o.stateDir ? join(o.stateDir, AGENT_SOCKET) : undefined;
  if (socketPath) {
    server = await listenAgentSocket(socketPath, async (req): Promise<AgentReply> => {
      const r = (req ?? {}) as { op?: unknown; registration?: unknown; key?: unknown; wait?: unknown };
      try {
        if (r.op === 'register') return { ok: true, state: await register(r.registration, r.wait !== false) };
        if (r.op === 'withdraw') return { ok: true, known: await withdraw(String(r.key ?? '')) };
        if (r.op === 'list') {
          return { ok: true, registrations: [...announcer.registrations.values()].map((g) => ({ ...g, state: announcer.stateOf(g.key) })) };
        }
        return { ok: false, code: 'ERR_REQUEST', message: `unknown op ${JSON.stringify(r.op)}`, hint: 'ops: register, withdraw, list' };
      } catch (e) {
        if (r.op === 'register') log.warn(`refused a registration: ${(e as Error).message}`);
        return errorReply(e);
      }
    });
    log.info(`listening on ${socketPath}`);
  }

  const stop = new AbortController();
  const following = followContainerEvents(docker, {
    signal: stop.signal,
    onEvent: (ev) => {
      log.debug(`docker event ${ev.action} for container ${ev.name}`);
      announcer.onEvent(ev);
      facts?.onEvent(ev);
    },
    onConnected: async (again) => {
      if (again) log.info(`docker event stream back (${docker.host}): resyncing ${announcer.registrations.size} registration(s)`);
      await refreshFlannel();
      await Promise.all([announcer.resync(), facts?.resync()]);
    },
    onGap: (e) => log.warn(`docker event stream down (${docker.host}): ${e.message}; reconnecting`),
  });

  return {
    registry: announcer.registrations,
    socketPath,
    counts: writer.counts,
    register,
    withdraw,
    stateOf: (key) => announcer.stateOf(key),
    settled: () => writer.settled(),
    async close(options = {}) {
      stop.abort();
      announcer.close();
      facts?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await following;
      await persist.catch(() => undefined);
      const revoke = options.revoke ?? true;
      const { revoked, failed } = await writer.close({ revoke });
      if (revoke) {
        if (failed.length) log.warn(`could not revoke ${failed.length} lease(s) (${failed.join('; ')}): their keys expire within their TTL`);
        log.info(`stopped: revoked ${revoked} lease(s), every announcement of this agent is gone`);
        saveLeases(new Map());
      } else {
        log.info('stopped: leases kept; the next agent takes them over, else their keys expire within their TTL');
      }
      await leaseFile;
      client.close();
    },
  };
}
