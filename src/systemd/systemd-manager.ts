/**
 * The systemd manager over D-Bus (dbus-next, imported lazily: only this adapter loads it). Jobs are awaited
 * through `JobRemoved`, which systemd can emit before the reply to `StartUnit` arrives: the listener (and its
 * match rule) is in place before any job is created, and results that arrive before anyone waits for them
 * are buffered by job path.
 *
 * The manager is not `Subscribe`d: systemd sends a job's `JobRemoved` to the client that queued it (the job
 * tracks its sender; `systemctl start` relies on the same), while a subscriber makes systemd emit
 * UnitNew/JobNew/PropertiesChanged for every unit on the manager for as long as it is connected. That work
 * is systemd's, on the critical path of every start: measured starting 200 units on a 2-core machine, it was
 * ~15–20% more systemd CPU and ~15% more time (bench/load-systemd.mjs).
 */
import type { MessageBus, ClientInterface, Message } from 'dbus-next';

type MessageClass = typeof Message;
import { RemoteError } from '../errors.js';
import { systemdError } from './systemd-error.js';

const DEST = 'org.freedesktop.systemd1';
const PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

export interface SystemdConnectOptions {
  /** The calling user's manager on the session bus, instead of the system manager. */
  readonly user: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Give up connecting after this long. Default 5 s. */
  readonly connectTimeoutMs?: number;
}

/** A unit's state as `ListUnitsByNames` reports it. */
export interface SystemdUnitState {
  readonly name: string;
  readonly loadState: string;
  readonly activeState: string;
  readonly subState: string;
  readonly path: string;
}

/** How a job ended: `done`, `canceled`, `timeout`, `failed`, `dependency`, `skipped`. */
export type JobResult = string;

/**
 * The part of the manager's interface this adapter uses. Handing it to dbus-next skips introspecting the
 * manager, whose full description is large and costs ~100 ms to fetch and parse on every command.
 */
const MANAGER_XML = `<node>
 <interface name="${MANAGER}">
  <method name="Reload"/>
  <method name="StartUnit"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="o" direction="out"/></method>
  <method name="StopUnit"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="o" direction="out"/></method>
  <method name="RestartUnit"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="o" direction="out"/></method>
  <method name="ResetFailedUnit"><arg type="s" direction="in"/></method>
  <method name="ListUnitsByNames"><arg type="as" direction="in"/><arg type="a(ssssssouso)" direction="out"/></method>
  <method name="ListUnitsByPatterns"><arg type="as" direction="in"/><arg type="as" direction="in"/><arg type="a(ssssssouso)" direction="out"/></method>
  <method name="LinkUnitFiles"><arg type="as" direction="in"/><arg type="b" direction="in"/><arg type="b" direction="in"/><arg type="a(sss)" direction="out"/></method>
  <method name="EnableUnitFiles"><arg type="as" direction="in"/><arg type="b" direction="in"/><arg type="b" direction="in"/><arg type="b" direction="out"/><arg type="a(sss)" direction="out"/></method>
  <method name="DisableUnitFiles"><arg type="as" direction="in"/><arg type="b" direction="in"/><arg type="a(sss)" direction="out"/></method>
  <signal name="JobRemoved"><arg type="u"/><arg type="o"/><arg type="s"/><arg type="s"/></signal>
 </interface>
 <interface name="org.freedesktop.DBus.Properties">
  <method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="out"/></method>
 </interface>
</node>`;

/** What a service's history says (systemd 235 and later keep NRestarts). */
export interface ServiceHistory {
  /** Automatic restarts of the unit's current run (see restartsThisRun). */
  readonly nRestarts: number | undefined;
  /** The `Restart=` policy. */
  readonly restart: string | undefined;
  readonly result: string | undefined;
  /** The main process's exit status, when it exited (CLD_EXITED). */
  readonly exitStatus: number | undefined;
  /** When the unit last entered `active` (ms since the epoch); undefined when it never did. */
  readonly activeSince: number | undefined;
}

/** A unit's state-change timestamps (µs, CLOCK_REALTIME; 0 when it never happened). */
export interface UnitTimestamps {
  readonly activeEnter: number;
  readonly activeExit: number;
  readonly inactiveEnter: number;
  readonly inactiveExit: number;
}

/**
 * NRestarts counted as restarts of the unit's current run. systemd flushes the count on a start only after
 * the unit went dead without an automatic restart; a unit stopped or restarted by hand while it waited in
 * `auto-restart` goes straight to dead (service.c: service_stop sets SERVICE_DEAD, no flush), so the count of
 * the loop it left survives into the next run, and a repaired unit would read as still looping.
 *
 * How to tell the two apart, as systemd 252 stamps them (seen on the test environment's systemd): when the
 * main process exits, the unit goes active → inactive → activating (auto-restart) at once (ActiveExit,
 * InactiveEnter, InactiveExit within a millisecond). When RestartUSec has passed, the restart job takes it
 * to dead (InactiveEnter again) and starts it (InactiveExit = ActiveEnter). So a unit active since a start
 * out of inactive went dead either through that timer, at least RestartUSec after the exit before it (an
 * automatic restart: the count is this run's), or sooner, by hand (the count is the last run's: none of this
 * run). A unit caught in auto-restart has ActiveEnter before InactiveExit: its count is this run's too.
 */
