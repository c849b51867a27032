/**
 * D-Bus errors from systemd turned into plain sentences naming the unit and what to do. The D-Bus error name
 * is kept as `cause` for debugging, never shown as the message.
 */
import { RemoteError } from '../errors.js';

/** What was being done, for the sentence: `start web@1.service`, `reload`, `enable web@.service`. */
export interface SystemdCall {
  readonly verb: string;
  readonly unit: string | undefined;
  /** `user` or `system`: which manager, so hints can suggest the other. */
  readonly scope: 'user' | 'system';
}

/** Maps a dbus-next error (`type` = D-Bus error name, `text`) to a RemoteError with a stable code. */
export function systemdError(call: SystemdCall, e: unknown): RemoteError {
  const err = e as { type?: unknown; text?: unknown; message?: unknown; code?: unknown };
  const type = typeof err?.type === 'string' ? err.type : '';
  const text = typeof err?.text === 'string' ? err.text : typeof err?.message === 'string' ? err.message : String(e);
  const what = call.unit ? `${call.verb} ${call.unit}` : call.verb;
  const cause = { cause: e };
  switch (type) {
    case 'org.freedesktop.systemd1.NoSuchUnit':
      return new RemoteError('systemd', 'ERR_SYSTEMD_NO_SUCH_UNIT',
        `systemd has no unit ${call.unit ?? ''}: it is not loaded and no unit file of that name was found`.replace('unit :', 'such unit:'),
        { ...cause, hint: `check the name, or load it first with 'fleetkit load --systemd${call.scope === 'user' ? ' --user' : ''}'` });
    case 'org.freedesktop.DBus.Error.AccessDenied':
    case 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired':
      return new RemoteError('systemd', 'ERR_SYSTEMD_ACCESS_DENIED',
        `systemd refused to ${what}: permission denied`,
        { ...cause, hint: call.scope === 'system' ? 'run as root (e.g. with sudo), or use --user for your own user manager' : 'a user manager only obeys its own user: run as that user' });
    case 'org.freedesktop.systemd1.UnitMasked':
      return new RemoteError('systemd', 'ERR_SYSTEMD_MASKED', `cannot ${what}: the unit is masked`, { ...cause, hint: `unmask it with 'systemctl${call.scope === 'user' ? ' --user' : ''} unmask ${call.unit ?? ''}'` });
    case 'org.freedesktop.systemd1.LoadFailed':
    case 'org.freedesktop.systemd1.BadUnitSetting':
      return new RemoteError('systemd', 'ERR_SYSTEMD_LOAD_FAILED', `systemd cannot load ${call.unit ?? 'the unit'}: ${text}`, { ...cause, hint: 'check the unit file with systemd-analyze verify' });
    case 'org.freedesktop.DBus.Error.ServiceUnknown':
    case 'org.freedesktop.DBus.Error.NameHasNoOwner':
      return new RemoteError('systemd', 'ERR_SYSTEMD_UNREACHABLE', `no systemd manager answers on the ${call.scope} bus`, { ...cause, hint: call.scope === 'user' ? 'is a user manager running (systemctl --user status)?' : 'is systemd PID 1 here? use --user for a user manager' });
    case 'org.freedesktop.DBus.Error.NoReply':
    case 'org.freedesktop.DBus.Error.Timeout':
      return new RemoteError('systemd', 'ERR_SYSTEMD_TIMEOUT', `systemd did not answer ${what} in time`, cause);
    default:
      if (type) return new RemoteError('systemd', 'ERR_SYSTEMD_REFUSED', `systemd refused to ${what}: ${text}`, cause);
      return new RemoteError('systemd', 'ERR_SYSTEMD_BUS', `talking to systemd (${what}) failed: ${text}`, cause);
  }
}
