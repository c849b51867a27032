/**
 * The one place that decides which UnitHost a command talks to: the local systemd (`--systemd`) or fleet's
 * API (the default). Adapters and their packages are loaded lazily.
 */
import type { FleetEndpoint } from '../fleet/endpoint.js';
import type { SystemdHostOptions } from './systemd-unit-host.js';
import type { UnitHost } from './unit-host.js';

export type UnitHostOptions =
  | ({ readonly kind: 'systemd' } & SystemdHostOptions)
  | {
      readonly kind: 'fleet';
      readonly endpoint: FleetEndpoint;
      readonly requestTimeoutMs: number;
      readonly parallel: number;
      /** Aborts requests in flight (SIGINT). */
      readonly signal?: AbortSignal;
      /** TLS material and tunnel (src/fleet/connection.ts). */
      readonly connection?: Pick<import('../fleet/fleet-client.js').FleetClientOptions, 'tls' | 'connect'>;
    };

/** Connects to the host the options name. Call `close()` when done. */
export async function openUnitHost(o: UnitHostOptions): Promise<UnitHost> {
  if (o.kind === 'systemd') {
    const { SystemdUnitHost } = await import('./systemd-unit-host.js');
    return SystemdUnitHost.open(o);
  }
  const [{ FleetClient }, { FleetUnitHost }] = await Promise.all([import('../fleet/fleet-client.js'), import('./fleet-unit-host.js')]);
  const client = new FleetClient({ endpoint: o.endpoint, timeoutMs: o.requestTimeoutMs, maxSockets: o.parallel, ...(o.signal ? { signal: o.signal } : {}), ...o.connection });
  return new FleetUnitHost(client, o.endpoint.text);
}
