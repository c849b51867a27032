/**
 * Turns what went wrong talking to fleet into one sentence naming the unit (or call) and fleet's own text:
 * `fleet refused web@1.service: cannot activate template "web@.service" (400)`.
 */
import { RemoteError } from '../errors.js';

/** Which call failed, for the message: a unit name when there is one, else the method and path. */
export interface FleetCallInfo {
  readonly method: string;
  readonly path: string;
  readonly unit: string | undefined;
  readonly endpoint: string;
}

function subject(call: FleetCallInfo): string {
  return call.unit ?? `${call.method} ${call.path}`;
}

/** An HTTP answer ≥ 400: fleet's `{"error":{"code","message"}}` body, or whatever came. */
export function fleetHttpError(call: FleetCallInfo, status: number, body: string): RemoteError {
  let text = '';
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed?.error?.message === 'string') text = parsed.error.message;
  } catch {
    text = body.trim().slice(0, 200);
  }
  if (status >= 500) {
    // fleetd answers 500 with an empty message for most internal failures (etcd unreachable, bad stored data).
    return new RemoteError('fleet', 'ERR_FLEET_SERVER',
      `fleet failed on ${subject(call)}: ${text || 'internal error with no message'} (${status})`,
      { hint: `fleetd's own log says why (journalctl -u fleet on the machine serving ${call.endpoint})` });
  }
  const hint = status === 404 && !call.unit
    ? 'is this a fleet v1 API endpoint?'
    : status === 415
      ? 'a proxy between fleetkit and fleet may be rewriting Content-Type'
      : undefined;
  return new RemoteError('fleet', status === 409 ? 'ERR_FLEET_CONFLICT' : 'ERR_FLEET_REFUSED',
    `fleet refused ${subject(call)}: ${text || 'no message'} (${status})`, hint === undefined ? {} : { hint });
}

/** A transport failure: no socket, refused, reset, closed without an answer, timed out. */
export function fleetTransportError(call: FleetCallInfo, err: NodeJS.ErrnoException, timeoutMs: number): RemoteError {
  const what = `${call.method} ${call.unit ?? call.path}`;
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'EACCES':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
      return new RemoteError('fleet', 'ERR_FLEET_UNREACHABLE',
        `cannot reach fleet at ${call.endpoint}: ${err.code === 'EACCES' ? 'permission denied' : err.code === 'ENOENT' ? 'no such socket' : err.code.toLowerCase()}`,
        { cause: err, hint: err.code === 'EACCES' ? 'the socket is group fleet (mode 0660): run as root or a member of group fleet' : 'is fleet running there? set --endpoint or FLEETCTL_ENDPOINT' });
    case 'ETIMEDOUT':
      return new RemoteError('fleet', 'ERR_FLEET_TIMEOUT', `fleet at ${call.endpoint} did not answer ${what} within ${timeoutMs} ms`,
        { cause: err, hint: 'raise --request-timeout, or check that fleetd and its etcd are healthy' });
    default:
      if (/CERT|SELF_SIGNED|UNABLE_TO|DEPTH_ZERO|^ERR_TLS|^ERR_SSL/.test(err.code ?? '')) {
        return new RemoteError('fleet', 'ERR_FLEET_TLS', `TLS with fleet at ${call.endpoint} failed: ${err.message}`,
          { cause: err, hint: 'give the CA that signed fleet\'s certificate with --ca-file (or FLEETCTL_CA_FILE), and a client certificate with --cert-file/--key-file if fleet asks for one' });
      }
      // A TLS server that wants a client certificate may close the socket before its alert arrives (TLS 1.3
      // sends it after the handshake): on https, a close is first of all a TLS question, not a crash.
      if (call.endpoint.startsWith('https:')) {
        return new RemoteError('fleet', 'ERR_FLEET_CLOSED', `fleet at ${call.endpoint} closed the TLS connection without answering ${what}`,
          { cause: err, hint: 'if fleet requires a client certificate, give it with --cert-file/--key-file (or FLEETCTL_CERT_FILE/FLEETCTL_KEY_FILE); otherwise fleetd\'s log (journalctl -u fleet) says why' });
      }
      return new RemoteError('fleet', 'ERR_FLEET_CLOSED', `fleet closed the connection without answering ${what}`,
        { cause: err, hint: `fleetd may have crashed on this request; its log (journalctl -u fleet) says why` });
  }
}
