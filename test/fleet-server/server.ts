/**
 * The fleet test server: fleetd v1.0.0's HTTP API (reference/fleet.md, checked against recorded
 * conversations in ./transcripts) over a unix socket and/or TCP, with a simulated engine and agents.
 *
 * Agent hooks (`opts.agent`, see AgentSimulation in ./cluster.ts): the agent of a simulated machine calls
 *   onLoad(unit, machine)   when it writes and links the unit (fleet: /run/fleet/units/NAME, LinkUnitFiles, Reload)
 *   onLaunch(unit, machine) when it starts it (StartUnit "replace")
 *   onStop(unit, machine)   when it stops it (desiredState loaded)
 *   onUnload(unit, machine) when the unit leaves the machine (DisableUnitFiles, ResetFailedUnit, file removed)
 * `unit` = { name, hash, options, text } where text is the normalized file the agent would write. A hook may
 * return the systemd state to publish in /state ({loadState, activeState, subState}); defaults are
 * loaded/inactive/dead after load and stop, active/running after launch; a throwing hook publishes
 * loaded/failed/failed and is kept in `server.hookErrors`. Later changes (a unit that dies) are published
 * with `server.reportState(name, machineID, state)`. An end-to-end test can thus start units on the local
 * systemd from onLaunch and report what systemd says.
 *
 * Pacing: by default every transition (schedule, load, start, publish, stop, unload, replace) runs before
 * the answer to the request that caused it; `agent.reconcileMs` advances each unit one transition per tick;
 * `agent.fleetPace` runs fleet's own paces (5 s reconcile, in which a unit takes the whole task list
 * fleet's agent queues for it, one unload per machine per reconcile, global states republished every 24 s)
 * scaled by a time factor; `agent.manual` leaves all of it to `step()` /
 * `settle()`.
 */
