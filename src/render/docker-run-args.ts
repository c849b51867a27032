/**
 * `docker run` argv for a service: Compose keys mapped onto docker CLI flags (docker 20.10+, except
 * `healthcheck.start_interval`: Docker 25). Pure; the words are raw (unquoted) and are quoted for systemd by
 * `execLine`. Flags added for Compose's one-flag keys are written `--flag=value`, one word, so that no value
 * (one starting with "-", say) can be read as another flag.
 */
import type { HealthcheckSpec, PortSpec, RunOptions, ServiceSpec, VolumeSpec } from '../cluster/types.js';

/**
 * The `run` words after the docker binary, up to and including the image and command. `ownLabels`:
 * fleetkit's labels (container-facts.ts), written after the file's own.
 *
 * - `--rm --name`: the unit's main process is the foreground client; the name lets ExecStop/ExecStartPre
 *   reach the container.
 * - `--pull=missing`: docker's own default, written out: a present image starts with no registry round trip
 *   (hosts fed by `docker load`/`docker import` work), a missing one is pulled. It is Compose's
 *   `pull_policy` default, and keeps pulls inside ExecStart, where a slow pull cannot hit a start timeout.
 * - `--init` only with Compose's `init: true`: an image may bring its own init that must be PID 1 (s6-overlay
 *   refuses to start otherwise). Without one, a program that ignores SIGTERM as PID 1 (busybox, most shells)
 *   makes each stop wait for the grace period and a kill, as under `docker compose`.
 */
export function dockerRunArgs(service: ServiceSpec, containerName: string, ownLabels: readonly (readonly [string, string])[] = [], mounts: readonly string[] = []): string[] {
  const r = service.run;
  const a: string[] = ['run', '--rm', '--name', containerName, `--pull=${r.pull}`];
  if (r.init) a.push('--init');
  flag(a, 'platform', r.platform);
  flag(a, 'network', r.network);
  if (service.hostname !== undefined) a.push('--hostname', service.hostname);
  flag(a, 'domainname', r.domainname);
  if (service.user !== undefined) a.push('--user', service.user);
  if (service.workingDir !== undefined) a.push('--workdir', service.workingDir);
  for (const p of service.ports) a.push('-p', portArg(p));
  flags(a, 'expose', r.expose);
  for (const [name, value] of service.environment) a.push('-e', value === undefined ? name : `${name}=${value}`);
  if (service.volumeDriver !== undefined) a.push('--volume-driver', service.volumeDriver);
  for (const v of service.volumes) a.push(...(v.mustExist ? [mountArg(v)] : ['-v', volumeArg(v)]));
  // Mounts the renderer adds (the cluster's hosts file: src/render/hosts-mount.ts).
  a.push(...mounts);
  flags(a, 'tmpfs', r.tmpfs);
  for (const [name, value] of service.labels) a.push('--label', `${name}=${value}`);
  // fleetkit's own labels after the file's: docker keeps the last value of a repeated key, so a file cannot
  // pose as another unit or cluster.
  for (const [name, value] of ownLabels) a.push('--label', `${name}=${value}`);
  if (service.healthcheck) a.push(...healthArgs(service.healthcheck));
  a.push(...runOptionArgs(r));
  const [entry, ...entryRest] = service.entrypoint ?? [];
  // The CLI's --entrypoint takes one word: the rest of a Compose entrypoint list goes in front of the
  // command, which gives the container the same argv.
  if (service.entrypoint) a.push('--entrypoint', entry ?? '');
  a.push(service.image, ...entryRest, ...(service.command ?? []));
  return a;
}

