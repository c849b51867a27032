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
  /** Per request, like fleetctl's `--request-timeout` (which defaults to 3 s). Default 10 s. */
  readonly timeoutMs?: number;
  /** Open connections at most; match the caller's concurrency. Default 16. */
  readonly maxSockets?: number;
}

const API = '/fleet/v1';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A client for one fleet endpoint. Call `close()` when done so keep-alive sockets do not hold the process. */
export class FleetClient {
  readonly endpoint: FleetEndpoint;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  /** Requests sent, by method: callers and benches report them. */
  readonly counts: Record<string, number> = {};

  constructor(options: FleetClientOptions) {
    this.endpoint = options.endpoint;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16, maxFreeSockets: options.maxSockets ?? 16 };
    this.agent = options.endpoint.kind === 'http' && options.endpoint.url.protocol === 'https:'
      ? new https.Agent(agentOptions)
      : new http.Agent(agentOptions);
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

  /** Follows `nextPageToken` until fleet stops sending one; `{}` is an empty page. */
  private async listAll(path: string, key: string, query: Record<string, string | undefined> = {}): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100_000; page++) {
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
    }
    return out;
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
    let a: Answer;
    try {
      a = await this.send(method, path, body);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { reused?: boolean };
      if (!err.reused || err.code !== 'ECONNRESET') throw fleetTransportError(info, err, this.timeoutMs);
      try {
        a = await this.send(method, path, body);
      } catch (e2) {
        throw fleetTransportError(info, e2 as NodeJS.ErrnoException, this.timeoutMs);
      }
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
      const req = mod.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => {
        const err = Object.assign(new Error(`timed out after ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' });
        req.destroy(err);
      });
      req.on('error', (e: NodeJS.ErrnoException & { reused?: boolean }) => {
        e.reused = req.reusedSocket;
        reject(e);
      });
      req.end(payload);
    });
  }
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