import { chmod, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { handleApi, type ApiContext, type BugTriggered } from './api.js';
import { Cluster, isPoisoned, type AgentSimulation, type MachineSpec, type MachineView, type SystemdState, type Transition } from './cluster.js';
import type { FleetOption } from './unit-file.js';

export type { AgentSimulation, AgentUnit, MachineSpec, MachineView, SystemdState, Transition } from './cluster.js';
export type { BugTriggered } from './api.js';

/** Options of startFleetServer. */
export interface FleetServerOptions {
  /** Listen on this unix socket (mode 0660). */
  readonly socketPath?: string;
  /** Listen on 127.0.0.1 at a free port (the default when no socketPath is given). */
  readonly tcp?: boolean;
  /** Simulated machines; default one machine like the recorded fleetd. */
  readonly machines?: readonly MachineSpec[];
  /** fleetd's token_limit: the page size. @default 100 */
  readonly tokenLimit?: number;
  /** Artificial latency added to every request, in ms. */
  readonly latencyMs?: number;
  /** Agent simulation: hooks and pacing. */
  readonly agent?: AgentSimulation;
  /** The Server header. @default 'fleetd/v1.0.0' */
  readonly serverHeader?: string;
  /** Keep every change of a published unit state in `stateHistory()` (off by default: it costs a scan per change). */
  readonly recordStates?: boolean;
}

/** One change of a published unit state; `state` undefined: no longer published (unloaded). */
export interface StateChange {
  /** Milliseconds since the server started (`clock()`). */
  readonly at: number;
  readonly name: string;
  readonly machineID: string;
  readonly hash: string | undefined;
  readonly state: SystemdState | undefined;
}

/** An injected fault: matches requests by method/path, `times` times (default 1). */
export interface FleetFault {
  readonly method?: string;
  readonly path?: string | RegExp;
  readonly times?: number;
  readonly status?: number;
  readonly body?: string | object;
  readonly closeConnection?: boolean;
  readonly delayMs?: number;
}

/** A logged request. */
export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A unit as the registry holds it, poisoned ones included. */
export interface UnitSnapshot {
  readonly name: string;
  readonly desiredState: string;
  readonly currentState: string | undefined;
  readonly machineID: string | undefined;
  readonly hash: string;
  readonly global: boolean;
  readonly poisoned: boolean;
  readonly options: readonly FleetOption[];
}

/** A running fleet test server. */
export interface FleetServer {
  /** 'unix:///path' when listening on a socket, else 'http://127.0.0.1:PORT'. */
  readonly endpoint: string;
  readonly socketPath?: string;
  readonly httpUrl?: string;
  readonly requests: LoggedRequest[];
  readonly bugsTriggered: BugTriggered[];
  readonly hookErrors: readonly { unit: string; machineID: string; error: unknown }[];
  inject(fault: FleetFault): void;
  units(): UnitSnapshot[];
  machines(): MachineView[];
  states(): { name: string; machineID: string; hash: string; state: SystemdState }[];
  /** Every change of a published state, oldest first (with `recordStates`; else empty). */
  stateHistory(): readonly StateChange[];
  setMachine(id: string, change: { online?: boolean; metadata?: Record<string, string> }): Promise<void>;
  reportState(name: string, machineID: string, state: SystemdState | null): void;
  /** Applies one pending transition (returns it), or null when settled. */
  step(): Promise<Transition | null>;
  /** Runs the engine and agents until nothing is pending. */
  settle(): Promise<void>;
  /** Milliseconds since the server started (the clock of `agent.fleetPace`). */
  clock(): number;
  close(): Promise<void>;
}

/** The machine of the recorded conversations. */
export const RECORDED_MACHINE: MachineSpec = { id: '3d1219c7c4c5404aaa1f6d2a48adfda4', primaryIP: '127.0.0.1', metadata: { region: 'local', role: 'worker' } };

/** fleet's agent reconciles every 5 s (at time scale 1). */
export const AGENT_RECONCILE_MS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts a fleet test server. */
export async function startFleetServer(opts: FleetServerOptions = {}): Promise<FleetServer> {
  const agent = opts.agent ?? {};
  const started = performance.now();
  const fleetPace = agent.fleetPace;
  const clock = (): number => performance.now() - started;
  const cluster = new Cluster(opts.machines ?? [RECORDED_MACHINE], agent, fleetPace ? { timeScale: fleetPace.timeScale, now: clock } : undefined);
  const ctx: ApiContext = { cluster, tokenLimit: opts.tokenLimit ?? 100, bugs: [] };
  const requests: LoggedRequest[] = [];
  const faults: (FleetFault & { left: number })[] = [];
  const serverHeader = opts.serverHeader ?? 'fleetd/v1.0.0';
  const tickMs = fleetPace ? AGENT_RECONCILE_MS * fleetPace.timeScale : (agent.reconcileMs ?? 0);
  const mode = agent.manual ? 'manual' : tickMs > 0 ? 'paced' : 'immediate';

  const history: StateChange[] = [];
  const lastSeen = new Map<string, { hash: string; text: string; state: SystemdState }>();
  const record = (): void => {
    if (!opts.recordStates) return;
    const now = new Map(cluster.states().map((x) => [`${x.name} ${x.machineID}`, x]));
    for (const [k, x] of now) {
      const text = JSON.stringify([x.hash, x.state]);
      if (lastSeen.get(k)?.text === text) continue;
      lastSeen.set(k, { hash: x.hash, text, state: x.state });
      history.push({ at: clock(), name: x.name, machineID: x.machineID, hash: x.hash, state: x.state });
    }
    for (const k of [...lastSeen.keys()].filter((k) => !now.has(k))) {
      const [name = '', machineID = ''] = k.split(' ');
      lastSeen.delete(k);
      history.push({ at: clock(), name, machineID, hash: undefined, state: undefined });
    }
  };
  const apply = async (t: Transition): Promise<void> => {
    try {
      await cluster.apply(t);
    } finally {
      record();
    }
  };

  // One transition at a time: hooks may be slow (a real systemd) and must not interleave.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  const step = (): Promise<Transition | null> =>
    exclusive(async () => {
      const t = cluster.nextTransition();
      if (t) await apply(t);
      return t;
    });
  const settle = (): Promise<void> =>
    exclusive(async () => {
      for (let t = cluster.nextTransition(); t; t = cluster.nextTransition()) await apply(t);
    });
  let timer: NodeJS.Timeout | undefined;
  if (mode === 'paced') {
    // One reconcile: the engine places what it can; each agent moves each unit one step. Under fleet's pace a
    // unit's step is the task list fleet's agent queues for it in one reconcile (calculateTasksForUnit in
    // agent/reconcile.go): a unit whose hash differs is unloaded, loaded and started, a new one loaded and
    // started; each machine also unloads at most one unit, and global states wait for their republish.
    const engine = (t: Transition): boolean => t.kind === 'schedule' || t.kind === 'unschedule';
    const FOLLOWS: Readonly<Record<string, string>> = { load: 'unload', start: 'load' };
    const tick = (): void => {
      void exclusive(async () => {
        const moved = new Map<string, string>();
        const unloadedOn = new Set<string>();
        let engineMoves = 0; // bounded: a placement that keeps moving waits for the next reconcile
        const stepOk = (t: Transition): boolean => {
          const before = moved.get(`${t.unit} ${t.machineID}`);
          return before === undefined || (Boolean(fleetPace) && FOLLOWS[t.kind] === before);
        };
        const allow = (t: Transition): boolean =>
          (engine(t) && engineMoves < 10_000) || (!engine(t) && stepOk(t) && (!fleetPace || ((t.kind !== 'unload' || !unloadedOn.has(t.machineID)) && cluster.publishDue(t))));
        for (let t = cluster.nextTransition(allow); t; t = cluster.nextTransition(allow)) {
          if (engine(t)) engineMoves++;
          else moved.set(`${t.unit} ${t.machineID}`, t.kind);
          if (t.kind === 'unload') unloadedOn.add(t.machineID);
          await apply(t);
        }
      }).finally(() => {
        if (timer) timer = setTimeout(tick, tickMs);
      });
    };
    timer = setTimeout(tick, tickMs);
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    const query = q >= 0 ? rawUrl.slice(q + 1) : '';
    requests.push({ method: req.method ?? '', path: rawPath, query: Object.fromEntries(new URLSearchParams(query)), headers: req.headers, body: body.toString('utf8') });
    if (opts.latencyMs) await sleep(opts.latencyMs);

    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === req.method) && matchPath(f.path, rawPath));
    if (fault) {
      fault.left--;
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.closeConnection) return void req.socket.destroy();
      if (fault.status !== undefined) {
        const text = typeof fault.body === 'object' ? JSON.stringify(fault.body) : (fault.body ?? (fault.status >= 400 ? `{"error":{"code":${fault.status},"message":""}}` : ''));
        if (text) res.setHeader('Content-Type', 'application/json');
        res.setHeader('Server', serverHeader);
        res.statusCode = fault.status;
        return void res.end(text);
      }
    }

    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      // Go's server refuses a request line with a bad escape before any handler runs.
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      return void res.end('400 Bad Request');
    }
    const contentTypes: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) if ((req.rawHeaders[i] ?? '').toLowerCase() === 'content-type') contentTypes.push(req.rawHeaders[i + 1] ?? '');
    const answer = handleApi(ctx, { method: req.method ?? '', path, query, contentTypes, body });
    if ('crash' in answer) return void req.socket.destroy();
    if (mode === 'immediate' && answer.status < 300 && req.method !== 'GET') await settle();
    if (answer.contentType) res.setHeader('Content-Type', answer.contentType);
    if (answer.location) res.setHeader('Location', answer.location);
    res.setHeader('Server', serverHeader);
    res.statusCode = answer.status;
    res.end(answer.body);
  };

  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const listen = async (target: string | { port: number; host: string }): Promise<Server> => {
    const server = createServer((req, res) => {
      handler(req, res).catch((err: unknown) => {
        requests.push({ method: 'ERROR', path: String(err), query: {}, headers: {}, body: '' });
        req.socket.destroy();
      });
    });
    server.keepAliveTimeout = 0; // Go sends no Keep-Alive header; keep connections open like it does
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (typeof target === 'string') server.listen(target, resolve);
      else server.listen(target.port, target.host, resolve);
    });
    servers.push(server);
    return server;
  };

  let socketPath: string | undefined;
  let httpUrl: string | undefined;
  if (opts.socketPath) {
    const st = await stat(opts.socketPath).catch(() => undefined);
    if (st?.isSocket()) await rm(opts.socketPath);
    await listen(opts.socketPath);
    await chmod(opts.socketPath, 0o660);
    socketPath = opts.socketPath;
  }
  if (opts.tcp || !opts.socketPath) {
    const server = await listen({ port: 0, host: '127.0.0.1' });
    const addr = server.address();
    if (addr && typeof addr === 'object') httpUrl = `http://127.0.0.1:${addr.port}`;
  }

  return {
    endpoint: socketPath ? `unix://${socketPath}` : (httpUrl ?? ''),
    ...(socketPath ? { socketPath } : {}),
    ...(httpUrl ? { httpUrl } : {}),
    requests,
    bugsTriggered: ctx.bugs,
    hookErrors: cluster.hookErrors,
    inject: (fault) => void faults.push({ ...fault, left: fault.times ?? 1 }),
    units: () =>
      [...cluster.units.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((u) => ({
          name: u.name,
          desiredState: u.desiredState,
          currentState: isPoisoned(u) ? undefined : cluster.currentState(u),
          machineID: u.reqs.global ? undefined : u.machineID,
          hash: u.hash,
          global: u.reqs.global,
          poisoned: isPoisoned(u),
          options: u.options,
        })),
    machines: () => cluster.machineViews(true),
    states: () => cluster.states(),
    setMachine: async (id, change) => {
      cluster.setMachine(id, change);
      if (mode === 'immediate') await settle();
    },
    stateHistory: () => history,
    reportState: (name, machineID, state) => {
      cluster.reportState(name, machineID, state);
      record();
    },
    step,
    settle,
    clock,
    close: async () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await chain.catch(() => undefined);
      if (socketPath) await rm(socketPath, { force: true });
    },
  };
}

function matchPath(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? pattern === path : pattern.test(path);
}

/** Starts a fleet test server for a tap test and closes it in the test's teardown. */
export async function fleetServerPart(t: { teardown(fn: () => unknown): void }, opts: FleetServerOptions = {}): Promise<FleetServer> {
  const server = await startFleetServer(opts);
  t.teardown(() => server.close());
  return server;
}
