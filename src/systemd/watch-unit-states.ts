/**
 * Following units' ActiveState/SubState over D-Bus: systemd's `PropertiesChanged` signals for every unit
 * object, received through one match rule (no proxy object per unit), after `Subscribe` (systemd sends unit
 * signals only while someone is subscribed). The starting states come from `ListUnits`, read after the
 * match is in place so no change between the two is missed.
 */
import type { Message, MessageBus } from 'dbus-next';
import { RemoteError } from '../errors.js';
import { busAddressFor, closeBus, onBusLost } from './systemd-manager.js';
import { systemdError } from './systemd-error.js';

const DEST = 'org.freedesktop.systemd1';
const PATH = '/org/freedesktop/systemd1';
const UNIT_PREFIX = '/org/freedesktop/systemd1/unit/';

/** A unit's state as a change reports it. */
export interface UnitStateChange {
  readonly unit: string;
  readonly activeState: string;
  readonly subState: string | undefined;
}

/** Options of watchUnitStates. */
export interface WatchUnitStatesOptions {
  readonly user: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  /** Every loaded unit's state at the start. */
  readonly onInitial: (states: readonly UnitStateChange[]) => void;
  /** A PropertiesChanged carrying ActiveState (possibly unchanged: systemd resends all of them). */
  readonly onChange: (change: UnitStateChange) => void;
  /**
   * Given, once the bus answers: reads a unit's `FragmentPath` (the file it was loaded from; an instance's is
   * its template's) on the same bus, undefined when it has none.
   */
  readonly onBus?: (fragmentPath: (unit: string) => Promise<string | undefined>) => void;
}

/** `web_40_2eservice`-style object path → `web@.service` (systemd's bus label escaping: `_XX` hex). */
export function unitNameFromPath(path: string): string | undefined {
  if (!path.startsWith(UNIT_PREFIX)) return undefined;
  return path.slice(UNIT_PREFIX.length).replace(/_([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Watches until `signal` aborts. Rejects when the bus cannot be reached. */
export async function watchUnitStates(o: WatchUnitStatesOptions): Promise<void> {
  const scope = o.user ? 'user' : 'system';
  const address = busAddressFor(o.user, o.env);
  const dbus = await import('dbus-next');
  const bus: MessageBus = dbus.sessionBus({ busAddress: address });
  const call = (member: string, signature = '', body: unknown[] = [], destination = DEST, path = PATH, iface = `${DEST}.Manager`): Promise<Message | null> =>
    bus.call(new dbus.Message({ destination, path, interface: iface, member, signature, body }));
  let failed: (e: unknown) => void = () => undefined;
  const broken = new Promise<never>((_, reject) => (failed = reject));
  onBusLost(bus, (e) => failed(e));
  // A bus that accepts and never answers holds the start forever: the caller's signal ends the wait.
  const stopped = new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
  bus.on('message', (msg: Message) => {
    if (msg.interface !== 'org.freedesktop.DBus.Properties' || msg.member !== 'PropertiesChanged') return;
    const unit = unitNameFromPath(msg.path ?? '');
    const [iface, changed] = msg.body as [string, Record<string, { value: unknown }>];
    if (!unit || iface !== `${DEST}.Unit` || !changed?.['ActiveState']) return;
    o.onChange({ unit, activeState: String(changed['ActiveState'].value), subState: changed['SubState'] ? String(changed['SubState'].value) : undefined });
  });
  try {
    await Promise.race([
      (async () => {
        await call('AddMatch', 's', [`type='signal',sender='${DEST}',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='${UNIT_PREFIX.slice(0, -1)}'`],
          'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus');
        await call('Subscribe');
        const reply = await call('ListUnits');
        const rows = (reply?.body[0] ?? []) as unknown[][];
        o.onBus?.(async (unit) => {
          const path = String((await call('GetUnit', 's', [unit]))?.body[0] ?? '');
          const reply = await call('Get', 'ss', [`${DEST}.Unit`, 'FragmentPath'], DEST, path, 'org.freedesktop.DBus.Properties');
          const value = (reply?.body[0] as { value?: unknown } | undefined)?.value;
          return typeof value === 'string' && value !== '' ? value : undefined;
        });
        o.onInitial(rows.map((r) => ({ unit: String(r[0]), activeState: String(r[3]), subState: String(r[4]) })));
      })(),
      broken,
      stopped,
    ]);
  } catch (e) {
    closeBus(bus);
    if (e instanceof RemoteError) throw e;
    const err = e as { type?: string };
    if (err?.type) throw systemdError({ verb: 'watch units', unit: undefined, scope }, e);
    throw new RemoteError('systemd', 'ERR_SYSTEMD_UNREACHABLE', `cannot connect to the ${scope} bus at ${address}: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
      hint: o.user ? 'is the user manager running? check DBUS_SESSION_BUS_ADDRESS' : 'is the system bus running? run as root, or use --user',
    });
  }
  await new Promise<void>((resolve, reject) => {
    if (o.signal.aborted) return resolve();
    o.signal.addEventListener('abort', () => resolve(), { once: true });
    broken.catch((e: unknown) => reject(new RemoteError('systemd', 'ERR_SYSTEMD_BUS', `lost the ${scope} bus at ${address}: ${(e as Error)?.message ?? String(e)}`, { cause: e })));
  }).finally(() => closeBus(bus));
}
