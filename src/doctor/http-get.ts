/**
 * One bounded HTTP GET, for doctor's probes: etcd's `/version` and v2 API, Docker's API socket. Failures
 * come back as one line saying what went wrong at the network or TLS level (refused, no socket, no answer,
 * which certificate check failed), because that line is what the user acts on.
 */
import type { EtcdTlsPem } from '../etcd/settings-files.js';

/** Where and how to GET. */
export interface HttpGetOptions {
  /** `http(s)://host:port/path`, or a path on `socketPath`. */
  readonly url: string;
  /** A unix socket to send the request over (the URL's host is then only the Host header). */
  readonly socketPath?: string | undefined;
  /** PEM contents for https (read by `etcd/settings-files.ts`): the CA that signs the server, a client certificate and key. */
  readonly tls?: EtcdTlsPem | undefined;
  /** `Authorization: Basic` user and password. */
  readonly basicAuth?: { readonly user: string; readonly password: string } | undefined;
  readonly signal: AbortSignal;
  /** Longest wait for the whole answer, ms. */
  readonly timeoutMs: number;
  /** Largest body read, bytes. Default 1 MiB. */
  readonly maxBytes?: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** Local clock (Date.now()) when the request was sent and when the answer's headers arrived. */
  readonly sentAt: number;
  readonly receivedAt: number;
}

/** A GET that failed before an answer; `reason` is the one-line cause. */
export class HttpGetError extends Error {
  constructor(readonly reason: string, readonly kind: 'refused' | 'missing' | 'timeout' | 'tls' | 'other') {
    super(reason);
  }
}

/** OpenSSL's verify codes as Node reports them, in words a user can act on. */
const TLS_REASONS: Readonly<Record<string, string>> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate is not signed by the given CA (self-signed certificate in chain)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not the given CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by the given CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by the given CA',
  CERT_HAS_EXPIRED: 'its certificate has expired (or this host\'s clock is wrong)',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet (or this host\'s clock is wrong)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this address',
  EPROTO: 'the TLS handshake failed (is it serving plain http?)',
};

/** GETs `o.url`; rejects with HttpGetError. */
export async function httpGet(o: HttpGetOptions): Promise<HttpAnswer> {
  const url = new URL(o.url);
  const https = url.protocol === 'https:';
  const mod = https ? await import('node:https') : await import('node:http');
  const maxBytes = o.maxBytes ?? 1024 * 1024;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (o.basicAuth) headers['authorization'] = `Basic ${Buffer.from(`${o.basicAuth.user}:${o.basicAuth.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const sentAt = Date.now();
    const req = mod.request(url, {
      method: 'GET',
      headers,
      agent: false,
      ...(o.socketPath ? { socketPath: o.socketPath } : {}),
      ...(https ? { ...o.tls, rejectUnauthorized: true } : {}),
    }, (res) => {
      const receivedAt = Date.now();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > maxBytes) req.destroy(new HttpGetError(`the answer is larger than ${maxBytes} bytes`, 'other'));
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sentAt, receivedAt });
      });
      res.on('error', () => undefined);
    });
    const timer = setTimeout(() => req.destroy(new HttpGetError(`no answer within ${o.timeoutMs} ms`, 'timeout')), o.timeoutMs);
    const onAbort = (): void => void req.destroy(new HttpGetError('stopped: the check ran out of time', 'timeout'));
    o.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      reject(e instanceof HttpGetError ? e : describeError(e));
    });
    req.on('close', () => o.signal.removeEventListener('abort', onAbort));
    req.end();
  });
}

/** A socket or TLS error as one line. */
export function describeError(e: NodeJS.ErrnoException): HttpGetError {
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return new HttpGetError('connection refused (nothing listens there)', 'refused');
  if (code === 'ENOENT') return new HttpGetError('no such socket', 'missing');
  if (code === 'ECONNRESET') return new HttpGetError('the connection was reset (a plain-http client on a TLS port, or a TLS server that wants a client certificate?)', 'other');
  if (code === 'EACCES') return new HttpGetError('permission denied', 'other');
  const tls = TLS_REASONS[code];
  if (tls) return new HttpGetError(tls, 'tls');
  // The server's TLS alert: OpenSSL's text is `…:ssl3_read_bytes:sslv3 alert bad certificate:…`.
  const alert = /alert ([a-z ]+?)(?::|$)/i.exec(e.message)?.[1];
  if (alert && /certificate/i.test(alert)) return new HttpGetError(`it refused this client's certificate, or the lack of one (TLS alert "${alert}")`, 'tls');
  if (alert) return new HttpGetError(`it ended the TLS handshake (TLS alert "${alert}")`, 'tls');
  if (/certificate|handshake|ssl/i.test(e.message)) return new HttpGetError(`TLS: ${e.message.split('\n')[0]}`, 'tls');
  return new HttpGetError(code ? `${code}: ${e.message}` : e.message, 'other');
}
