/**
 * fleet's HTTP API v1 over a unix socket or http(s), with node:http only. One keep-alive agent per client,
 * a timeout per request, `?alt=json` on every call as fleetctl sends it, paging followed to the end, and
 * fleet's omitempty JSON (`{}` for an empty list, no `machineID` on unscheduled units) read as empty.
 *
 * Two fleetd bugs are made impossible here: every desiredState is validated before a request is built, and
 * `/state/NAME` (which crashes the request for a unit without state) is never called — `/state?unitName=` is.
 */
import http from 'node:http';
import https from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { UnitOption, UnitFile } from '../unit/model.js';
import { RemoteError } from '../errors.js';
import { assertDesiredState, type DesiredState } from './desired-state.js';
import type { FleetEndpoint } from './endpoint.js';
import { fleetHttpError, fleetTransportError, type FleetCallInfo } from './fleet-error.js';

/** A unit as fleet lists it. */
export interface FleetUnit {
  readonly name: string;
  readonly options: readonly UnitOption[];
  readonly desiredState: string;
  readonly currentState: string | undefined;
  /** Absent while unscheduled, and for global units. */
  readonly machineID: string | undefined;
}

/** What one machine's agent reports for one unit (`GET /state`). */
export interface FleetUnitState {
  readonly name: string;
  readonly hash: string | undefined;
  readonly machineID: string | undefined;
  readonly systemdLoadState: string | undefined;
  readonly systemdActiveState: string | undefined;
  readonly systemdSubState: string | undefined;
}

/** A machine of the cluster. */
export interface FleetMachine {
  readonly id: string;
  readonly primaryIP: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface FleetClientOptions {
  readonly endpoint: FleetEndpoint;
  /**
   * One deadline per request, from sending it to the last byte of the answer (headers and body), like
   * fleetctl's `--request-timeout` (which defaults to 3 s). Default 10 s.
   */
  readonly timeoutMs?: number;
  /** Open connections at most; match the caller's concurrency. Default 16. */
  readonly maxSockets?: number;
  /** Aborts every request in flight and refuses new ones (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** An answer longer than this is an error, not a reason to run out of memory. Default 64 MiB. */
  readonly maxBodyBytes?: number;
  /** TLS settings for an https endpoint (fleetctl's --ca-file, --cert-file, --key-file). */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** Opens the byte stream to fleet another way (fleetctl's --tunnel through ssh). */
  readonly connect?: () => import('node:stream').Duplex;
}

/** The largest answer read by default: a page of 100 units with big unit files is a few MB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Pages followed at most: fleet's page is 100 items, so this is a million units. */
const MAX_PAGES = 10_000;

const API = '/fleet/v1';

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly location?: string | undefined;
}

/** A client for one fleet endpoint. Call `close()` when done so keep-alive sockets do not hold the process. */
export class FleetClient {
  readonly endpoint: FleetEndpoint;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly signal: AbortSignal | undefined;
  private readonly inFlight = new Set<() => void>();
  private readonly agent: http.Agent;
  /** Requests sent, by method: callers and benches report them. */
  readonly counts: Record<string, number> = {};

  constructor(options: FleetClientOptions) {
    this.endpoint = options.endpoint;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.signal = options.signal;
    // One listener for the client, not one per request: --parallel 16 would pass Node's listener warning.
    this.signal?.addEventListener('abort', () => {
      for (const abort of this.inFlight) abort();
    }, { once: true });
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16, maxFreeSockets: options.maxSockets ?? 16 };
    const connect = options.connect;
    if (options.endpoint.kind === 'http' && options.endpoint.url.protocol === 'https:') {
      const tls = options.tls ?? {};
      this.agent = new https.Agent({ ...agentOptions, ...tls });
      if (connect) {
        // TLS over the tunnel's stream: the tunnel carries bytes, the certificate checks stay ours.
        const host = options.endpoint.url.hostname;
        (this.agent as unknown as { createConnection: unknown }).createConnection = () =>
          tlsConnect({ socket: connect() as unknown as import('node:net').Socket, servername: host, ...tls });
      }
    } else {
      this.agent = new http.Agent(agentOptions);
      if (connect) (this.agent as unknown as { createConnection: unknown }).createConnection = () => connect();
    }
  }

  /** Every unit, all pages. */
  async listUnits(): Promise<FleetUnit[]> {
    const raw = await this.listAll('/units', 'units');
    return raw.map(readUnit);
  }

