/**
 * View model of a service's container unit (`templates/container.hbs`): `NAME@.service` for replicated
 * services, `NAME.service` for `x-fleet.global`. Pure: spec in, finished (quoted) values out.
 */
import type { ServiceSpec } from '../cluster/types.js';
import { hostsUnitName, sidekickName, sidekickTemplate } from '../unit/names.js';
import { runArgsFor } from '../target/adapt-run-args.js';
import { discoveryForm } from '../target/unit-features.js';
import { renderXFleet } from '../unit/xfleet.js';
import { dockerRunArgs } from './docker-run-args.js';
import { configHashOfArgv } from './config-hash.js';
import { LABEL_CLUSTER, LABEL_CONFIG_HASH, LABEL_UNIT } from '../etcd/container-facts.js';
import { hostsMountArgs } from './hosts-mount.js';
import { execLine, specifier, textValue } from './exec-line.js';
import { extraLines, trailingSections, type HostView, type LineView, type SectionView } from './view-parts.js';

/** What `templates/container.hbs` reads. */
export interface ContainerView {
  readonly header: string;
  readonly description: string;
  readonly wants: readonly string[];
  readonly after: readonly string[];
  /** `Wants=` of the discovery sidekick, where the sidekick is bound to this unit (templates/discovery.hbs). */
  readonly wantsSidekick: readonly string[];
  readonly unitExtra: readonly LineView[];
  /** `Environment=` values (quoted): `DOCKER_HOST` when the engine's socket is not the default one. */
  readonly environment: readonly string[];
  readonly execStartPre: readonly string[];
  readonly execStart: string;
  readonly execStop: string;
  readonly restart: string;
  readonly restartSec: string;
  readonly timeoutStopSec: string;
  readonly syslogIdentifier: string;
  readonly serviceExtra: readonly LineView[];
  readonly sections: readonly SectionView[];
}

/** Names of a service's units and container, computed once (the sidekick refers to the container unit). */
export interface ServiceNames {
  /** File/unit name: `web@.service` or `web.service`. */
  readonly unit: string;
  /** The container unit as referenced from the sidekick: `web@%i.service` or `web.service`. */
  readonly unitRef: string;
  /** `web-discovery@.service` / `web-discovery.service`, when the service announces. */
  readonly discovery: string | undefined;
  readonly discoveryRef: string | undefined;
  /** Container name with a marked `%i` (`web-%i`) or the plain service name for a global service. */
  readonly container: string;
  /** Unit names to start, in order: instances 1..replicas (or the global unit). */
  readonly instances: readonly string[];
  readonly discoveryInstances: readonly string[];
}

/** Computes every name of a service's units. */
export function serviceNames(service: ServiceSpec): ServiceNames {
  const n = service.name;
  const announces = service.announce !== undefined;
  if (service.fleet.global) {
    return {
      unit: `${n}.service`,
      unitRef: `${n}.service`,
      discovery: announces ? sidekickName(n, '') : undefined,
      discoveryRef: announces ? sidekickName(n, '') : undefined,
      container: service.containerName ?? n,
      instances: [`${n}.service`],
      discoveryInstances: announces ? [sidekickName(n, '')] : [],
    };
  }
  const ids = Array.from({ length: service.replicas }, (_, k) => k + 1);
  return {
    unit: `${n}@.service`,
    unitRef: `${n}@${specifier('i')}.service`,
    discovery: announces ? sidekickTemplate(n) : undefined,
    discoveryRef: announces ? sidekickName(n, specifier('i')) : undefined,
    // container_name is refused with more than one instance, so the one name never runs twice.
    container: service.containerName ?? `${n}-${specifier('i')}`,
    instances: ids.map((i) => `${n}@${i}.service`),
    discoveryInstances: announces ? ids.map((i) => sidekickName(n, String(i))) : [],
  };
}

/** Compose `restart` → systemd `Restart=`: `unless-stopped` is `always` (a `systemctl stop` is the stop). */
export const RESTART_MAP = { no: 'no', always: 'always', 'on-failure': 'on-failure', 'unless-stopped': 'always' } as const;

/** fleetkit's `RestartSec=` when `deploy.restart_policy.delay` does not set one. */
export const DEFAULT_RESTART_SEC = 5;

/**
 * `on-failure:N` (or `restart_policy.max_attempts: N`): docker gives up after N restarts and keeps that
 * count for the container's life. systemd's start limit with no interval counts every start of the unit:
 * the first and N restarts, so N + 1 starts are allowed. The count lasts until `systemctl reset-failed`.
 */
function startLimit(service: ServiceSpec): LineView[] {
  const n = service.restartMaxRetries;
  if (n === undefined) return [];
  return [{ name: 'StartLimitIntervalSec', value: 'infinity' }, { name: 'StartLimitBurst', value: String(n + 1) }];
}

/** Compose's default `stop_grace_period`. */
export const DEFAULT_GRACE = 10;
/** Time systemd allows beyond the grace period for `docker stop` to kill and the client to exit. */
export const STOP_MARGIN = 15;

