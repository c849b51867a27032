/** fleet answers its API (when the cluster uses fleet): the machines it lists, through fleetkit's own client. */
import { FleetClient, type FleetClientOptions } from '../fleet/fleet-client.js';
import type { FleetEndpoint } from '../fleet/endpoint.js';
import { fail, failFrom, ok, skip, type CheckDef } from './check.js';

/** `endpoint` (with fleetctl's TLS files or tunnel), or why fleet is not checked. */
export function fleetCheck(endpoint: FleetEndpoint | string, connection: Pick<FleetClientOptions, 'tls' | 'connect'> = {}): CheckDef {
  return {
    name: 'fleet',
    async run(ctx) {
      if (typeof endpoint === 'string') return skip(endpoint);
      const client = new FleetClient({ ...connection, endpoint, timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxSockets: 1 });
      try {
        const machines = await client.listMachines();
        if (machines.length === 0) return fail(`fleet at ${endpoint.text} answers but lists no machine`, 'fleetd on each host registers it in etcd: check fleetd\'s log and its etcd settings (FLEET_ETCD_SERVERS)');
        return ok(`fleet answers at ${endpoint.text} (${machines.length} machine${machines.length === 1 ? '' : 's'})`);
      } catch (e) {
        return failFrom(e);
      } finally {
        client.close();
      }
    },
  };
}