  /** One unit, or undefined when fleet has none of that name. */
  async getUnit(name: string): Promise<FleetUnit | undefined> {
    const a = await this.call('GET', `/units/${unitPath(name)}`, undefined, name, [404]);
    return a.status === 404 ? undefined : readUnit(this.json(a, 'GET', `/units/${name}`, name));
  }

  /**
   * Creates or replaces a unit with all its options and a desired state, in one request (201). fleet replaces
   * a unit whose options differ; the desired state is always sent because fleet would otherwise set
   * `inactive` and so unload a running unit.
   */
  async putUnit(unit: UnitFile, desiredState: DesiredState): Promise<void> {
    assertDesiredState(desiredState, unit.name);
    const options = unit.options.map((o) => ({ section: o.section, name: o.name, value: o.value }));
    await this.call('PUT', `/units/${unitPath(unit.name)}`, { name: unit.name, desiredState, options }, unit.name);
  }

  /** Sets the desired state of an existing unit (204). */
  async setDesiredState(name: string, desiredState: DesiredState): Promise<void> {
    assertDesiredState(desiredState, name);
    await this.call('PUT', `/units/${unitPath(name)}`, { name, desiredState }, name);
  }

  /** Deletes a unit; false when it did not exist. */
  async deleteUnit(name: string): Promise<boolean> {
    const a = await this.call('DELETE', `/units/${unitPath(name)}`, undefined, name, [404]);
    return a.status !== 404;
  }

  /** Unit states reported by the agents, all pages; for one unit with `unitName` (never `/state/NAME`). */
  async listStates(filter: { unitName?: string; machineID?: string } = {}): Promise<FleetUnitState[]> {
    const raw = await this.listAll('/state', 'states', filter);
    return raw.map((s) => ({
      name: str(s['name']) ?? '',
      hash: str(s['hash']),
      machineID: str(s['machineID']),
      systemdLoadState: str(s['systemdLoadState']),
      systemdActiveState: str(s['systemdActiveState']),
      systemdSubState: str(s['systemdSubState']),
    }));
  }

