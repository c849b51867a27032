/**
 * The one line an operations command prints when an outside system it reads cannot be reached: which
 * system, at which endpoint, why (briefly), and what to check. `fleetkit events` and `fleetkit logs` say it
 * the same way.
 */
import { RemoteError, type RemoteSystem } from '../errors.js';

/** Where a source is and what to check when it does not answer: named in the failure line. */
export interface SourceEndpoint {
  readonly endpoint: string;
  readonly check: string;
}

/** `fleet at unix:///var/run/fleet.sock: connection refused; is fleetd running there? …` */
export function unreachable(system: RemoteSystem, src: SourceEndpoint, why: string): RemoteError {
  return new RemoteError(system, 'ERR_SOURCE_UNREACHABLE', `${system === 'systemd' ? 'D-Bus' : system} at ${src.endpoint}: ${why}; ${src.check}`);
}

/** Why a source failed to start, without the endpoint its error may repeat. */
export function startFailure(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: NodeJS.ErrnoException };
  return briefReason(err?.cause?.code ?? (e as NodeJS.ErrnoException)?.code ?? err?.message ?? String(e), timeoutMs);
}

/** An error code or text, said briefly: gRPC and dbus wrap the errno in long texts. */
export function briefReason(text: string, timeoutMs: number): string {
  const known: [RegExp, string][] = [
    [/ECONNREFUSED/, 'connection refused'],
    [/ENOENT/, 'no such socket'],
    [/EACCES/, 'permission denied'],
    [/ECONNRESET|EPIPE|closed the connection/, 'the connection was closed without an answer'],
    [/ETIMEDOUT|DEADLINE_EXCEEDED/, `no answer within ${timeoutMs} ms`],
  ];
  for (const [re, said] of known) if (re.test(text)) return said;
  return text.split('\n')[0]!;
}

/** What to check when fleet does not answer. */
export const FLEET_CHECK = 'is fleetd running there? check --endpoint or FLEETCTL_ENDPOINT';
/** What to check when etcd does not answer. */
export const ETCD_CHECK = 'is etcd running and reachable there? check --etcd, ETCDCTL_ENDPOINTS or etcd.endpoints in the spec';
/** What to check when the bus does not answer. */
export function busCheck(user: boolean): string {
  return user ? 'is the user manager running? check DBUS_SESSION_BUS_ADDRESS' : 'is the system bus running? run as root, or use --user';
}
