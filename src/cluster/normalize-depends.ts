/**
 * Compose `depends_on` → what a dependent container waits for. Two passes, as units refer to each other:
 * `readDependsOn` reads one service's list or long form; `resolveDependencies` runs once every service is
 * known and turns each dependency into the dependency's unit names (ordering on one machine) and the etcd
 * keys of its announcements (the wait across machines, `fleetkit await`).
 *
 * Decisions (README, "depends_on"):
 * - `service_started` and `service_healthy` both wait for the announcement. The agent announces a container
 *   only while it runs and, when it has a health check, while it is healthy: for a dependency with a health
 *   check, `service_started` therefore waits for healthy too.
 * - `service_completed_successfully` is refused: a finished container is never announced, and `After=` on a
 *   `Type=simple` unit orders after its start, not its end.
 * - A dependency without `x-announce` cannot be awaited across machines: `service_started` becomes ordering
 *   only, with a warning; `service_healthy` is an error (ordering cannot see health).
 * - `required: false`: waited for up to the timeout, then the container starts anyway with a log line, as
 *   Compose only warns when such a dependency is missing.
 * - `restart: true` is accepted with a warning: fleetkit does not restart dependents when it replaces a
 *   dependency.
 */
import type { DependencySpec, ServiceSpec } from './types.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';
import { parseDuration } from './compose-values.js';

/** The raw `depends_on` value, as the schema lets it through. */
export type RawDependsOn = string[] | Record<string, { condition?: string | undefined; required?: boolean | undefined; restart?: boolean | undefined } | null>;

/** One dependency as written, before the other services are known. */
export interface DependencyRef {
  readonly service: string;
  readonly condition: DependencySpec['condition'];
  readonly required: boolean;
  /** Where it was written (for the second pass's problems). */
  readonly at: SpecPath;
}

/** fleetkit's default for how long a container waits for its dependencies (`x-await.timeout`). */
export const DEFAULT_AWAIT_TIMEOUT = 300;

const CONDITIONS: Readonly<Record<string, DependencySpec['condition']>> = { service_started: 'started', service_healthy: 'healthy' };

/** Reads `depends_on` at `path` (the key itself). */
export function readDependsOn(raw: RawDependsOn | undefined, p: Problems, path: SpecPath): DependencyRef[] {
  if (raw === undefined) return [];
  if (Array.isArray(raw)) {
    const seen = new Set<string>();
    return raw.flatMap((service, i): DependencyRef[] => {
      if (seen.has(service)) return (p.add([...path, i], `"${service}" is listed twice`, 'list each dependency once'), []);
      seen.add(service);
      return [{ service, condition: 'started', required: true, at: [...path, i] }];
    });
  }
  return Object.entries(raw).flatMap(([service, v]): DependencyRef[] => {
    const at = [...path, service];
    const cond = v?.condition ?? 'service_started';
    const condition = CONDITIONS[cond];
    if (cond === 'service_completed_successfully') {
      p.add([...at, 'condition'], 'service_completed_successfully cannot be awaited: a container that has finished is never announced, and systemd orders a unit after the start of another, not its end', `run the job before the unit starts instead, e.g. x-systemd: { Service: { ExecStartPre: … } }, or wait for a service that stays up (service_started, service_healthy)`);
      return [];
    }
    if (!condition) {
      p.add([...at, 'condition'], `expected service_started or service_healthy, got ${describeValue(cond)}`, 'write e.g. condition: service_healthy');
      return [];
    }
    if (v?.restart === true) p.warn([...at, 'restart'], 'restart: true is not mapped: fleetkit does not restart this service when it replaces the dependency', 'restart it yourself after a new dependency is loaded (fleetkit stop, fleetkit start)', 'key');
    return [{ service, condition, required: v?.required ?? true, at }];
  });
}

/** `x-await: { timeout }` → seconds. */
export function readAwaitTimeout(raw: { timeout?: string | number | undefined } | undefined, p: Problems, path: SpecPath): number | undefined {
  if (raw?.timeout === undefined) return undefined;
  return parseDuration(raw.timeout, p, [...path, 'timeout'], 1);
}

/** What the second pass needs to know about the cluster. */
export interface DependencyContext {
  /** The image form cannot wait: the waiting process must run the host's docker CLI, which the image lacks. */
  readonly runtime: 'binary' | 'image';
}

/**
 * Resolves every service's dependencies; returns the services with `dependsOn` set. Problems: an unknown
 * service, the service itself, a cycle, `service_healthy` on a service that does not announce.
 */
