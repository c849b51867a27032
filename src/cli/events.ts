/**
 * `fleetkit events [SPEC]`: one stream of unit, announcement and machine changes, each with an action and a
 * severity, as journalctl-style lines or (`--json`) one JSON object per line. Runs until interrupted.
 */
import { ExitCode } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { connectEtcd } from '../etcd/connect.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { localMachineId } from '../ops/local-machine.js';
import { eventJson, formatEventLine } from '../ops/ops-event.js';
import { streamEvents } from '../ops/stream-events.js';
import { busCheck, ETCD_CHECK, FLEET_CHECK } from '../ops/unreachable.js';
import { serviceNames } from '../render/plan-container.js';
import { busAddressFor } from '../systemd/systemd-manager.js';
import { durationOption, parseCommandArgs } from './args.js';
import { etcdOptionsFrom } from './etcd-flags.js';
import { useColor, type Command } from './io.js';
import { opsFlagSpec, opsSpecFrom } from './ops-flags.js';
import { CLUSTER_FLAGS_HELP } from './cluster-flags.js';

const HELP = `usage: fleetkit events [SPEC] [options]

One stream of changes until interrupted: units (start, stop, die; create, update, delete in fleet),
announcements in etcd (create, update, delete) and machines (online, offline), each with a severity
(INFO, WARNING, ERROR). With SPEC, only the cluster's units are reported: the spec's, and any unit that
carries the cluster's mark ([X-Fleetkit] Cluster=NAME), so a service added and loaded later is followed.

options:
  --json                   one JSON object per line
  --systemd [--user]       follow the local systemd over D-Bus (PropertiesChanged) instead of polling fleet
  --interval D             how often fleet is polled (default 1s)
  --timeout D              how long each source may take to answer at the start (default 5s); a source
                           lost later is said on stderr and reconnected
  --no-announcements       do not watch etcd
  --endpoint URL           fleet's API (default FLEETCTL_ENDPOINT, else unix:///var/run/fleet.sock)
  --machine-id ID          this host's machine id, named in --systemd events (default /etc/machine-id)
  --etcd URL…              etcd endpoints; also --etcd-prefix, --etcd-ca/-cert/-key/-user/-password-file
${CLUSTER_FLAGS_HELP}
`;

const options = {
  ...opsFlagSpec,
  'no-announcements': { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export const run: Command = async (argv, io) => {
  const startedAt = Date.now();
  const { values: v, positionals } = parseCommandArgs('fleetkit events', argv, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const spec = await opsSpecFrom('events', positionals, v, 'follows', io);
  const pollMs = durationOption('interval', v.interval, 1000);
  const timeoutMs = durationOption('timeout', v.timeout, 5000);
  const wanted = spec ? new Set(spec.services.flatMap((s) => { const n = serviceNames(s); return [...n.instances, ...n.discoveryInstances]; })) : undefined;
  const etcdOpts = etcdOptionsFrom(v, spec?.etcd, io.env);
  const etcd = v['no-announcements'] ? undefined : {
    // A read in flight outlives the client's close until its deadline: half the timeout keeps a silent
    // etcd from holding the process long after the failure line.
    client: await connectEtcd({ ...etcdOpts, callTimeoutMs: Math.max(250, Math.floor(timeoutMs / 2)) }),
    prefix: etcdOpts.prefix,
    endpoint: etcdOpts.endpoints.join(','),
    check: `${ETCD_CHECK} (--no-announcements does without)`,
  };
  let fleet: import('../fleet/fleet-client.js').FleetClient | undefined;
  if (!v.systemd) {
    const { FleetClient } = await import('../fleet/fleet-client.js');
    fleet = new FleetClient({ endpoint: fleetEndpointFrom(v.endpoint, io.env), timeoutMs });
  }
  const color = useColor(io);
  const log = createLogger({ write: (c: string) => io.stderr.write(c), fd: (io.stderr as { fd?: number }).fd }, { env: io.env, prefix: 'fleetkit events: ' });
  try {
    await streamEvents({
      fleet: fleet && { client: fleet, endpoint: fleet.endpoint.text, check: FLEET_CHECK },
      pollMs,
      systemd: v.systemd
        ? {
          user: Boolean(v.user),
          machineId: await localMachineId(v['machine-id']),
          endpoint: busAddressFor(Boolean(v.user), io.env),
          check: busCheck(Boolean(v.user)),
        }
        : undefined,
      etcd,
      timeoutMs,
      startedAt,
      include: wanted ? (u) => wanted.has(u) : () => true,
      // Units the spec's cluster loads after this started (a service added since) are its too, by their mark.
      cluster: spec?.name,
      env: io.env,
      signal: io.signal,
      emit: (e) => io.stdout.write(`${v.json ? eventJson(e) : formatEventLine(e, color)}\n`),
      log: (line) => log.line(line),
      // Said once every source has its starting point: from here on every change is reported.
      onReady: () => log.notice(`watching ${[
        v.systemd ? `the ${v.user ? 'user' : 'system'} systemd over D-Bus` : `fleet at ${fleet?.endpoint.text} every ${pollMs} ms`,
        ...(etcd ? [`announcements under ${etcd.prefix}/`] : []),
      ].join(' and ')}`),
    });
  } finally {
    fleet?.close();
    etcd?.client.close();
  }
  return ExitCode.ok;
};