export function restartsThisRun(nRestarts: number | undefined, t: UnitTimestamps, restartUs: number | undefined): number | undefined {
  if (nRestarts === undefined || !nRestarts || !restartUs || t.activeEnter <= 0 || t.inactiveExit <= 0) return nRestarts;
  const startedFromDead = t.activeEnter >= t.inactiveExit && t.activeEnter - t.inactiveExit < restartUs;
  if (!startedFromDead) return nRestarts;
  const byTimer = t.activeExit > 0 && t.inactiveEnter >= t.activeExit && t.inactiveEnter - t.activeExit >= restartUs;
  return byTimer ? nRestarts : 0;
}

/** The bus address for a scope, from the usual environment variables. */
export function busAddressFor(user: boolean, env: Readonly<Record<string, string | undefined>>): string {
  if (user) {
    const addr = env['DBUS_SESSION_BUS_ADDRESS'];
    if (addr) return addr;
    const rt = env['XDG_RUNTIME_DIR'];
    if (rt) return `unix:path=${rt}/bus`;
    throw new RemoteError('systemd', 'ERR_SYSTEMD_UNREACHABLE', 'cannot find the user bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set',
      { hint: 'run in a login session of that user, or set DBUS_SESSION_BUS_ADDRESS' });
  }
  return env['DBUS_SYSTEM_BUS_ADDRESS'] || 'unix:path=/var/run/dbus/system_bus_socket';
}

/**
 * Closes a bus connection at once. dbus-next's `disconnect()` only ends its side of the stream; a bus that
 * never answers never ends the other, and the open socket would keep the process alive.
 */
export function closeBus(bus: MessageBus): void {
  bus.disconnect();
  (bus as unknown as { _connection?: { stream?: { destroy?: () => void } } })._connection?.stream?.destroy?.();
}

/**
 * Calls `onLost` when the bus connection ends. dbus-next reports a connection the bus closed only as the
 * stream's end, never as an error on the bus: without this, calls on a closed bus would wait forever.
 */
export function onBusLost(bus: MessageBus, onLost: (e: Error) => void): void {
  (bus as unknown as { _connection?: { on(ev: 'end' | 'close', f: () => void): void } })._connection?.on('end', () => onLost(new Error('the bus closed the connection')));
  bus.on('error', (e: unknown) => onLost(e instanceof Error ? e : new Error(String(e))));
}

/** A connected, subscribed manager. Call `close()` when done. */
export class SystemdManager {
  readonly scope: 'user' | 'system';
  private readonly bus: MessageBus;
  private readonly mgr: ClientInterface;
  private readonly finished = new Map<string, JobResult>();
  private readonly waiters = new Map<string, (r: JobResult) => void>();
  /** Rejects once the bus is lost: every call in flight, and every later one, fails with it at once. */
  private readonly lost: Promise<never>;
  /** dbus-next's Message, for property reads sent as plain messages. */
  private readonly message: MessageClass;

  private constructor(scope: 'user' | 'system', bus: MessageBus, mgr: ClientInterface, lost: Promise<never>, message: MessageClass) {
    this.scope = scope;
    this.message = message;
    this.bus = bus;
    this.mgr = mgr;
    this.lost = lost;
    mgr.on('JobRemoved', (_id: number, job: string, _unit: string, result: string) => {
      const w = this.waiters.get(job);
      if (w) {
        this.waiters.delete(job);
        w(result);
        return;
      }
      // Not awaited (yet): keep it for a caller whose StartUnit reply is still on its way. Bounded, since
      // other clients' jobs reach us too whenever anyone on the bus has subscribed.
      this.finished.set(job, result);
      if (this.finished.size > 10_000) this.finished.delete(this.finished.keys().next().value!);
    });
  }

