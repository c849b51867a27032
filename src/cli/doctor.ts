/**
 * `fleetkit doctor [SPEC]`: run on a host, checks what the cluster's units need of it, one line per check
 * with what to do when it is not ok. Exit 0 when every check is ok (or does not apply), 1 when one failed
 * or could not be decided, 2 for bad usage or a spec that cannot be used.
 */
import type { ClusterSpec } from '../cluster/types.js';
import { ExitCode, UsageError } from '../errors.js';
import { FLANNEL_DEFAULT_PREFIX } from '../flannel/flannel-etcd.js';
import { FLEET_CONNECTION_HELP, fleetConnectionFlagSpec, fleetConnectionFrom } from '../fleet/connection.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../doctor/check-clock.js';
import { CHECK_NAMES, formatReport, healthy, reportJson, runDoctor, summaryLine, type DoctorOptions } from '../doctor/doctor.js';
import type { RequiredVersions } from '../target/required-versions.js';
import { DEFAULT_TARGET, TARGETS, type TargetName } from '../target/targets.js';
import { durationOption, parseCommandArgs } from './args.js';
import { CLUSTER_FLAGS_HELP, clusterFlagSpec, readClusterSpec } from './cluster-flags.js';
import { etcdFlagSpec, etcdOptionsFrom } from './etcd-flags.js';
import type { Command } from './io.js';
import { targetHelp, targetOption } from './target-option.js';
import { agentStateDir } from '../render/view-parts.js';

const HELP = `usage: fleetkit doctor [SPEC] [options]

Checks this host for the cluster, one line per check ("ok", or what is wrong and a hint to fix it):
  systemd, docker   versions against the target (and any newer directive or flag the units use)
  docker-socket     the Docker engine answers on runtime.dockerSocket (else DOCKER_HOST, else the default)
  etcd              every endpoint answers, with the cluster's TLS files, and a read passes its auth
  etcd-v2           etcd serves the v2 API that fleet needs (3.4/3.5 with --enable-v2; 3.6 has none)
  flannel           subnet.env exists and its subnet is leased in etcd (when the cluster has flannel)
  fleet             fleet's API answers (skipped with --systemd)
  agent             fleetkit's agent answers on STATE_DIR/agent.sock
  hosts-file        watch-hosts can write the hosts file (checked without writing it)
  clock             this host's clock is within --max-clock-skew of etcd's (from etcd's Date headers)

options:
  --json                   one JSON object per check and line: check, status (ok|fail|unknown|skip), message, hint, ms
  --timeout D              longest wait of each check (default 5s): a silent server is a failed check, not a hang
  --check NAME             report only this check (repeatable): ${CHECK_NAMES.join(', ')}
  --target NAME            the host generation, when there is no SPEC or to override its x-fleetkit.target:
${targetHelp()}
  --systemd                the cluster runs without fleet (fleetkit load --systemd): fleet and etcd-v2 are skipped
  --endpoint URL           fleet's API (default FLEETCTL_ENDPOINT, else unix:///var/run/fleet.sock)
${FLEET_CONNECTION_HELP}  --docker PATH            the docker CLI the units run (default the spec's runtime.docker, else docker in PATH)
  --docker-host URL        the engine (default unix://runtime.dockerSocket, else DOCKER_HOST, else unix:///var/run/docker.sock)
  --state-dir DIR          the agent's state dir (default the cluster's, runtime.stateDir/NAME, else /run/fleetkit)
  --hosts-file FILE        the hosts file (default the spec's hosts.file, else /etc/hosts); --keep-inode as watch-hosts
  --flannel-env FILE       flanneld's subnet.env (default /run/flannel/subnet.env); checks flannel without a SPEC too
  --flannel-prefix P       flannel's etcd prefix without a SPEC (default /coreos.com/network)
  --max-clock-skew D       the clock difference that fails (default 1s, etcd's own limit between members)
  --etcd URL…              etcd endpoints; also --etcd-prefix, --etcd-ca/-cert/-key/-user/-password-file
${CLUSTER_FLAGS_HELP}

exit status: 0 when every check is ok or skipped, 1 when a check failed or is unknown, 2 for bad usage.
`;

