/**
 * `docker run` argv for a service: Compose keys mapped onto docker CLI flags (docker 20.10+). Pure; the
 * words are raw (unquoted) and are quoted for systemd by `execLine`.
 */
import type { HealthcheckSpec, PortSpec, ServiceSpec, VolumeSpec } from '../cluster/types.js';

/**
 * The `run` words after the docker binary, up to and including the image and command.
 *
 * - `--rm --name`: the unit's main process is the foreground client; the name lets ExecStop/ExecStartPre
 *   reach the container.
 * - `--pull=missing`: docker's own default, written out: a present image starts with no registry round trip
 *   (hosts fed by `docker load`/`docker import` work), a missing one is pulled. It is Compose's
 *   `pull_policy` default, and keeps pulls inside ExecStart, where a slow pull cannot hit a start timeout.
 * - `--init`: a small init as PID 1 forwards SIGTERM and reaps zombies; without it, programs that do not
 *   handle SIGTERM as PID 1 (busybox, most shells) make every stop wait for the grace period and a kill.
 */
export function dockerRunArgs(service: ServiceSpec, containerName: string): string[] {
  const a: string[] = ['run', '--rm', '--name', containerName, '--pull=missing', '--init'];
  if (service.hostname !== undefined) a.push('--hostname', service.hostname);
  if (service.user !== undefined) a.push('--user', service.user);
  if (service.workingDir !== undefined) a.push('--workdir', service.workingDir);
  for (const p of service.ports) a.push('-p', portArg(p));
  for (const [name, value] of service.environment) a.push('-e', value === undefined ? name : `${name}=${value}`);
  for (const f of service.envFiles) a.push('--env-file', f);
  if (service.volumeDriver !== undefined) a.push('--volume-driver', service.volumeDriver);
  for (const v of service.volumes) a.push('-v', volumeArg(v));
  for (const [name, value] of service.labels) a.push('--label', `${name}=${value}`);
  if (service.healthcheck) a.push(...healthArgs(service.healthcheck));
  const [entry, ...entryRest] = service.entrypoint ?? [];
  // The CLI's --entrypoint takes one word: the rest of a Compose entrypoint list goes in front of the
  // command, which gives the container the same argv.
  if (service.entrypoint) a.push('--entrypoint', entry ?? '');
  a.push(service.image, ...entryRest, ...(service.command ?? []));
  return a;
}

/** `-p` value: `[IP:][HOST:]CONTAINER[/PROTO]`, ranges as `A-B`. */
export function portArg(p: PortSpec): string {
  const range = (first: number): string => (p.count > 1 ? `${first}-${first + p.count - 1}` : `${first}`);
  const proto = p.protocol === 'tcp' ? '' : `/${p.protocol}`;
  const container = `${range(p.container)}${proto}`;
  const host = p.host === undefined ? '' : range(p.host);
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
 * Health-check flags. The docker CLI only takes a shell command (`CMD-SHELL`); an exec-form `CMD` list is
 * turned into a shell line whose words are single-quoted, which runs the same argv.
 */
export function healthArgs(h: HealthcheckSpec): string[] {
  const [kind, ...rest] = h.test;
  if (kind === 'NONE') return ['--no-healthcheck'];
  const a: string[] = [];
  if (kind === 'CMD') a.push('--health-cmd', rest.map(shellWord).join(' '));
  else if (kind === 'CMD-SHELL') a.push('--health-cmd', rest.join(' '));
  if (h.interval !== undefined) a.push('--health-interval', `${h.interval}s`);
  if (h.timeout !== undefined) a.push('--health-timeout', `${h.timeout}s`);
  if (h.retries !== undefined) a.push('--health-retries', String(h.retries));
  if (h.startPeriod !== undefined) a.push('--health-start-period', `${h.startPeriod}s`);
  return a;
}

/** One POSIX shell word: bare when it has only safe characters, else single-quoted. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
