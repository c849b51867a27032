/**
 * The docker adapter: the only module that imports `dockerode` (lazily: it is only needed by the agent).
 */
import { RemoteError, UsageError } from '../errors.js';
import { parseInspect, type ContainerInfo } from './container-info.js';

/** What the agent asks of docker. */
export interface DockerClient {
  /** Inspects a container by name or id; undefined when there is none. */
  inspect(nameOrId: string): Promise<ContainerInfo | undefined>;
  /** Names of the running containers (`docker ps`). */
  runningNames(): Promise<string[]>;
  /** Every container, running or not (`docker ps -a`), that carries the label `label`. */
  listLabelled(label: string): Promise<LabelledContainer[]>;
  /** Opens the container event stream, limited to the actions the agent reacts to. */
  events(): Promise<NodeJS.ReadableStream>;
  /** The engine's address, for messages. */
  readonly host: string;
}

/** One entry of `docker ps -a --filter label=…`. */
export interface LabelledContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: boolean;
  /** Seconds since the epoch. */
  readonly created: number;
}

/** Options for connectDocker. */
export interface DockerOptions {
  /** `unix:///var/run/docker.sock` (default) or `tcp://host:port`. */
  readonly host?: string | undefined;
  /**
   * Longest wait for an answer (for `events`, for the stream's headers), ms. Default 10000. A dockerd that
   * accepts and never answers (frozen, overloaded) would otherwise hold the request forever, and nothing
   * would ever try again.
   */
  readonly requestTimeoutMs?: number | undefined;
}

/** The actions that can change whether a container is announced (docker fuzzy-matches `health_status`). */
export const WATCHED_ACTIONS = ['start', 'restart', 'die', 'stop', 'kill', 'oom', 'pause', 'unpause', 'destroy', 'rename', 'health_status'];

/** Maps a docker host URL to dockerode's connection options. */
export function dockerConnection(host: string): { socketPath: string } | { host: string; port: number; protocol: 'http' } {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(host);
  if (m) return { host: m[1]!, port: Number(m[2]), protocol: 'http' };
  throw new UsageError(`docker host "${host}" is not unix:///PATH or tcp://HOST:PORT`, 'e.g. --docker-host unix:///var/run/docker.sock');
}

/** Creates a client; no request is made until one is used. */
export async function connectDocker(options: DockerOptions = {}): Promise<DockerClient> {
  const host = options.host ?? 'unix:///var/run/docker.sock';
  const conn = dockerConnection(host);
  const { default: Docker } = await import('dockerode');
  const docker = new Docker(conn);
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  /** A signal that fires after the deadline; `done` disarms it (an events stream outlives its headers). */
  const deadline = (): { abortSignal: AbortSignal; done: () => void } => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    return { abortSignal: ac.signal, done: () => clearTimeout(timer) };
  };
  const wrap = (e: unknown, doing: string): RemoteError =>
    new RemoteError('docker', 'ERR_DOCKER', `docker ${doing} failed (${host}): ${(e as Error).name === 'AbortError' ? `no answer within ${timeoutMs} ms` : (e as Error).message}`, {
      hint: 'is dockerd running? check --docker-host',
      cause: e,
    });
  return {
    host,
    async inspect(nameOrId) {
      const d = deadline();
      try {
        return parseInspect(await docker.getContainer(nameOrId).inspect({ abortSignal: d.abortSignal }));
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return undefined;
        throw wrap(e, `inspect ${nameOrId}`);
      } finally {
        d.done();
      }
    },
    async runningNames() {
      const d = deadline();
      try {
        const list = await docker.listContainers({ abortSignal: d.abortSignal });
        return list.flatMap((c) => c.Names.map((n) => n.replace(/^\//, '')));
      } catch (e) {
        throw wrap(e, 'ps');
      } finally {
        d.done();
      }
    },
    async listLabelled(label) {
      const d = deadline();
      try {
        const list = await docker.listContainers({ all: true, filters: { label: [label] }, abortSignal: d.abortSignal });
        return list.map((c) => ({
          id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), labels: c.Labels ?? {}, running: c.State === 'running', created: c.Created,
        }));
      } catch (e) {
        throw wrap(e, 'ps -a');
      } finally {
        d.done();
      }
    },
    async events() {
      const d = deadline();
      try {
        return await docker.getEvents({ filters: { type: ['container'], event: WATCHED_ACTIONS }, abortSignal: d.abortSignal });
      } catch (e) {
        throw wrap(e, 'events');
      } finally {
        d.done();
      }
    },
  };
}
