/**
 * `fleetkit status [SPEC]`: one table per service (instance, machine, fleet's desired/current state,
 * systemd's active/sub state, the announced address and its age, whether the hosts file has it) and a
 * machines table, with every disagreement flagged. `--watch` re-renders on changes until interrupted.
 */
import { ExitCode } from '../errors.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { buildStatus } from '../ops/build-status.js';
import { StatusSources } from '../ops/fetch-status.js';
import { localMachineId } from '../ops/local-machine.js';
import { busCheck, FLEET_CHECK } from '../ops/unreachable.js';
import { busAddressFor } from '../systemd/systemd-manager.js';
import { renderStatusTable, statusJson } from '../ops/render-status.js';
import { watchStatus } from '../ops/watch-status.js';
import { durationOption, parseCommandArgs } from './args.js';
import { etcdOptionsFrom } from './etcd-flags.js';
import { useColor, type Command } from './io.js';
import { opsFlagSpec, opsSpecFrom } from './ops-flags.js';
import { CLUSTER_FLAGS_HELP } from './cluster-flags.js';

const HELP = `usage: fleetkit status [SPEC] [options]

What runs where, what etcd announces, and where they disagree: one table per service, then the machines.
Units and states come from fleet's API (or the local systemd with --systemd), announcements from etcd.

options:
  --json                   one JSON document (with --watch: one compact document per line per change)
  --watch                  re-render on every change (etcd watch, fleet polled) until interrupted
  --interval D             how often --watch polls fleet or systemd (default 2s)
  --timeout D              how long each source (fleet or D-Bus, etcd) may take to answer (default 5s); one
                           that does not is named, and what the others show is still printed
  --systemd [--user]       read the local systemd over D-Bus instead of fleet (needs SPEC)
  --endpoint URL           fleet's API (default FLEETCTL_ENDPOINT, else unix:///var/run/fleet.sock)
  --hosts-file FILE        the hosts file to check (default: the spec's hosts.file, else /etc/hosts)
  --machine-id ID          this host's machine id (default /etc/machine-id)
  --etcd URL…              etcd endpoints; also --etcd-prefix, --etcd-ca/-cert/-key/-user/-password-file
${CLUSTER_FLAGS_HELP}

exit status: 0 when everything agrees, 1 when something is flagged or could not be read, 2 for bad usage.
Restart counts and last exits come from systemd's NRestarts, or on fleet from the container facts the agent
on each machine publishes in etcd. A container whose config hash (from those facts) is not its unit's is flagged
old-config: it was not restarted since its unit changed (fleetkit load --replace restarts it).
`;

const options = {
  ...opsFlagSpec,
  watch: { type: 'boolean' },
  'hosts-file': { type: 'string' },
  timeout: { type: 'string' },
} as const;

export const run: Command = async (argv, io) => {
  const { values: v, positionals } = parseCommandArgs('fleetkit status', argv, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const spec = await opsSpecFrom('status', positionals, v, 'reads', io);
  const intervalMs = durationOption('interval', v.interval, 2000);
  const timeoutMs = durationOption('timeout', v.timeout, 5000);
  const user = Boolean(v.user);
  const fleet = v.systemd ? undefined : fleetEndpointFrom(v.endpoint, io.env);
  const sources = new StatusSources({
    spec,
    host: fleet
      ? { kind: 'fleet', endpoint: fleet, requestTimeoutMs: timeoutMs, parallel: 4, signal: io.signal }
      : { kind: 'systemd', user, runtime: false, unitDir: undefined, journalDir: undefined, settleMs: 0, env: io.env, connectTimeoutMs: timeoutMs },
    hostEndpoint: fleet ? { endpoint: fleet.text, check: FLEET_CHECK } : { endpoint: busAddressFor(user, io.env), check: busCheck(user) },
    etcd: etcdOptionsFrom(v, spec?.etcd, io.env),
    hostsFile: v['hosts-file'] ?? spec?.hosts.file ?? '/etc/hosts',
    machineId: v.systemd ? await localMachineId(v['machine-id']) : undefined,
    timeoutMs,
  });
  const color = useColor(io);
  try {
    if (v.watch) {
      await watchStatus(sources, { intervalMs, signal: io.signal, onModel: (model, first) => {
        if (v.json) io.stdout.write(`${JSON.stringify(model)}\n`);
        else io.stdout.write(`${color && !first ? '\x1b[H\x1b[2J' : first ? '' : '\n'}${renderStatusTable(model, { color })}`);
      } });
      return ExitCode.ok;
    }
    const model = buildStatus(await sources.read());
    io.stdout.write(v.json ? statusJson(model) : renderStatusTable(model, { color }));
    return model.problems === 0 && model.warnings.length === 0 ? ExitCode.ok : ExitCode.failed;
  } finally {
    sources.close();
  }
};
