/**
 * A raw HTTP client for the fleet server's tests: status line, headers in wire order and body exactly as
 * sent, over a unix socket or TCP — and a dropped connection reported as such, not as an exception.
 */
import { request } from 'node:http';
import type { FleetServer } from './server.js';

/** A request to send. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** What came back: a response, or a connection closed without one. */
export type RawResponse =
  | { readonly crashed: false; readonly status: number; readonly statusText: string; readonly rawHeaders: readonly string[]; readonly body: string }
  | { readonly crashed: true };

/** Sends one request over the server's unix socket (`via: 'unix'`) or TCP. */
export function rawRequest(server: FleetServer, via: 'unix' | 'tcp', req: RawRequest): Promise<RawResponse> {
  const target = via === 'unix' ? { socketPath: server.socketPath } : { host: '127.0.0.1', port: Number(new URL(server.httpUrl ?? '').port) };
  return new Promise((resolve, reject) => {
    const r = request({ ...target, method: req.method, path: req.path, headers: { ...(req.headers ?? {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ crashed: false, status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.message === 'socket hang up') resolve({ crashed: true });
      else reject(err);
    });
    if (req.body !== undefined) r.end(req.body);
    else r.end();
  });
}

/** The value of a header in a raw header list, or undefined. */
export function header(res: RawResponse, name: string): string | undefined {
  if (res.crashed) return undefined;
  for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]?.toLowerCase() === name.toLowerCase()) return res.rawHeaders[i + 1];
  return undefined;
}
