/**
 * When a dependency counts as there, the one rule that `fleetkit await` (the wait inside a container unit)
 * and `status` ("waiting for db") share. Pure.
 *
 * A dependency is a service and the etcd keys of its announcements (DependencySpec.keys): every key must be
 * present, and a key ending in `/` (a service announced under its host's name) is satisfied by any one key
 * under it. The agent writes an announcement only while its container runs and, with a health check, is
 * healthy, so "present" already means healthy where the dependency has a check.
 */

/** A dependency as the wait sees it. */
export interface AwaitedDependency {
  readonly service: string;
  readonly keys: readonly string[];
}

/** True when `key` (exact, or a directory ending in `/`) is satisfied by the present keys. */
export function keySatisfied(key: string, present: ReadonlySet<string>): boolean {
  if (!key.endsWith('/')) return present.has(key);
  for (const k of present) if (k.length > key.length && k.startsWith(key)) return true;
  return false;
}

/** The keys of `dep` that are not yet announced, in order. */
export function missingKeys(dep: AwaitedDependency, present: ReadonlySet<string>): string[] {
  return dep.keys.filter((k) => !keySatisfied(k, present));
}

/** The services among `deps` that are not fully announced, each named once, in order. */
export function missingServices(deps: readonly AwaitedDependency[], present: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const d of deps) if (missingKeys(d, present).length > 0 && !out.includes(d.service)) out.push(d.service);
  return out;
}

/** What status knows about one container unit, to tell whether it is waiting for its dependencies. */
export interface WaitFacts {
  /** systemd/fleet: the unit is active (its main process, the wait, runs). */
  readonly unitActive: boolean;
  /** docker: the unit's container runs. Undefined when unknown: then nothing is claimed. */
  readonly containerRunning: boolean | undefined;
  /** The unit's dependencies (ServiceSpec.dependsOn). */
  readonly deps: readonly AwaitedDependency[];
  /** Announcement keys present in etcd now. */
  readonly announced: ReadonlySet<string>;
}

/**
 * `"waiting for db"` (or `"waiting for db, cache"`) when the unit is active, its container is known not to
 * run, and a dependency is not announced; undefined otherwise. The waiting process also logs a line saying so
 * (`fleetkit await`); this is the same fact derived without reading the journal.
 */
export function waitingFor(f: WaitFacts): string | undefined {
  if (!f.unitActive || f.containerRunning !== false) return undefined;
  const missing = missingServices(f.deps.filter((d) => d.keys.length > 0), f.announced);
  return missing.length ? `waiting for ${missing.join(', ')}` : undefined;
}
