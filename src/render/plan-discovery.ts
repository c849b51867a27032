/**
 * View model of a service's discovery sidekick (`templates/discovery.hbs`): a oneshot that registers the
 * container with the host's agent (`fleetkit announce`) and withdraws it on stop. It keeps fleet's
 * co-scheduling (`[X-Fleet] MachineOf=`, or `Global=` with the same metadata for a global service).
 */
import type { AnnounceSpec, ClusterSpec, FleetPlacement, ServiceSpec } from '../cluster/types.js';
import { isLabel } from '../cluster/compose-values.js';
import { renderXFleet } from '../unit/xfleet.js';
import { execLine, specifier, textValue, withSpecifiers } from './exec-line.js';
import { serviceNames } from './plan-container.js';
import { discoveryForm } from '../target/unit-features.js';
import { agentUnitName } from '../unit/names.js';
import { agentStateDir, fleetkitCommand, trailingSections, type HostView, type SectionView } from './view-parts.js';

/** What `templates/discovery.hbs` reads. */
export interface DiscoveryView {
  readonly header: string;
  readonly description: string;
  readonly bindsTo: string;
  /** The container unit, for `Requires=` (templates/discovery-legacy.hbs). */
  readonly requires: string;
  readonly after: readonly string[];
  /** `Environment=` values: DOCKER_HOST where the sidekick runs `docker exec` (image form). */
  readonly environment: readonly string[];
  readonly execStart: string;
  readonly execStop: string;
  readonly restartSec: string;
  readonly sections: readonly SectionView[];
}

/**
 * Placement of the sidekick: on the machine of its container unit. fleet replaces `%i` in `[X-Fleet]`
 * values itself (plain text, no `%%`), so the reference is written as it is.
 */
export function discoveryPlacement(service: ServiceSpec): FleetPlacement {
  const none = { conflicts: [], machineID: undefined, replaces: undefined } as const;
  return service.fleet.global
    ? { ...none, machineOf: [], machineMetadata: service.fleet.machineMetadata, global: true }
    : { ...none, machineOf: [`${service.name}@%i.service`], machineMetadata: [], global: false };
}

/** `announce` argv (after the fleetkit command) that registers the container. */
export function announceArgs(spec: ClusterSpec, service: ServiceSpec, announce: AnnounceSpec, container: string): string[] {
  const a = ['announce', '--key', withSpecifiers(announce.key, ['i', 'H', 'l', 'm']), '--container', container];
  if (announce.port !== undefined) a.push('--port', String(announce.port));
  a.push('--ttl', `${announce.ttl}s`, '--hostname', withSpecifiers(announce.hostname, ['i', 'l']));
  // The names the containers' hosts file gives the lowest live instance: the service's own (as Compose's DNS
  // resolves it) and its aliases. A service name that is no DNS label (`my_db`) cannot be a hosts name.
  for (const alias of [...(isLabel(service.name) ? [service.name] : []), ...service.aliases]) a.push('--alias', alias);
  // --no-wait: the sidekick is active as soon as the agent holds the registration. fleetctl start gives a
  // unit 2 s to be active once fleet says launched, and the container it announces may still be starting.
  a.push('--state-dir', agentStateDir(spec), '--no-wait');
  return a;
}

/** The template of the sidekick on the host's target (see discoveryForm). */
export function discoveryTemplate(host: HostView): 'discovery' | 'discovery-legacy' {
  return discoveryForm(host.target);
}

/** How long the legacy sidekick's `announce` waits for the agent, in place of Restart= (refused in a oneshot before systemd 244). */
export const LEGACY_AGENT_WAIT = '60s';

/**
 * Builds the sidekick's view model; undefined when the service does not announce. `names` when the caller has
 * them already.
 */
export function planDiscovery(spec: ClusterSpec, service: ServiceSpec, header: string, host: HostView, names = serviceNames(service)): DiscoveryView | undefined {
  const announce = service.announce;
  if (!announce || !names.discovery) return undefined;
  const fleetkit = fleetkitCommand(spec);
  const wait = discoveryTemplate(host) === 'discovery-legacy' ? ['--agent-wait', LEGACY_AGENT_WAIT] : [];
  const ref = textValue('BindsTo', names.unitRef);
  const key = withSpecifiers(announce.key, ['i', 'H', 'l', 'm']);
  return {
    header,
    description: textValue('Description', `${service.name}${service.fleet.global ? '' : ` ${specifier('i')}`}: announcement in etcd`),
    bindsTo: ref,
    requires: ref,
    // The agent, where this systemd runs it, is up before the first registration.
    after: [ref, agentUnitName(spec.name)],
    environment: spec.runtime.fleetkit.kind === 'image' ? host.environment : [],
    execStart: execLine([...fleetkit, ...announceArgs(spec, service, announce, names.container), ...wait]),
    execStop: execLine([...fleetkit, 'announce', '--withdraw', '--key', key, '--state-dir', agentStateDir(spec)]),
    restartSec: '5',
    sections: trailingSections(renderXFleet(discoveryPlacement(service)), [], spec.name),
  };
}