  /** The cluster's machines, all pages. */
  async listMachines(): Promise<FleetMachine[]> {
    const raw = await this.listAll('/machines', 'machines');
    return raw.map((m) => ({
      id: str(m['id']) ?? '',
      primaryIP: str(m['primaryIP']),
      metadata: (typeof m['metadata'] === 'object' && m['metadata'] !== null ? m['metadata'] : {}) as Record<string, string>,
    }));
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Follows `nextPageToken` until fleet stops sending one; `{}` is an empty page. A token seen before (a
   * server that pages in a circle) and more than MAX_PAGES pages are errors, never a silent partial list.
   */
  private async listAll(path: string, key: string, query: Record<string, string | undefined> = {}): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
      if (token !== undefined) q.set('nextPageToken', token);
      const qs = q.toString();
      const full = qs ? `${path}?${qs}` : path;
      const body = this.json(await this.call('GET', full, undefined, undefined), 'GET', full, undefined);
      const items = body[key];
      if (Array.isArray(items)) out.push(...(items as Record<string, unknown>[]));
      token = str(body['nextPageToken']);
      if (!token) return out;
      if (seen.has(token)) {
        throw new RemoteError('fleet', 'ERR_FLEET_PROTOCOL', `fleet's paging of ${path} loops: page ${page + 1} points back to token ${JSON.stringify(token.slice(0, 40))}`,
          { hint: `is ${this.endpoint.text} really fleetd? a proxy may be dropping the nextPageToken parameter` });
      }
      seen.add(token);
    }
    throw new RemoteError('fleet', 'ERR_FLEET_PROTOCOL', `fleet's paging of ${path} did not end after ${MAX_PAGES} pages`,
      { hint: `is ${this.endpoint.text} really fleetd?` });
  }

  private json(a: Answer, method: string, path: string, unit: string | undefined): Record<string, unknown> {
    if (a.body.trim() === '') return {};
    try {
      const v = JSON.parse(a.body) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new RemoteError('fleet', 'ERR_FLEET_PROTOCOL', `fleet answered ${method} ${unit ?? path} with something that is not a JSON object: ${a.body.slice(0, 80)}`,
      { hint: `is ${this.endpoint.text} really fleet's API?` });
  }

  /**
   * One request. A keep-alive socket the server closed while idle fails with ECONNRESET on reuse; such a
   * request is sent once more on a fresh socket (all of fleet's calls are idempotent). Any other failure is
   * reported, never retried: a request fleetd choked on would choke it again.
   */
  private async call(method: string, path: string, body: unknown, unit: string | undefined, okStatuses: readonly number[] = []): Promise<Answer> {
    const info: FleetCallInfo = { method, path: API + path, unit, endpoint: this.endpoint.text };
    this.counts[method] = (this.counts[method] ?? 0) + 1;
    if (this.signal?.aborted) throw interrupted(info, false);
    let a: Answer;
    try {
      a = await this.send(method, path, body);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { reused?: boolean };
      if (err instanceof RemoteError) throw err;
      if (this.signal?.aborted) throw interrupted(info, true);
      if (!err.reused || err.code !== 'ECONNRESET') throw fleetTransportError(info, err, this.timeoutMs);
      try {
        a = await this.send(method, path, body);
      } catch (e2) {
        if (e2 instanceof RemoteError) throw e2;
        if (this.signal?.aborted) throw interrupted(info, true);
        throw fleetTransportError(info, e2 as NodeJS.ErrnoException, this.timeoutMs);
      }
    }
    if (a.status >= 300 && a.status < 400) {
      // fleetd never redirects; following one could send unit files to another server.
      throw new RemoteError('fleet', 'ERR_FLEET_PROTOCOL',
        `fleet answered ${method} ${unit ?? API + path} with a redirect (${a.status}${a.location ? ` to ${a.location}` : ''}); fleetkit does not follow redirects`,
        { hint: `point --endpoint (or FLEETCTL_ENDPOINT) at the fleet API itself, not at ${this.endpoint.text}` });
    }
    if (a.status >= 400 && !okStatuses.includes(a.status)) throw fleetHttpError(info, a.status, a.body);
    return a;
  }

  private send(method: string, path: string, body: unknown): Promise<Answer> {
    const sep = path.includes('?') ? '&' : '?';
    const ep = this.endpoint;
    const prefix = ep.kind === 'http' ? ep.url.pathname.replace(/\/+$/, '') : '';
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { Accept: 'application/json', 'User-Agent': 'fleetkit' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const options: http.RequestOptions = {
      method,
      path: `${prefix}${API}${path}${sep}alt=json`,
      headers,
      agent: this.agent,
      ...(ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.url.hostname, port: ep.url.port || undefined }),
    };
    const mod = ep.kind === 'http' && ep.url.protocol === 'https:' ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      const fail = (e: Error): void => {
        clearTimeout(deadline);
        this.inFlight.delete(onAbort);
        reject(e);
      };
      const req = mod.request(options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxBodyBytes) {
            req.destroy(new RemoteError('fleet', 'ERR_FLEET_PROTOCOL', `fleet's answer to ${method} ${API}${path} is larger than ${this.maxBodyBytes} bytes; reading stopped`,
              { hint: `is ${ep.text} really fleetd?` }));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(deadline);
          this.inFlight.delete(onAbort);
          const location = res.headers.location;
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), location });
        });
        res.on('error', fail);
      });
      // One deadline for the whole exchange: a server that trickles its answer a byte at a time never
      // resets it (an idle timeout would be reset by every byte).
      const deadline = setTimeout(() => {
        req.destroy(Object.assign(new Error(`timed out after ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, this.timeoutMs);
      const onAbort = (): void => void req.destroy(Object.assign(new Error('interrupted'), { code: 'ABORT_ERR' }));
      this.inFlight.add(onAbort);
      req.on('error', (e: NodeJS.ErrnoException & { reused?: boolean }) => {
        e.reused = req.reusedSocket;
        fail(e);
      });
      req.end(payload);
    });
  }
}

/** A request cut short by SIGINT/SIGTERM: whether it was sent decides what the user may assume. */
function interrupted(info: FleetCallInfo, sent: boolean): RemoteError {
  const what = `${info.method} ${info.unit ?? info.path}`;
  return new RemoteError('fleet', 'ERR_INTERRUPTED', sent
    ? `interrupted while waiting for fleet's answer to ${what} (fleet may have carried it out)`
    : `interrupted: ${what} was not sent`);
}

/** A unit name in a URL path, escaped as Go's url.PathEscape does it (fleetctl keeps `@` and `:` as they are). */
function unitPath(name: string): string {
  return encodeURIComponent(name).replace(/%40/g, '@').replace(/%3A/g, ':');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function readUnit(u: Record<string, unknown>): FleetUnit {
  const options = Array.isArray(u['options']) ? (u['options'] as Record<string, unknown>[]) : [];
  return {
    name: str(u['name']) ?? '',
    options: options.map((o) => ({ section: String(o['section'] ?? ''), name: String(o['name'] ?? ''), value: String(o['value'] ?? '') })),
    desiredState: str(u['desiredState']) ?? 'inactive',
    currentState: str(u['currentState']),
    machineID: str(u['machineID']),
  };
}