/** `-p` value: `[IP:][HOST:]CONTAINER[/PROTO]`, ranges as `A-B`. */
export function portArg(p: PortSpec): string {
  const range = (first: number, count: number): string => (count > 1 ? `${first}-${first + count - 1}` : `${first}`);
  const proto = p.protocol === 'tcp' ? '' : `/${p.protocol}`;
  const container = `${range(p.container, p.count)}${proto}`;
  const host = p.host === undefined ? '' : range(p.host, p.hostCount ?? p.count);
  if (p.hostIp === undefined) return host ? `${host}:${container}` : container;
  // An address without a host port keeps the empty field: `127.0.0.1::80`.
  const ip = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${ip}:${host}:${container}`;
}

/** `-v` value: `SOURCE:TARGET[:OPTS]`, or just `TARGET` for an anonymous volume. */
export function volumeArg(v: VolumeSpec): string {
  const opts = v.options.length ? `:${v.options.join(',')}` : '';
  return v.source === undefined ? `${v.target}${opts}` : `${v.source}:${v.target}${opts}`;
}

/**
 * `--mount=type=bind,…` for a bind whose source must exist (`create_host_path: false`): `ro` becomes
 * `readonly`, a propagation mode `bind-propagation=`. docker reads the value as one CSV record, so a field
 * with a comma or a double quote is quoted the CSV way.
 */
export function mountArg(v: VolumeSpec): string {
  const csv = (field: string): string => (/[",]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field);
  const opts = v.options.map((o) => (o === 'ro' ? 'readonly' : `bind-propagation=${o}`));
  return `--mount=${['type=bind', `source=${v.source ?? ''}`, `target=${v.target}`, ...opts].map(csv).join(',')}`;
}

/** The one-flag keys other than those placed above, in the order of `docker run --help`'s groups. */
function runOptionArgs(r: RunOptions): string[] {
  const a: string[] = [];
  flag(a, 'stop-signal', r.stopSignal);
  flags(a, 'cap-add', r.capAdd);
  flags(a, 'cap-drop', r.capDrop);
  if (r.privileged) a.push('--privileged');
  flags(a, 'security-opt', r.securityOpt);
  if (r.readOnly) a.push('--read-only');
  flags(a, 'device', r.devices);
  flags(a, 'device-cgroup-rule', r.deviceCgroupRules);
  flags(a, 'sysctl', r.sysctls.map(([k, v]) => `${k}=${v}`));
  flags(a, 'ulimit', r.ulimits.map(([k, soft, hard]) => `${k}=${soft}:${hard}`));
  flags(a, 'storage-opt', r.storageOpt.map(([k, v]) => `${k}=${v}`));
  flags(a, 'add-host', r.extraHosts);
  flags(a, 'dns', r.dns);
  flags(a, 'dns-search', r.dnsSearch);
  flags(a, 'dns-option', r.dnsOpt);
  flags(a, 'group-add', r.groupAdd);
  flag(a, 'pid', r.pid);
  flag(a, 'ipc', r.ipc);
  flag(a, 'uts', r.uts);
  flag(a, 'userns', r.userns);
  flag(a, 'cgroupns', r.cgroup);
  flag(a, 'cgroup-parent', r.cgroupParent);
  flag(a, 'runtime', r.runtime);
  flag(a, 'log-driver', r.logDriver);
  flags(a, 'log-opt', r.logOpts.map(([k, v]) => `${k}=${v}`));
  flag(a, 'shm-size', r.shmSize);
  flag(a, 'memory', r.memory);
  flag(a, 'memory-reservation', r.memoryReservation);
  flag(a, 'memory-swap', r.memorySwap);
  flag(a, 'memory-swappiness', r.memorySwappiness);
  if (r.oomKillDisable) a.push('--oom-kill-disable');
  flag(a, 'oom-score-adj', r.oomScoreAdj);
  flag(a, 'pids-limit', r.pidsLimit);
  flag(a, 'cpus', r.cpus);
  flag(a, 'cpu-shares', r.cpuShares);
  flag(a, 'cpu-period', r.cpuPeriod);
  flag(a, 'cpu-quota', r.cpuQuota);
  flag(a, 'cpuset-cpus', r.cpuset);
  // x-docker.args last before the image: raw flags the user chose, each an argv word like the rest.
  a.push(...r.extraArgs);
  return a;
}

function flag(a: string[], name: string, value: string | number | undefined): void {
  if (value !== undefined) a.push(`--${name}=${value}`);
}

function flags(a: string[], name: string, values: readonly string[]): void {
  for (const v of values) a.push(`--${name}=${v}`);
}

/**
 * Health-check flags. The docker CLI only takes a shell command (its `--health-cmd` is always `CMD-SHELL`);
 * an exec-form `CMD` list becomes `exec 'PROGRAM' 'ARG'…`: the shell replaces itself with the program, which
 * gets the same argv as under exec form. The difference: the image must have /bin/sh.
 */
export function healthArgs(h: HealthcheckSpec): string[] {
  const [kind, ...rest] = h.test;
  if (kind === 'NONE') return ['--no-healthcheck'];
  const a: string[] = [];
  if (kind === 'CMD') a.push('--health-cmd', ['exec', ...rest.map(shellWord)].join(' '));
  else if (kind === 'CMD-SHELL') a.push('--health-cmd', rest.join(' '));
  if (h.interval !== undefined) a.push('--health-interval', `${h.interval}s`);
  if (h.timeout !== undefined) a.push('--health-timeout', `${h.timeout}s`);
  if (h.retries !== undefined) a.push('--health-retries', String(h.retries));
  if (h.startPeriod !== undefined) a.push('--health-start-period', `${h.startPeriod}s`);
  if (h.startInterval !== undefined) a.push('--health-start-interval', `${h.startInterval}s`);
  return a;
}

/** One POSIX shell word: bare when it has only safe characters, else single-quoted. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
