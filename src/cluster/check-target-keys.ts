/**
 * The spec's own target check: a Compose key whose `docker run` flag the target's Docker lacks (e.g.
 * `healthcheck.start_interval`, Docker 25) is a problem at that key's line and column, found with every other
 * problem of the file. The flags and their versions come from the target table (src/target); the words from
 * the renderer's own mapping, so the check sees exactly what a unit would run. The render keeps its check
 * for a target chosen after loading (`--target`) and for what fleetkit writes on its own.
 */
import type { ServiceSpec } from './types.js';
import type { Problems, SpecPath } from './problems.js';
import { dockerRunArgs } from '../render/docker-run-args.js';
import { runArgsFor } from '../target/adapt-run-args.js';
import { dockerFeatures } from '../target/check-unit.js';
import { DEFAULT_TARGET, dockerHas, formatDocker, parseDocker, TARGETS, type TargetName } from '../target/targets.js';
import { quoteExec } from '../unit/quote.js';

/** The Compose keys (under a service) that a docker flag newer than Docker 1.12 comes from, in preference order. */
const FLAG_KEYS: Readonly<Record<string, ReadonlyArray<readonly string[]>>> = {
  '--health-start-period': [['healthcheck', 'start_period']],
  '--health-start-interval': [['healthcheck', 'start_interval']],
  '--init': [['init']],
  '--pull': [['pull_policy']],
  '--platform': [['platform']],
  '--cpus': [['cpus'], ['deploy', 'resources', 'limits', 'cpus']],
  '--dns-option': [['dns_opt']],
  '--device-cgroup-rule': [['device_cgroup_rules']],
  '--cgroupns': [['cgroup']],
  '--mount': [['volumes']],
};

/** Checks every service's docker flags against `target`; `raw` (the services as written) locates the keys. */
export function checkTargetKeys(services: readonly ServiceSpec[], raw: Readonly<Record<string, unknown>>, target: TargetName, p: Problems): void {
  const t = TARGETS[target];
  for (const s of services) {
    const args = runArgsFor(t, dockerRunArgs(s, s.name));
    const written = (raw[s.name] ?? {}) as Record<string, unknown>;
    const seen = new Set<string>();
    for (const f of dockerFeatures('Service', 'ExecStart', quoteExec(['docker', ...args]), t)) {
      if (f.ok || f.needs === undefined || !f.what.startsWith('docker run ')) continue;
      const flag = f.what.slice('docker run '.length);
      if (seen.has(flag)) continue;
      seen.add(flag);
      const path = keyOf(s, flag, written);
      // x-docker.args with a flag the table does not know stay the render's warning; a known one is located here.
      const since = parseDocker(f.needs.replace(/^Docker /, ''));
      const newer = since && dockerHas(TARGETS[DEFAULT_TARGET].docker, since) ? `, or render for target ${DEFAULT_TARGET} (x-fleetkit.target: ${DEFAULT_TARGET})` : '';
      p.add(['services', s.name, ...path], `docker run ${flag} needs ${f.needs}; target ${t.name} has Docker ${formatDocker(t.docker)} (${f.source})`, `remove it${newer}`, 'key');
    }
  }
}

/** Where a service asked for `flag`: its `x-docker.args` word, the first key of FLAG_KEYS it has, or the service. */
function keyOf(s: ServiceSpec, flag: string, written: Record<string, unknown>): SpecPath {
  const i = s.run.extraArgs.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i >= 0) return ['x-docker', 'args', i];
  for (const path of FLAG_KEYS[flag] ?? []) {
    let v: unknown = written;
    for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    if (v !== undefined) return path;
  }
  return [];
}
