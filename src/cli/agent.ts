/**
 * `fleetkit agent`: the per-host announce agent (a global unit). Runs until SIGTERM/SIGINT and exits 0.
 *
 * On the way out it keeps its leases (recorded in STATE_DIR/leases.json) unless `--revoke-on-exit` is given:
 * a process cannot tell an upgrade or `systemctl restart` from a stop for good, and only a kept lease lets
 * the next agent take every announcement over with no gap in any hosts file. A stop for good therefore
 * costs at most the TTL: unclaimed, the leases expire, as after a crash. Announcements of containers that
 * stop with their units go at once anyway (their sidekicks withdraw them and docker's events say so).
 */
import { ExitCode } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { startAgent, type AgentOptions } from '../announce/start-agent.js';
import { durationOption, parseCommandArgs } from './args.js';
import { UsageError } from '../errors.js';
import { etcdFlagSpec, etcdOptionsFrom } from './etcd-flags.js';
import type { Command } from './io.js';

const HELP = `usage: fleetkit agent [OPTIONS]

Holds every announcement of this host: registrations come from 'fleetkit announce' over
STATE_DIR/agent.sock; each is put in etcd under a lease while its container runs and is healthy.

options:
  --etcd URL                 etcd endpoint (repeat or comma-separate); default $ETCDCTL_ENDPOINTS or http://127.0.0.1:2379
  --etcd-prefix P            keys must lie under P (default /services)
  --etcd-ca/-cert/-key FILE  etcd TLS files
  --etcd-user U --etcd-password-file FILE   etcd authentication
  --state-dir DIR            registry and socket (default /run/fleetkit)
  --cluster NAME             publish container facts only for containers labelled fleetkit.cluster=NAME
                             (each cluster's agent: two agents must not publish the same unit)
  --docker-host URL          default $DOCKER_HOST or unix:///var/run/docker.sock
  --flannel-env FILE         flannel's subnet.env (default /run/flannel/subnet.env)
  --flannel-prefix P         flannel's etcd prefix, where this host's lease (its PublicIP) is (default /coreos.com/network)
  --ip IP                    this host's address, announced for host-network containers
  --machine-id ID            default /etc/machine-id
  --facts-ttl 60s            lease TTL of the container facts (<prefix>/_facts/<machine>/<unit>); the default
                             is the default announcement TTL, so both share one lease
  --revoke-on-exit           revoke the leases on SIGTERM, so this host's keys go at once; without it they
                             stay for the next agent to take over (an upgrade or restart keeps every
                             announcement) and expire within their TTL if none comes
  --debug                    log every docker event (<7>)
`;

/** Flags shared by the agent and `announce --standalone`: docker, flannel and host identity. */
export const hostFlagSpec = {
  'docker-host': { type: 'string' },
  'flannel-env': { type: 'string' },
  'flannel-prefix': { type: 'string' },
  ip: { type: 'string' },
  'machine-id': { type: 'string' },
  debug: { type: 'boolean' },
} as const;

/** The agent's options from hostFlagSpec's values; `DOCKER_HOST` when `--docker-host` is not given. */
export function hostOptionsFrom(
  values: {
    readonly 'docker-host'?: string | undefined; readonly 'flannel-env'?: string | undefined; readonly 'flannel-prefix'?: string | undefined;
    readonly ip?: string | undefined; readonly 'machine-id'?: string | undefined;
  },
  env: Readonly<Record<string, string | undefined>>,
): Pick<AgentOptions, 'dockerHost' | 'flannelEnv' | 'flannelPrefix' | 'ip' | 'machineId'> {
  const flannelPrefix = values['flannel-prefix']?.replace(/\/+$/, '') || undefined;
  return { dockerHost: values['docker-host'] ?? env['DOCKER_HOST'], flannelEnv: values['flannel-env'], flannelPrefix, ip: values.ip, machineId: values['machine-id'] };
}

export const run: Command = async (argv, io) => {
  const { values } = parseCommandArgs('fleetkit agent', argv, {
    ...etcdFlagSpec,
    ...hostFlagSpec,
    'state-dir': { type: 'string' },
    cluster: { type: 'string' },
    'facts-ttl': { type: 'string' },
    'revoke-on-exit': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const { prefix, ...etcd } = etcdOptionsFrom(values, undefined, io.env);
  const factsTtlMs = durationOption('facts-ttl', values['facts-ttl'], 60_000);
  if (factsTtlMs % 1000 !== 0 || factsTtlMs < 5000) throw new UsageError(`--facts-ttl must be whole seconds, at least 5s, not "${values['facts-ttl']}"`, 'e.g. --facts-ttl 60s');
  // A log reader that goes away (journald restarted, a closed pipe) must not take the agent down with EPIPE.
  (io.stdout as Partial<NodeJS.WriteStream>).on?.('error', () => undefined);
  const log = createLogger(io.stdout, { debug: values.debug ?? false, env: io.env });
  const agent = await startAgent({
    etcd,
    prefix,
    stateDir: values['state-dir'] ?? '/run/fleetkit',
    cluster: values.cluster,
    factsTtl: factsTtlMs / 1000,
    ...hostOptionsFrom(values, io.env),
    log,
  });
  log.info(`agent ready (etcd ${etcd.endpoints.join(', ')}, prefix ${prefix})`);
  if (!io.signal.aborted) await new Promise((resolve) => io.signal.addEventListener('abort', resolve, { once: true }));
  const revoke = values['revoke-on-exit'] ?? false;
  log.info(revoke ? 'stopping: revoking leases (--revoke-on-exit)' : 'stopping: keeping leases for the next agent');
  await agent.close({ revoke });
  return ExitCode.ok;
};
