/**
 * View models of fleetkit's own global units: `fleetkit-agent-NAME.service` (the per-host announce agent of
 * cluster NAME) and `fleetkit-hosts-NAME.service` (its `watch-hosts`), named per cluster (`src/unit/names.ts`)
 * so that clusters sharing a fleet each keep their own. Both run on every machine (`[X-Fleet] Global=true`), from the
 * binary (`runtime.fleetkit.kind: binary`) or from the image (`kind: image`) with the mounts each needs.
 */
import { FLANNEL_DEFAULT_PREFIX } from '../flannel/flannel-etcd.js';
import type { ClusterSpec, FleetPlacement } from '../cluster/types.js';
import { renderXFleet } from '../unit/xfleet.js';
import { execLine, textValue } from './exec-line.js';
import { agentContainer, agentStateDir, hostsContainer, hostView, trailingSections, type SectionView } from './view-parts.js';

/** What `templates/agent.hbs` and `templates/hosts.hbs` read. */
export interface FleetkitUnitView {
  readonly header: string;
  readonly description: string;
  readonly wants: readonly string[];
  readonly after: readonly string[];
  /** `Environment=` values: DOCKER_HOST for the image form's docker commands. */
  readonly environment: readonly string[];
  readonly execStartPre: readonly string[];
  readonly execStart: string;
  readonly execStartPost: readonly string[];
  readonly execStop: readonly string[];
  readonly restartSec: string;
  readonly timeoutStopSec: string;
  readonly syslogIdentifier: string;
  readonly sections: readonly SectionView[];
}

/** Where the image form mounts the hosts file's directory (a container's own /etc must stay its own). */
export const HOST_ROOT = '/host';

const GLOBAL: FleetPlacement = {
  conflicts: [],
  machineOf: [],
  machineMetadata: [],
  global: true,
  machineID: undefined,
  replaces: undefined,
};

/** etcd flags (src/cli/etcd-flags.ts spelling) for the spec's etcd block, without the prefix. */
export function etcdArgs(spec: ClusterSpec): string[] {
  const a: string[] = [];
  for (const e of spec.etcd.endpoints) a.push('--etcd', e);
  const tls = spec.etcd.tls;
  if (tls?.ca) a.push('--etcd-ca', tls.ca);
  if (tls?.cert) a.push('--etcd-cert', tls.cert);
  if (tls?.key) a.push('--etcd-key', tls.key);
  if (spec.etcd.auth) a.push('--etcd-user', spec.etcd.auth.user, '--etcd-password-file', spec.etcd.auth.passwordFile);
  return a;
}

/** `-v FILE:FILE:ro` for each etcd TLS file and the password file, so the same flags work in the container. */
function secretMounts(spec: ClusterSpec): string[] {
  const files = [spec.etcd.tls?.ca, spec.etcd.tls?.cert, spec.etcd.tls?.key, spec.etcd.auth?.passwordFile];
  return files.filter((f): f is string => f !== undefined).flatMap((f) => ['-v', `${f}:${f}:ro`]);
}

/** A host path as the watcher sees it (under HOST_ROOT in the image form). */
function asSeen(spec: ClusterSpec, path: string): string {
  return spec.runtime.fleetkit.kind === 'image' ? `${HOST_ROOT}${path}` : path;
}

/** The hosts file as the watcher sees it. */
function hostsOut(spec: ClusterSpec): string {
  return asSeen(spec, spec.hosts.file);
}

/** `list` without repeats, first occurrence kept. */
function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** Directory of an absolute path. */
function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** Where the agent finds the engine when told nothing, and where the image form mounts the host's socket. */
const DOCKER_SOCKET = '/var/run/docker.sock';

/** `agent …` argv. */
export function agentArgs(spec: ClusterSpec): string[] {
  const a = ['agent', ...etcdArgs(spec), '--etcd-prefix', spec.etcd.prefix, '--state-dir', agentStateDir(spec), '--cluster', spec.name];
  // In the image form the socket is mounted at the default path; a binary must be told where it is.
  const socket = spec.runtime.dockerSocket;
  if (spec.runtime.fleetkit.kind === 'binary' && socket !== undefined) a.push('--docker-host', `unix://${socket}`);
  // The agent looks up this host's flannel lease; only a prefix other than flannel's own needs saying.
  if (spec.flannel && spec.flannel.prefix.replace(/\/+$/, '') !== FLANNEL_DEFAULT_PREFIX) a.push('--flannel-prefix', spec.flannel.prefix);
  return a;
}

/** `watch-hosts …` argv. The hook, when given, comes last after `--`, one argv word each (no shell). */
export function hostsArgs(spec: ClusterSpec): string[] {
  const a = ['watch-hosts', ...etcdArgs(spec), '--prefix', spec.etcd.prefix, '--cluster', spec.name, '--out', hostsOut(spec)];
  if (spec.flannel) a.push('--flannel-prefix', spec.flannel.prefix);
  if (spec.hosts.keepInode) a.push('--keep-inode');
  if (spec.hosts.containers !== undefined) a.push('--containers-file', asSeen(spec, spec.hosts.containers));
  // After `--`: the hook's argv exactly as the spec gives it (no word splitting, no shell).
  if (spec.hosts.exec?.length) a.push('--', ...spec.hosts.exec);
  return a;
}

/**
 * The two forms of one fleetkit unit. Image form: `--net=host` and `--uts=host` (etcd on the host's loopback, the host's name and
 * addresses), `--init`-free (node handles SIGTERM itself), the mounts the command needs, and the usual
 * kill/rm before start and `docker stop` on stop.
 */