  /**
   * Connects to the user or system bus; fails unless a systemd manager owns its name there. A bus that closes
   * the connection fails at once; one that never answers fails after `connectTimeoutMs`, its socket closed.
   */
  static async connect(o: SystemdConnectOptions): Promise<SystemdManager> {
    const scope = o.user ? 'user' : 'system';
    const address = busAddressFor(o.user, o.env);
    const dbus = await import('dbus-next');
    const bus = dbus.sessionBus({ busAddress: address });
    let lostWith: (e: Error) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => (lostWith = reject));
    lost.catch(() => undefined); // observed through the calls that race it
    onBusLost(bus, (e) => lostWith(new RemoteError('systemd', 'ERR_SYSTEMD_BUS', `lost the ${scope} bus at ${address}: ${e.message}`, { cause: e })));
    const unreachable = (e: unknown): RemoteError => new RemoteError('systemd', 'ERR_SYSTEMD_UNREACHABLE',
      `cannot connect to the ${scope} bus at ${address}: ${(e as Error)?.message ?? String(e)}`,
      { cause: e, hint: o.user ? 'is the user manager running? check DBUS_SESSION_BUS_ADDRESS' : 'is the system bus running? run as root, or use --user' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RemoteError('systemd', 'ERR_SYSTEMD_UNREACHABLE', `no answer on the ${scope} bus at ${address}`,
        { cause: Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' }) })), o.connectTimeoutMs ?? 5000);
    });
    try {
      const obj = await Promise.race([bus.getProxyObject(DEST, PATH, MANAGER_XML), lost.catch((e: RemoteError) => Promise.reject(unreachable(e.cause))), timeout]);
      const mgr = obj.getInterface(MANAGER);
      const self = new SystemdManager(scope, bus, mgr, lost, dbus.Message);
      // One round trip that proves a manager is there (NameHasNoOwner otherwise), and, since the bus handles
      // a connection's messages in order, that the JobRemoved match rule is in place before the first job.
      await Promise.race([self.invoke('connect', undefined, () => bus.call(new dbus.Message({
        destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetNameOwner', signature: 's', body: [DEST],
      }))), timeout]);
      return self;
    } catch (e) {
      closeBus(bus);
      if (e instanceof RemoteError) throw e;
      throw systemdError({ verb: 'connect', unit: undefined, scope }, e);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `daemon-reload`: once per batch of written files. */
  async reload(): Promise<void> {
    await this.invoke('reload', undefined, () => this.mgr['Reload']!());
  }

  /** The manager's unit search path (to decide whether a unit dir needs linking). */
  async unitPath(): Promise<string[]> {
    const v = await this.invoke('read the unit path', undefined, async () => {
      const props = await this.bus.getProxyObject(DEST, PATH, MANAGER_XML);
      return props.getInterface('org.freedesktop.DBus.Properties')['Get']!(MANAGER, 'UnitPath');
    }) as { value: string[] };
    return v.value;
  }

  /** Links unit files from outside the search path (`LinkUnitFiles`, forced). */
  async link(paths: readonly string[], runtime: boolean): Promise<void> {
    if (paths.length) await this.invoke('link', paths.join(', '), () => this.mgr['LinkUnitFiles']!([...paths], runtime, true));
  }

  /** Enables units with an `[Install]` section (`EnableUnitFiles`, forced). */
  async enable(names: readonly string[], runtime: boolean): Promise<void> {
    if (names.length) await this.invoke('enable', names.join(', '), () => this.mgr['EnableUnitFiles']!([...names], runtime, true));
  }

  /** Disables units (removes their symlinks). */
  async disable(names: readonly string[], runtime: boolean): Promise<void> {
    if (names.length) await this.invoke('disable', names.join(', '), () => this.mgr['DisableUnitFiles']!([...names], runtime));
  }

  /** Forgets a failed unit's state. A unit that is not failed or not loaded is fine. */
  async resetFailed(name: string): Promise<void> {
    try {
      await this.mgr['ResetFailedUnit']!(name);
    } catch {
      // NoSuchUnit / not failed: nothing to reset.
    }
  }

  /**
   * Runs a job (`StartUnit`, `StopUnit`, `RestartUnit`) in mode `replace` and resolves with its result when
   * `JobRemoved` announces it (`queued` at once when `wait` is false).
   */
  async job(method: 'StartUnit' | 'StopUnit' | 'RestartUnit', name: string, timeoutMs: number, wait = true): Promise<JobResult> {
    const verb = method === 'StartUnit' ? 'start' : method === 'StopUnit' ? 'stop' : 'restart';
    const path = await this.invoke(verb, name, () => this.mgr[method]!(name, 'replace')) as string;
    if (!wait) return 'queued';
    const early = this.finished.get(path);
    if (early !== undefined) {
      this.finished.delete(path);
      return early;
    }
    return new Promise<JobResult>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(path);
        resolve('timeout');
      }, timeoutMs);
      this.waiters.set(path, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  /** States of many units in one call; units systemd does not know come back with loadState `not-found`. */
  async states(names: readonly string[]): Promise<Map<string, SystemdUnitState>> {
    const out = new Map<string, SystemdUnitState>();
    if (!names.length) return out;
    const rows = await this.invoke('list', undefined, () => this.mgr['ListUnitsByNames']!([...names])) as unknown[][];
    for (const r of rows) {
      const s = { name: String(r[0]), loadState: String(r[2]), activeState: String(r[3]), subState: String(r[4]), path: String(r[6]) };
      out.set(s.name, s);
    }
    return out;
  }

  /** Names of loaded units matching glob patterns (`web@*.service`), e.g. the instances of a template. */
  async unitsMatching(patterns: readonly string[]): Promise<SystemdUnitState[]> {
    const rows = await this.invoke('list', undefined, () => this.mgr['ListUnitsByPatterns']!([], [...patterns])) as unknown[][];
    return rows.map((r) => ({ name: String(r[0]), loadState: String(r[2]), activeState: String(r[3]), subState: String(r[4]), path: String(r[6]) }));
  }

  /**
   * Reads properties of a unit object with plain `Properties.Get`/`GetAll` messages. A proxy object would
   * parse its interface description on every read; over 200 units read at once that parsing was most of
   * the cost of a health read (bench/load-systemd.mjs).
   */
  private async property(unitPath: string, iface: string, name: string): Promise<unknown> {
    const reply = await Promise.race([this.bus.call(new this.message({ destination: DEST, path: unitPath, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [iface, name] })), this.lost]);
    return (reply!.body[0] as { value: unknown }).value;
  }

  /** A service's `Result` (`exit-code`, `signal`, `timeout`, `success`…), undefined for other unit types. */
  async serviceResult(unitPath: string): Promise<string | undefined> {
    try {
      return String(await this.property(unitPath, 'org.freedesktop.systemd1.Service', 'Result'));
    } catch {
      return undefined;
    }
  }

  /** The file systemd loaded a unit from (an instance's: its template's file); undefined when it has none. */
  async fragmentPath(unitPath: string): Promise<string | undefined> {
    try {
      return String(await this.property(unitPath, 'org.freedesktop.systemd1.Unit', 'FragmentPath')) || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A service's restart count, policy, result, last exit and when it became active; undefined for
   * non-services. `now` is the unit's state from the same moment's ListUnitsByNames: a service running its
   * main process that never restarted has nothing more to tell (systemd resets Result and the main process's
   * exit when it starts one), so only three properties are read for it. Over 200 units just started, the
   * eight reads of the full history were most of a health read (bench/load-systemd.mjs).
   */
  async serviceHistory(unitPath: string, now?: { readonly activeState: string; readonly subState: string }): Promise<ServiceHistory | undefined> {
    try {
      const get = (iface: 'Unit' | 'Service', k: string): Promise<unknown> => this.property(unitPath, `org.freedesktop.systemd1.${iface}`, k);
      const [entered, nRestarts, restart] = await Promise.all([get('Unit', 'ActiveEnterTimestamp'), get('Service', 'NRestarts'), get('Service', 'Restart')]);
      const since = Number(entered as bigint | number);
      const activeSince = since > 0 ? Math.floor(since / 1000) : undefined;
      if (now?.activeState === 'active' && now.subState === 'running' && Number(nRestarts) === 0) {
        return { nRestarts: 0, restart: String(restart), result: 'success', exitStatus: undefined, activeSince };
      }
      // One small Get per property: GetAll of the Service interface marshals its ~100 properties, and over 200
      // units it took longer than these Gets together.
      const [left, exited, dead, result, code, status, restartUs] = await Promise.all([
        get('Unit', 'InactiveExitTimestamp'), get('Unit', 'ActiveExitTimestamp'), get('Unit', 'InactiveEnterTimestamp'),
        get('Service', 'Result'), get('Service', 'ExecMainCode'), get('Service', 'ExecMainStatus'), get('Service', 'RestartUSec'),
      ]);
      const us = (v: unknown): number => Number(v as bigint | number);
      return {
        nRestarts: restartsThisRun(Number(nRestarts), { activeEnter: since, inactiveExit: us(left), activeExit: us(exited), inactiveEnter: us(dead) }, us(restartUs)),
        restart: String(restart),
        result: String(result),
        // ExecMainCode 1 is CLD_EXITED: ExecMainStatus is then an exit status, not a signal number.
        exitStatus: Number(code) === 1 ? Number(status) : undefined,
        activeSince,
      };
    } catch {
      return undefined;
    }
  }

  /** Disconnects from the bus, closing the socket even when the bus never answers. */
  close(): void {
    closeBus(this.bus);
  }

  private async invoke(verb: string, unit: string | undefined, fn: () => Promise<unknown>): Promise<unknown> {
    try {
      // A lost bus ends the call at once: dbus-next never answers calls on a closed connection.
      return await Promise.race([fn(), this.lost]);
    } catch (e) {
      if (e instanceof RemoteError && e.code === 'ERR_SYSTEMD_BUS') throw e;
      throw systemdError({ verb, unit, scope: this.scope }, e);
    }
  }
}
