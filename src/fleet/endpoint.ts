/**
 * Where fleet's API lives. fleetctl's conventions: `--endpoint` wins, then `FLEETCTL_ENDPOINT`, then
 * `unix:///var/run/fleet.sock`. A unix endpoint is a socket path; an http(s) endpoint is a base URL.
 */
import { UsageError } from '../errors.js';

/** fleetctl's default endpoint. */
export const DEFAULT_FLEET_ENDPOINT = 'unix:///var/run/fleet.sock';

/** A parsed endpoint: a unix socket, or an http(s) origin (path prefix kept for proxies). */
export type FleetEndpoint =
  | { readonly kind: 'unix'; readonly socketPath: string; readonly text: string }
  | { readonly kind: 'http'; readonly url: URL; readonly text: string };

/**
 * Parses `unix:///path`, `http://host:port` or `https://host:port[/prefix]`. fleetctl accepts a comma-separated
 * list and uses the first; so do we.
 */
export function parseFleetEndpoint(text: string): FleetEndpoint {
  const first = text.split(',')[0]!.trim();
  if (first.startsWith('unix://')) {
    const socketPath = first.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw new UsageError(`fleet endpoint "${first}" needs an absolute socket path`, 'write it as unix:///var/run/fleet.sock');
    }
    return { kind: 'unix', socketPath, text: first };
  }
  let url: URL;
  try {
    url = new URL(first);
  } catch {
    throw new UsageError(`fleet endpoint "${first}" is not a URL`, 'use unix:///PATH, http://HOST:PORT or https://HOST:PORT');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`fleet endpoint "${first}" has an unsupported scheme "${url.protocol}"`, 'use unix://, http:// or https://');
  }
  return { kind: 'http', url, text: first };
}

/** The endpoint a command uses: the flag, else `FLEETCTL_ENDPOINT`, else fleetctl's default. */
export function fleetEndpointFrom(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): FleetEndpoint {
  const env_ = env['FLEETCTL_ENDPOINT']?.trim();
  return parseFleetEndpoint(flag ?? (env_ ? env_ : DEFAULT_FLEET_ENDPOINT));
}