function plan(
  spec: ClusterSpec,
  header: string,
  what: { description: string; container: string; args: string[]; mounts: string[]; after: string[]; ready?: { mounts: string[]; args: string[] }; prepare?: string[] | undefined },
): FleetkitUnitView {
  const rt = spec.runtime.fleetkit;
  const docker = spec.runtime.docker;
  const common = {
    header,
    description: textValue('Description', what.description),
    restartSec: '2',
    timeoutStopSec: '30',
    syslogIdentifier: '%p',
    sections: trailingSections(renderXFleet(GLOBAL), [], spec.name),
  };
  if (rt.kind === 'binary') {
    return {
      ...common,
      wants: [],
      after: unique(['network-online.target', ...what.after]),
      // The binary form runs no docker command (the agent is given the socket as --docker-host).
      environment: [],
      execStartPre: what.prepare ? [execLine(what.prepare)] : [],
      execStart: execLine([rt.path, ...what.args]),
      // The sidekicks' `fleetkit announce` waits for the agent's socket by itself.
      execStartPost: [],
      // No ExecStop: SIGTERM is the clean stop (leases and registry kept for the next agent to take over).
      execStop: [],
    };
  }
  // --uts=host: records name the machine's host name, not the container's.
  const run = [docker, 'run', '--rm', '--name', what.container, '--net=host', '--uts=host', ...what.mounts, rt.image, ...what.args];
  return {
    ...common,
    wants: ['docker.service'],
    after: unique(['docker.service', 'network-online.target', ...what.after]),
    environment: hostView(spec).environment,
    execStartPre: [
      execLine([docker, 'kill', what.container], '-'),
      execLine([docker, 'rm', what.container], '-'),
      ...(what.prepare ? [execLine(what.prepare)] : []),
    ],
    execStart: execLine(run),
    // `docker run` is forked before its container exists, and the sidekicks' `docker exec CONTAINER …` fails
    // until it does: the unit becomes active (and the sidekicks, ordered after it, start) only once the
    // program inside answers, checked from a throw-away container of the same image.
    execStartPost: what.ready ? [execLine([docker, 'run', '--rm', '--net=none', ...what.ready.mounts, rt.image, ...what.ready.args])] : [],
    execStop: [execLine([docker, 'stop', '-t', '10', what.container])],
  };
}

/** `fleetkit-agent-NAME.service`. */
export function planAgent(spec: ClusterSpec, header: string): FleetkitUnitView {
  const state = agentStateDir(spec);
  return plan(spec, header, {
    description: `fleetkit announce agent of cluster ${spec.name}`,
    container: agentContainer(spec),
    args: agentArgs(spec),
    mounts: [
      '-v', `${spec.runtime.dockerSocket ?? DOCKER_SOCKET}:${DOCKER_SOCKET}`,
      '-v', `${state}:${state}`,
      // The record names the host's machine id; the container's own /etc/machine-id is not it.
      '-v', '/etc/machine-id:/etc/machine-id:ro',
      ...(spec.flannel ? ['-v', '/run/flannel:/run/flannel:ro'] : []),
      ...secretMounts(spec),
    ],
    // The agent reads the host's flannel subnet; docker for container events.
    after: ['docker.service', ...(spec.flannel ? ['flanneld.service'] : [])],
    ready: { mounts: ['-v', `${state}:${state}`], args: ['announce', '--list', '--agent-wait', '60s', '--state-dir', state] },
  });
}

/** `-v DIR:/host/DIR` for each directory: the directory, not the file (the atomic rename needs it). */
function dirMounts(files: readonly string[]): string[] {
  return unique(files.map(dirOf)).flatMap((dir) => ['-v', `${dir}:${HOST_ROOT}${dir === '/' ? '' : dir}`]);
}

/**
 * The command that makes sure the cluster's containers' hosts file is a regular file before anything mounts
 * it (`watch-hosts --prepare`: creates it when missing, fails naming a directory that `docker run -v` left
 * there). Undefined when containers keep docker's own /etc/hosts. Run by the hosts unit before its watcher,
 * and by every container unit that mounts the file before its `docker run` (src/render/plan-container.ts).
 * Image form: a throw-away container of the image with the file's directory only, and no network.
 */
export function hostsPrepareCommand(spec: ClusterSpec): string[] | undefined {
  const file = spec.hosts.containers;
  if (file === undefined) return undefined;
  const args = ['watch-hosts', '--cluster', spec.name, '--containers-file', asSeen(spec, file), '--prepare'];
  const rt = spec.runtime.fleetkit;
  if (rt.kind === 'binary') return [rt.path, ...args];
  return [spec.runtime.docker, 'run', '--rm', '--net=none', ...dirMounts([file]), rt.image, ...args];
}

/** `fleetkit-hosts-NAME.service`. */
export function planHosts(spec: ClusterSpec, header: string): FleetkitUnitView {
  return plan(spec, header, {
    description: `fleetkit hosts file ${spec.hosts.file} of cluster ${spec.name}`,
    container: hostsContainer(spec),
    args: hostsArgs(spec),
    mounts: [...dirMounts([spec.hosts.file, ...(spec.hosts.containers === undefined ? [] : [spec.hosts.containers])]), ...secretMounts(spec)],
    after: [],
    // The containers' hosts file exists before the watcher starts (container units make sure of it too).
    prepare: hostsPrepareCommand(spec),
  });
}