/**
 * The container's `docker run` words for the target, with fleetkit's labels: the unit (`%n`, so each instance
 * names itself), the cluster, and the hash of every other word (config-hash.ts), taken over the template, so
 * that all instances share it and the agent can publish which configuration a container runs.
 */
export function containerRunArgs(service: ServiceSpec, host: HostView, cluster: string, names: ServiceNames): string[] {
  const mounts = hostsMountArgs(host.hosts, service, host.target);
  const hash = configHashOfArgv(runArgsFor(host.target, dockerRunArgs(service, names.container, [], mounts)));
  const labels = [[LABEL_UNIT, specifier('n')], [LABEL_CLUSTER, cluster], [LABEL_CONFIG_HASH, hash]] as const;
  return runArgsFor(host.target, dockerRunArgs(service, names.container, labels, mounts));
}

/**
 * Builds the container unit's view model; `names` when the caller has them already. `host`: the target and
 * how its docker commands reach the engine. `hostsPrepare`: the command that makes the cluster's containers'
 * hosts file (src/render/plan-fleetkit.ts hostsPrepareCommand), run before `docker run` when it is mounted.
 */
export function planContainer(service: ServiceSpec, host: HostView, header: string, cluster: string, names = serviceNames(service), awaitPrefix: readonly string[] = [], hostsPrepare?: readonly string[]): ContainerView {
  const docker = host.docker;
  const extra = extraLines(service, names.unit);
  const grace = service.stopGracePeriod ?? DEFAULT_GRACE;
  const mounts = hostsMountArgs(host.hosts, service, host.target);
  const instance = service.fleet.global ? '' : ` ${specifier('i')}`;
  const deps = (service.dependsOn ?? []).flatMap((d) => d.units.map((u) => textValue('After', u)));
  const hostsUnit = mounts.length ? [hostsUnitName(cluster)] : [];
  return {
    header,
    description: textValue('Description', `${service.name}${instance}: container of ${service.image}`),
    // Wants=/After= (not Requires=): ordered after the docker daemon where one is a unit, and still valid
    // where docker is not managed by this systemd instance.
    // depends_on: where a dependency's units run on this machine, they start first (on another machine these
    // lines name units systemd does not have, which it ignores; the wait in ExecStart covers that case).
    // The cluster's hosts unit, when the container mounts its containers' hosts file: Wants= starts the
    // watcher with the container (After= alone would not), and not Requires=, so that a restart or stop of the
    // watcher leaves the containers running. fleet does not schedule by Wants=: the hosts unit is global, so
    // it is on this machine once fleet has loaded it, and Wants= of a unit not loaded yet is ignored
    // (fleet can start units before it loads their neighbours, coreos/fleet#997): the ExecStartPre below
    // makes the file in every case.
    wants: ['docker.service', ...hostsUnit, ...deps],
    after: ['docker.service', ...hostsUnit, ...deps],
    // The bound sidekick (BindsTo=) goes down with every restart of this unit; a start or restart of this unit,
    // automatic ones included, brings it back through Wants=. Not Upholds=: that also starts the sidekick again
    // when the sidekick alone is stopped, as fleet's agent does before it stops this unit, and the container,
    // still running, would be announced again on its way down. The legacy sidekick (Requires=) stays up.
    wantsSidekick: names.discoveryRef && discoveryForm(host.target) === 'discovery' ? [textValue('Wants', names.discoveryRef)] : [],
    unitExtra: [...startLimit(service), ...extra.unit],
    environment: host.environment,
    execStartPre: [
      execLine([docker, 'kill', names.container], '-'),
      execLine([docker, 'rm', names.container], '-'),
      // The mounted hosts file must be a regular file before docker sees it: `-v` (legacy) would make a
      // directory in its place, `--mount` would fail. Made here when the hosts unit has not run yet; a
      // directory left by an earlier `-v` fails the start with a line that names it.
      ...(mounts.length && hostsPrepare ? [execLine([...hostsPrepare])] : []),
      // An external volume must exist (Compose refuses to start without it); `docker run` would create it.
      ...service.externalVolumes.map((v) => execLine([docker, 'volume', 'inspect', '--format={{.Name}}', v])),
    ],
    execStart: execLine([...awaitPrefix, docker, ...containerRunArgs(service, host, cluster, names)]),
    execStop: execLine([docker, 'stop', '-t', String(grace), names.container]),
    restart: RESTART_MAP[service.restart],
    restartSec: String(service.restartDelay ?? DEFAULT_RESTART_SEC),
    timeoutStopSec: String(grace + STOP_MARGIN),
    // The container's name: journal lines read `web-2[PID]: …`.
    syslogIdentifier: service.fleet.global ? '%p' : '%p-%i',
    serviceExtra: extra.service,
    sections: trailingSections(renderXFleet(service.fleet), extra.sections, cluster),
  };
}
