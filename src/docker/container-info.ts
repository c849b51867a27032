/**
 * What the agent needs to know about a container, parsed from Docker's inspect JSON. Pure.
 */

/** Docker's health states, plus `none` for a container without a health check. */
export type HealthState = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ContainerInfo {
  readonly id: string;
  /** Without docker's leading `/`. */
  readonly name: string;
  readonly running: boolean;
  readonly health: HealthState;
  /** `--network host`: the container has the host's addresses. */
  readonly hostNetwork: boolean;
  /** IPv4 addresses on the container's networks, in docker's order. */
  readonly addresses: readonly string[];
  /** The container's labels (`Config.Labels`). */
  readonly labels: Readonly<Record<string, string>>;
  /** `State.ExitCode` of a container that has exited (undefined while it runs or before it ever ran). */
  readonly exitCode: number | undefined;
  /** `State.StartedAt` / `State.FinishedAt`, ISO 8601; undefined for docker's zero time (never). */
  readonly startedAt: string | undefined;
  readonly finishedAt: string | undefined;
}

/** True when the container should be announced: running and, if it has a health check, healthy. */
export function isServing(info: ContainerInfo): boolean {
  return info.running && (info.health === 'none' || info.health === 'healthy');
}

interface InspectJson {
  Id?: string;
  Name?: string;
  State?: {
    Running?: boolean; Paused?: boolean; Restarting?: boolean; Health?: { Status?: string };
    ExitCode?: number; StartedAt?: string; FinishedAt?: string;
  };
  Config?: { Labels?: Record<string, string> | null };
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { IPAddress?: string; Networks?: Record<string, { IPAddress?: string } | null> };
}

/** Parses `GET /containers/{id}/json`. */
export function parseInspect(json: unknown): ContainerInfo {
  const j = (json ?? {}) as InspectJson;
  const status = j.State?.Health?.Status;
  const health: HealthState = status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : 'none';
  const addresses = Object.values(j.NetworkSettings?.Networks ?? {})
    .map((n) => n?.IPAddress ?? '')
    .filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
  if (addresses.length === 0 && j.NetworkSettings?.IPAddress) addresses.push(j.NetworkSettings.IPAddress);
  return {
    id: j.Id ?? '',
    name: (j.Name ?? '').replace(/^\//, ''),
    // A paused or restarting container serves nothing.
    running: Boolean(j.State?.Running) && !j.State?.Paused && !j.State?.Restarting,
    health,
    hostNetwork: j.HostConfig?.NetworkMode === 'host',
    addresses,
    labels: stringRecord(j.Config?.Labels),
    exitCode: !j.State?.Running && dockerTime(j.State?.FinishedAt) && Number.isInteger(j.State?.ExitCode) ? j.State!.ExitCode : undefined,
    startedAt: dockerTime(j.State?.StartedAt),
    finishedAt: dockerTime(j.State?.FinishedAt),
  };
}

/** docker's time stamps: `0001-01-01T00:00:00Z` means "never". */
function dockerTime(s: string | undefined): string | undefined {
  return typeof s === 'string' && /^\d{4}-/.test(s) && !s.startsWith('0001-') ? s : undefined;
}

function stringRecord(o: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof o !== 'object' || o === null) return out;
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** One container event, reduced to what the agent uses. */
export interface ContainerEvent {
  /** Docker's action: `start`, `die`, `health_status: healthy`, … */
  readonly action: string;
  readonly id: string;
  readonly name: string;
  /** For `kill`: the signal sent. */
  readonly signal: string | undefined;
  /** Nanoseconds since the epoch, as docker stamps it. */
  readonly timeNano: number;
  /** For `die`: the exit code (docker's `exitCode` attribute). */
  readonly exitCode: number | undefined;
  /** The actor's attributes: the container's labels, plus docker's own (`name`, `image`, `exitCode`, `signal`). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Parses one line of `GET /events`; undefined for non-container events or junk. */
export function parseEvent(line: string): ContainerEvent | undefined {
  let ev: { Type?: string; Action?: string; status?: string; id?: string; timeNano?: number; Actor?: { ID?: string; Attributes?: Record<string, string> } };
  try {
    ev = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (ev.Type !== undefined && ev.Type !== 'container') return undefined;
  const name = ev.Actor?.Attributes?.['name'];
  const action = ev.Action ?? ev.status;
  if (!name || !action) return undefined;
  const attributes = stringRecord(ev.Actor?.Attributes);
  const code = attributes['exitCode'];
  return {
    action, id: ev.Actor?.ID ?? ev.id ?? '', name, signal: attributes['signal'], timeNano: ev.timeNano ?? 0,
    exitCode: code !== undefined && /^\d{1,3}$/.test(code) ? Number(code) : undefined,
    attributes,
  };
}