export function resolveDependencies(services: readonly ServiceSpec[], refs: ReadonlyMap<string, readonly DependencyRef[]>, ctx: DependencyContext, p: Problems): ServiceSpec[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const out = services.map((s): ServiceSpec => {
    const deps = (refs.get(s.name) ?? []).flatMap((r): DependencySpec[] => {
      const dep = byName.get(r.service);
      if (r.service === s.name) return (p.add(r.at, `service "${s.name}" cannot depend on itself`, 'remove it', 'key'), []);
      if (!dep) {
        const names = [...byName.keys()].filter((n) => n !== s.name);
        return (p.add(r.at, `service "${r.service}" does not exist`, names.length ? `depend on one of: ${names.join(', ')}` : 'remove depends_on', 'key'), []);
      }
      const keys = dep.announce ? announcementKeys(dep, p, r.at) : [];
      if (!dep.announce && r.condition === 'healthy') {
        p.add(r.at, `"${r.service}" has no x-announce, so its health cannot be awaited: only announcements in etcd (made while a container is healthy) are seen on every machine`, `add x-announce: true to service ${r.service}`, 'key');
      } else if (!dep.announce) {
        p.warn(r.at, `"${r.service}" has no x-announce: ${s.name} is started after it only where both run on one machine, and does not wait for it on another`, `add x-announce: true to service ${r.service}, so that ${s.name} waits until it is announced`, 'key');
      } else if (ctx.runtime === 'image') {
        p.warn(r.at, `with the image runtime ${s.name} is only ordered after "${r.service}" on one machine: the wait across machines runs the host's docker CLI, which the fleetkit image lacks`, 'use the binary runtime (x-fleetkit.runtime.fleetkit.path) to wait across machines', 'key');
      }
      if (r.condition === 'healthy' && dep.announce && !dep.healthcheck) {
        p.warn(r.at, `"${r.service}" has no healthcheck here: healthy means announced, which without a health check (the image's own aside) is running`, `add a healthcheck to service ${r.service}`, 'key');
      }
      return [{ service: r.service, condition: r.condition, required: r.required, units: unitsOf(dep), keys: ctx.runtime === 'binary' ? keys : [] }];
    });
    return deps.length ? { ...s, dependsOn: deps } : s;
  });
  reportCycles(out, refs, p);
  return out;
}

/** The dependency's container units: `db@1.service` … or `db.service` (global). */
function unitsOf(s: ServiceSpec): string[] {
  return s.fleet.global ? [`${s.name}.service`] : Array.from({ length: s.replicas }, (_, k) => `${s.name}@${k + 1}.service`);
}

/**
 * The keys under which the dependency's instances are announced. `%i` is each instance number; a key that
 * names the host (`%H`, `%l`, `%m`: a global service's default) is known only as the directory it lies in,
 * written with a trailing `/`: any one key there satisfies the wait.
 */
function announcementKeys(dep: ServiceSpec, p: Problems, at: SpecPath): string[] {
  const key = dep.announce!.key;
  const host = /%[Hlm]/.exec(key);
  if (host) {
    const dir = key.slice(0, key.lastIndexOf('/') + 1);
    if (host.index < dir.length || dir.includes('%i')) {
      p.add(at, `the announcements of "${dep.name}" cannot be awaited: its x-announce.key names the host (${host[0]}) before its last segment`, `put ${host[0]} in the last segment of services.${dep.name}.x-announce.key`, 'key');
      return [];
    }
    return [dir];
  }
  if (dep.fleet.global) return [key.slice(0, key.lastIndexOf('/') + 1)];
  return Array.from({ length: dep.replicas }, (_, k) => key.replaceAll('%i', String(k + 1)));
}

/** A dependency cycle would keep every container in it waiting forever. Compose refuses it too. */
function reportCycles(services: readonly ServiceSpec[], refs: ReadonlyMap<string, readonly DependencyRef[]>, p: Problems): void {
  const edges = new Map(services.map((s) => [s.name, (s.dependsOn ?? []).map((d) => d.service)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(m)), m];
        const at = refs.get(n)?.find((r) => r.service === m)?.at ?? ['services', n];
        p.add(at, `dependency cycle: ${cycle.join(' → ')}; each would wait for the next forever`, 'remove one of these depends_on entries', 'key');
      } else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const s of services) if (!state.has(s.name)) visit(s.name);
}
