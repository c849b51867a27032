/**
 * Checks shared by both ways of running the flow (the local systemd, and fleet's API): the containers, the
 * units and what the client container sees, all read from the real systemd and dockerd.
 */
import type { DockerPart, SystemdPart } from '../env/parts.js';

/** The web instances and the units of the e2e cluster. */
export const WEB = ['1', '2'] as const;
export const CONTAINER_UNITS = ['web@1.service', 'web@2.service', 'client@1.service'];
export const SIDEKICKS = ['web-discovery@1.service', 'web-discovery@2.service'];
/** fleetkit's own units, the container each runs in the image form (named as on a host) and its command. */
export const FLEETKIT_UNITS = [
  { unit: 'fleetkit-agent-e2e.service', container: 'fleetkit-agent-e2e', command: 'agent' },
  { unit: 'fleetkit-hosts-e2e.service', container: 'fleetkit-hosts-e2e', command: 'watch-hosts' },
] as const;
export const FLEETKIT_CONTAINERS: readonly string[] = FLEETKIT_UNITS.map((f) => f.container);
export const GLOBAL_UNITS: readonly string[] = FLEETKIT_UNITS.map((f) => f.unit);
export const ALL_UNITS = [...GLOBAL_UNITS, ...CONTAINER_UNITS, ...SIDEKICKS];
/** Unit files gen-units writes (templates once). */
export const UNIT_FILES = [...GLOBAL_UNITS, 'web@.service', 'web-discovery@.service', 'client@.service'];
export const CONTAINERS = ['web-1', 'web-2', 'client-1'];
/** What local/httpd serves. */
export const PAGE = 'hello from fleetkit test httpd';

/** systemd properties of a unit. */
export async function unitProps(sd: SystemdPart, unit: string, names: readonly string[]): Promise<Record<string, string>> {
  const r = await sd.systemctl(['show', ...names.map((n) => `-p${n}`), unit]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** `ActiveState/SubState` of each unit. */
export async function unitStates(sd: SystemdPart, units: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const u of units) {
    const p = await unitProps(sd, u, ['ActiveState', 'SubState']);
    out[u] = `${p['ActiveState']}/${p['SubState']}`;
  }
  return out;
}

/** When the unit last became active, ms since the epoch, from systemd's µs CLOCK_MONOTONIC stamp. */
export async function activeSince(sd: SystemdPart, unit: string): Promise<number> {
  const p = await unitProps(sd, unit, ['ActiveEnterTimestampMonotonic']);
  const mono = Number(p['ActiveEnterTimestampMonotonic']) / 1000;
  // process.hrtime is CLOCK_MONOTONIC on Linux, the clock of systemd's *Monotonic properties.
  return Date.now() - (Number(process.hrtime.bigint()) / 1e6 - mono);
}

/** How long a oneshot unit's ExecStart ran the last time (ms), from systemd's monotonic stamps. */
export async function execMainMs(sd: SystemdPart, unit: string): Promise<number> {
  const p = await unitProps(sd, unit, ['ExecMainStartTimestampMonotonic', 'ExecMainExitTimestampMonotonic']);
  return (Number(p['ExecMainExitTimestampMonotonic']) - Number(p['ExecMainStartTimestampMonotonic'])) / 1000;
}

/** The container's address on the engine's bridge, from `docker inspect`. */
export async function bridgeIp(docker: DockerPart, container: string): Promise<string> {
  const r = await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container]);
  if (r.code !== 0) throw new Error(`docker inspect ${container}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Names of all containers (running or not) whose name is one of `names` (default: the cluster's). */
export async function leftoverContainers(docker: DockerPart, names: readonly string[] = CONTAINERS): Promise<string[]> {
  const r = await docker.docker(['ps', '-a', '--format', '{{.Names}}']);
  return r.stdout.split('\n').filter((n) => names.includes(n));
}

/** From inside the client container: GET http://HOST:8080/ (resolved through its /etc/hosts). */
export async function fetchFromClient(docker: DockerPart, host: string): Promise<{ code: number; body: string; err: string }> {
  const r = await docker.docker(['exec', 'client-1', 'wget', '-q', '-O', '-', `http://${host}:8080/`]);
  return { code: r.code, body: r.stdout.trim(), err: r.stderr.trim() };
}
