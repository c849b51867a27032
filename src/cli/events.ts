/**
 * `fleetkit events [SPEC]`: one stream of unit, announcement and machine changes, each with an action and a
 * severity, as journalctl-style lines or (`--json`) one JSON object per line. Runs until interrupted.
 */
import { ExitCode } from '../errors.js';
import { connectEtcd } from '../etcd/connect.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { localMachineId } from '../ops/local-machine.js';
import { eventJson, formatEventLine } from '../ops/ops-event.js';
import { streamEvents } from '../ops/stream-events.js';
import { serviceNames } from '../render/plan-container.js';
import { durationOption, parseCommandArgs } from './args.js';
import { etcdOptionsFrom } from './etcd-flags.js';
import { useColor, type Command } from './io.js';
import { opsFlagSpec, opsSpecFrom } from './ops-flags.js';

const HELP = `usage: fleetkit events [SPEC] [options]

One stream of changes until interrupted: units (start, stop, die; create, update, delete in fleet),
announcements in etcd (create, update, delete) and machines (online, offline), each with a severity
(INFO, WARNING, ERROR). With SPEC, only the spec's units are reported.

options:
  --json                   one JSON object per line
  --systemd [--user]       follow the local systemd over D-Bus (PropertiesChanged) instead of polling fleet
  --interval D             how often fleet is polled (default 1s)
  --no-announcements       do not watch etcd
  --endpoint URL           fleet's API (default FLEETCTL_ENDPOINT, else unix:///var/run/fleet.sock)
  --machine-id ID          this host's machine id, named in --systemd events (default /etc/machine-id)
  --etcd URL…              etcd endpoints; also --etcd-prefix, --etcd-ca/-cert/-key/-user/-password-file
`;

const options = {
  ...opsFlagSpec,
  'no-announcements': { type: 'boolean' },
} as const;

export const run: Command = async (argv, io) => {
  const { values: v, positionals } = parseCommandArgs('fleetkit events', argv, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const spec = await opsSpecFrom('events', positionals, v, 'follows');
  const pollMs = durationOption('interval', v.interval, 1000);
  const wanted = spec ? new Set(spec.services.flatMap((s) => { const n = serviceNames(s); return [...n.instances, ...n.discoveryInstances]; })) : undefined;
  const etcdOpts = etcdOptionsFrom(v, spec?.etcd, io.env);
  const etcd = v['no-announcements'] ? undefined : { client: await connectEtcd(etcdOpts), prefix: etcdOpts.prefix };
  let fleet: import('../fleet/fleet-client.js').FleetClient | undefined;
  if (!v.systemd) {
    const { FleetClient } = await import('../fleet/fleet-client.js');
    fleet = new FleetClient({ endpoint: fleetEndpointFrom(v.endpoint, io.env), timeoutMs: 5000 });
  }
  const color = useColor(io);
  try {
    await streamEvents({
      fleet,
      pollMs,
      systemd: v.systemd ? { user: Boolean(v.user), machineId: await localMachineId(v['machine-id']) } : undefined,
      etcd,
      include: wanted ? (u) => wanted.has(u) : () => true,
      env: io.env,
      signal: io.signal,
      emit: (e) => io.stdout.write(`${v.json ? eventJson(e) : formatEventLine(e, color)}\n`),
      log: (line) => io.stderr.write(`fleetkit events: ${line.replace(/^<\d>/, '')}\n`),
      // Said once every source has its starting point: from here on every change is reported.
      onReady: () => io.stderr.write(`fleetkit events: watching ${[
        v.systemd ? `the ${v.user ? 'user' : 'system'} systemd over D-Bus` : `fleet at ${fleet?.endpoint.text} every ${pollMs} ms`,
        ...(etcd ? [`announcements under ${etcd.prefix}/`] : []),
      ].join(' and ')}\n`),
    });
  } finally {
    fleet?.close();
    etcd?.client.close();
  }
  return ExitCode.ok;
};
