/**
 * Container facts: what a host's agent saw of one unit's container, published in etcd at
 * `factsKey(prefix, machine, unit)` (see key-layout.ts) so that load, start, stop, status and a rolling
 * replace judge fleet and systemd alike. fleet's API has no restart count and a single status call has no
 * history; the agent, which follows `docker events`, has both. Pure: no etcd client here.
 *
 * The value is one JSON object. Readers must treat anything that does not parse as "no facts" (unknown),
 * never as healthy: the value comes from etcd and may be stale, truncated or hostile.
 */

/** The container labels fleetkit's units set and the agent reads (`docker run --label`). */
export const LABEL_UNIT = 'fleetkit.unit';
export const LABEL_CLUSTER = 'fleetkit.cluster';
/** A hash of the container's configuration as rendered (image, argv, environment); computed by `configHashOfUnit` in src/render/config-hash.ts. */
export const LABEL_CONFIG_HASH = 'fleetkit.config-hash';

/** The container's lifecycle as docker last reported it. */
export type ContainerPhase = 'running' | 'exited' | 'absent';

export interface ContainerFactsRecord {
  /** Schema version; readers ignore records of another version. */
  readonly v: 1;
  /** The systemd unit that runs the container (`web@2.service`). */
  readonly unit: string;
  readonly machine: string;
  readonly phase: ContainerPhase;
  readonly containerId?: string;
  /** docker's State.StartedAt of the container now (or last) running, ISO 8601. */
  readonly startedAt?: string;
  /** docker's State.FinishedAt of the last exit, ISO 8601. */
  readonly finishedAt?: string;
  /** Exit code of the last exit (docker's `die` event). */
  readonly lastExit?: number;
  /** The last exit followed a stop that was asked for (docker `kill`/`stop` event before `die`): a clean stop. */
  readonly stopRequested?: boolean;
  /** Container starts seen for this unit since the agent began following it, minus one (0 = started once). */
  readonly restarts: number;
  /** The LABEL_CONFIG_HASH of the container now (or last) running. */
  readonly configHash?: string;
  /**
   * Why the agent will not announce the running container although a sidekick registered it (`it has no IPv4
   * address (network "none"?)`): its announcement can never appear while this container runs.
   */
  readonly refused?: string;
  /** When the agent wrote this record, ISO 8601. */
  readonly updatedAt: string;
}

/** Longest `refused` reason a record carries. */
export const MAX_REFUSED = 300;

/** Serialise a record for etcd. */
export function encodeFacts(r: ContainerFactsRecord): string {
  return JSON.stringify(r);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const UNIT = /^[A-Za-z0-9:_.@\\-]{1,255}$/;
const TOKEN = /^[A-Za-z0-9:_.\\-]{1,256}$/;

/** Parse a value read from etcd; undefined when it is not a well-formed version-1 record. */
export function decodeFacts(text: string): ContainerFactsRecord | undefined {
  if (text.length > 8192) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  if (r.v !== 1) return undefined;
  if (typeof r.unit !== 'string' || !UNIT.test(r.unit)) return undefined;
  if (typeof r.machine !== 'string' || !TOKEN.test(r.machine)) return undefined;
  if (r.phase !== 'running' && r.phase !== 'exited' && r.phase !== 'absent') return undefined;
  if (!Number.isSafeInteger(r.restarts) || (r.restarts as number) < 0) return undefined;
  if (typeof r.updatedAt !== 'string' || !ISO.test(r.updatedAt)) return undefined;
  const optIso = (k: string): boolean => r[k] === undefined || (typeof r[k] === 'string' && ISO.test(r[k] as string));
  const optToken = (k: string): boolean => r[k] === undefined || (typeof r[k] === 'string' && TOKEN.test(r[k] as string));
  if (!optIso('startedAt') || !optIso('finishedAt') || !optToken('containerId') || !optToken('configHash')) return undefined;
  if (r.lastExit !== undefined && (!Number.isSafeInteger(r.lastExit) || (r.lastExit as number) < -1 || (r.lastExit as number) > 255)) return undefined;
  if (r.stopRequested !== undefined && typeof r.stopRequested !== 'boolean') return undefined;
  if (r.refused !== undefined && (typeof r.refused !== 'string' || r.refused.length > MAX_REFUSED)) return undefined;
  return {
    v: 1, unit: r.unit, machine: r.machine, phase: r.phase, restarts: r.restarts as number, updatedAt: r.updatedAt,
    ...(r.containerId !== undefined ? { containerId: r.containerId as string } : {}),
    ...(r.startedAt !== undefined ? { startedAt: r.startedAt as string } : {}),
    ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt as string } : {}),
    ...(r.lastExit !== undefined ? { lastExit: r.lastExit as number } : {}),
    ...(r.stopRequested !== undefined ? { stopRequested: r.stopRequested as boolean } : {}),
    ...(r.configHash !== undefined ? { configHash: r.configHash as string } : {}),
    ...(r.refused !== undefined ? { refused: r.refused as string } : {}),
  };
}

/**
 * A container stopped on purpose is a clean stop: docker's stop sends SIGTERM (exit 143) and, after the grace
 * period, SIGKILL (137); either after a requested stop is not a failure. Exit 0 is always clean.
 */
export function isCleanExit(code: number | undefined, stopRequested: boolean | undefined): boolean {
  if (code === 0) return true;
  return stopRequested === true && (code === 143 || code === 137 || code === 130);
}
