/**
 * Which containers mount the cluster's containers' hosts file (`x-fleetkit.hosts.containers`, written by
 * `watch-hosts --containers-file`) as their /etc/hosts, read-only. Pure.
 *
 * A mounted /etc/hosts replaces the one docker writes, and with it docker's own lines: the container's host
 * name and `extra_hosts` (`--add-host`) lines. So a service that names its host name or extra hosts keeps
 * docker's file (its own name must resolve, RabbitMQ and others fail without), as does one that mounts its own
 * /etc/hosts, or runs on the host's network (it shares the host's names) or on none.
 */
import type { HostsSpec, ServiceSpec } from '../cluster/types.js';
import { dockerHas, type Target } from '../target/targets.js';

/** Where the file goes in the container. */
export const CONTAINER_HOSTS_PATH = '/etc/hosts';

/** Why a service keeps docker's /etc/hosts, or undefined when it mounts the cluster's file. */
export function hostsMountSkipped(hosts: HostsSpec, service: ServiceSpec): string | undefined {
  if (hosts.containers === undefined) return 'x-fleetkit.hosts.containers is false';
  if (service.run.network === 'host' || service.run.network === 'none') return `network_mode: ${service.run.network}`;
  if (service.volumes.some((v) => v.target.replace(/\/+$/, '') === CONTAINER_HOSTS_PATH)) return 'it mounts its own /etc/hosts';
  if (service.run.extraHosts.length > 0) return 'extra_hosts: docker writes them into its own /etc/hosts only';
  if (service.hostname !== undefined) return 'hostname: its own name resolves through docker\'s /etc/hosts only';
  if (service.run.keepsDockerHosts !== undefined) return service.run.keepsDockerHosts;
  return undefined;
}

/** Docker's `run --mount` (src/target/feature-table.ts). */
const MOUNT_SINCE = [17, 6] as const;

/**
 * The `docker run` words that mount the file, or none. `--mount` rather than `-v`: a missing file is an error
 * (`bind source path does not exist`), where `-v` would make a directory in its place that the watcher could
 * then never write. A target whose Docker predates `--mount` (legacy: 1.12) gets `-v FILE:/etc/hosts:ro`.
 */
export function hostsMountArgs(hosts: HostsSpec, service: ServiceSpec, target: Target): string[] {
  if (hostsMountSkipped(hosts, service) !== undefined) return [];
  if (!dockerHas(target.docker, MOUNT_SINCE)) return ['-v', `${hosts.containers}:${CONTAINER_HOSTS_PATH}:ro`];
  return [`--mount=type=bind,source=${hosts.containers},target=${CONTAINER_HOSTS_PATH},readonly`];
}
