/**
 * The wait of a container for its dependencies (`depends_on`): the words in front of `docker run` in the
 * container unit's ExecStart, `fleetkit await [etcd flags] --need SERVICE=KEY… -- docker run …`. The wait
 * runs inside the started unit, so the unit is active while it waits (fleetctl start gives a unit 2 s; a wait
 * in ExecStartPre= would hold it in "activating"). No shell: every key is one argv word.
 */
import type { ClusterSpec, ServiceSpec } from '../cluster/types.js';
import { DEFAULT_AWAIT_TIMEOUT } from '../cluster/normalize-depends.js';
import { etcdArgs } from './plan-fleetkit.js';
import { fleetkitCommand } from './view-parts.js';

/** The words before the docker command; empty when the service awaits nothing. */
export function awaitPrefix(spec: ClusterSpec, service: ServiceSpec): string[] {
  const deps = (service.dependsOn ?? []).filter((d) => d.keys.length > 0);
  if (deps.length === 0) return [];
  const a = [...fleetkitCommand(spec), 'await', ...etcdArgs(spec), '--timeout', `${service.awaitTimeout ?? DEFAULT_AWAIT_TIMEOUT}s`];
  for (const d of deps) for (const k of d.keys) a.push(d.required ? '--need' : '--want', `${d.service}=${k}`);
  a.push('--');
  return a;
}