const options = {
  ...clusterFlagSpec,
  ...etcdFlagSpec,
  ...fleetConnectionFlagSpec,
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  check: { type: 'string', multiple: true },
  target: { type: 'string' },
  systemd: { type: 'boolean' },
  endpoint: { type: 'string' },
  docker: { type: 'string' },
  'docker-host': { type: 'string' },
  'state-dir': { type: 'string' },
  'hosts-file': { type: 'string' },
  'keep-inode': { type: 'boolean' },
  'flannel-env': { type: 'string' },
  'flannel-prefix': { type: 'string' },
  'max-clock-skew': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SUBNET_ENV = '/run/flannel/subnet.env';

export const run: Command = async (argv, io) => {
  const { values: v, positionals } = parseCommandArgs('fleetkit doctor', argv, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length > 1) throw new UsageError(`doctor takes at most one SPEC file, got ${positionals.length} arguments`);
  const only = (v.check ?? []).flatMap((c) => c.split(',')).map((c) => c.trim()).filter(Boolean);
  const unknownChecks = only.filter((c) => !(CHECK_NAMES as readonly string[]).includes(c));
  if (unknownChecks.length) throw new UsageError(`unknown --check ${unknownChecks.join(', ')}`, `checks: ${CHECK_NAMES.join(', ')}`);
  const timeoutMs = durationOption('timeout', v.timeout, 5000);
  const maxClockSkewMs = durationOption('max-clock-skew', v['max-clock-skew'], DEFAULT_MAX_CLOCK_SKEW_MS);
  if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0');
  let spec: ClusterSpec | undefined;
  if (positionals[0] !== undefined) {
    spec = await readClusterSpec(positionals[0], v, io, 'fleetkit doctor');
  }
  const targetName: TargetName = targetOption(v.target, 'doctor') ?? spec?.target ?? DEFAULT_TARGET;
  const dockerSocket = spec?.runtime.dockerSocket;
  const flannelEnv = v['flannel-env'] ?? SUBNET_ENV;
  const flannelApi = targetName === 'legacy' ? 'v2' : 'v3';
  const fleet = v.systemd ? undefined : fleetEndpointFrom(v.endpoint, io.env);
  const o: DoctorOptions = {
    needs: await needsOf(spec, targetName),
    systemctl: 'systemctl',
    env: { ...io.env },
    docker: v.docker ?? spec?.runtime.docker ?? 'docker',
    dockerHost: v['docker-host'] ?? (dockerSocket ? `unix://${dockerSocket}` : undefined) ?? (io.env['DOCKER_HOST'] || 'unix:///var/run/docker.sock'),
    etcd: etcdOptionsFrom(v, spec?.etcd, io.env),
    fleet: fleet ?? 'the cluster runs without fleet (--systemd)',
    fleetConnection: fleet && fleetConnectionFrom(fleet, { tunnel: v.tunnel, caFile: v['ca-file'], certFile: v['cert-file'], keyFile: v['key-file'] }, io.env),
    flannel: spec?.flannel
      ? { envFile: flannelEnv, prefix: spec.flannel.prefix.replace(/\/+$/, ''), network: spec.flannel.network, api: flannelApi }
      : v['flannel-env'] !== undefined
        ? { envFile: flannelEnv, prefix: (v['flannel-prefix'] ?? FLANNEL_DEFAULT_PREFIX).replace(/\/+$/, ''), network: undefined, api: flannelApi }
        : spec
          ? 'the cluster has no flannel block'
          : 'no SPEC with a flannel block, and no --flannel-env',
    stateDir: v['state-dir'] ?? (spec ? agentStateDir(spec) : '/run/fleetkit'),
    hostsFile: { path: v['hosts-file'] ?? spec?.hosts.file ?? '/etc/hosts', keepInode: Boolean(v['keep-inode']) || (spec?.hosts.keepInode ?? false) },
    maxClockSkewMs,
    timeoutMs,
    only,
  };
  const reports = await runDoctor(o, (r) => io.stdout.write(v.json ? reportJson(r) : formatReport(r)));
  if (!v.json) io.stdout.write(summaryLine(reports));
  return healthy(reports) ? ExitCode.ok : ExitCode.failed;
};

/** What the units need: the target's versions, raised by what the spec's rendered units use. */
async function needsOf(spec: ClusterSpec | undefined, target: TargetName): Promise<RequiredVersions> {
  const { requiredVersions } = await import('../target/required-versions.js');
  if (!spec) return requiredVersions([], TARGETS[target]);
  const { renderCluster } = await import('../render/render.js');
  return requiredVersions(renderCluster({ ...spec, target }).files, TARGETS[target]);
}
