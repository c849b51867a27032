/**
 * Top-level `networks`, `volumes`, `secrets` and `configs`, and a service's references to them.
 *
 * - Networks: every container of a cluster is on the one cluster network (flannel's subnet on each host's
 *   Docker bridge) and reaches every other through the hosts file, so Compose networks are accepted as
 *   names and add no flag; isolation between them is not kept, which is why `internal: true` is refused.
 * - Volumes: a named volume keeps its name (or its `name:`); `external: true` means it must exist, which
 *   the unit checks before the container starts.
 * - Secrets and configs: files on the hosts (like the TLS files), bind-mounted read-only.
 */
import { isAbsolute, resolve } from 'node:path';
import type { VolumeSpec } from './types.js';
import { configSchema, networkSchema, secretSchema, volumeSchema, type RawService } from './schema-service.js';
import { CONTROL, isLabel } from './compose-values.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';

/** What services may refer to, by the key they use. */
export interface Resources {
  readonly networks: ReadonlySet<string>;
  readonly volumes: ReadonlyMap<string, { readonly name: string; readonly external: boolean }>;
  readonly secrets: ReadonlyMap<string, string>;
  readonly configs: ReadonlyMap<string, string>;
  /** Every declared name, valid or not: a reference to a declared but invalid entry is not a second problem. */
  readonly declared: ReadonlySet<string>;
}

/**
 * The entries of a top-level mapping that pass `schema` (the others were reported by the cluster schema),
 * so that the valid ones are checked in the same run as the invalid ones.
 */
function entries<T>(raw: unknown, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): Array<[string, T]> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  return Object.entries(raw).flatMap(([k, v]): Array<[string, T]> => {
    const r = schema.safeParse(v);
    return r.success ? [[k, r.data]] : [];
  });
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks the top-level resources of `top`; `dir` is the cluster file's directory (relative `file:` paths). */
export function normalizeResources(top: Record<string, unknown>, dir: string, p: Problems): Resources {
  const declared = new Set<string>();
  for (const kind of ['networks', 'volumes', 'secrets', 'configs']) {
    const v = top[kind];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const k of Object.keys(v)) declared.add(`${kind}.${k}`);
  }
  const networks = entries(top['networks'], networkSchema);
  for (const [name, n] of networks) {
    if (n?.internal) p.add(['networks', name, 'internal'], 'an internal network promises no way out, but every container of a cluster shares one network with a way out', 'remove it, or keep such containers off the cluster', 'key');
    if (n?.enable_ipv6) p.add(['networks', name, 'enable_ipv6'], 'container addresses come from flannel (IPv4)', 'remove it', 'key');
  }
  const volumes = new Map<string, { name: string; external: boolean }>();
  for (const [key, v] of entries(top['volumes'], volumeSchema)) {
    const name = v?.name ?? key;
    if (v?.driver !== undefined && v.driver !== 'local') p.add(['volumes', key, 'driver'], `unsupported Compose key "driver": volume drivers other than docker's default (local) are set per service`, 'use volume_driver: on the services that mount it', 'key');
    if (!VOLUME_NAME.test(name)) p.add(['volumes', key, ...(v?.name === undefined ? [] : ['name'])], `expected a volume name (letters, digits, "_", "." and "-"), got ${describeValue(name)}`, 'write e.g. name: shop-pgdata', v?.name === undefined ? 'key' : 'value');
    volumes.set(key, { name, external: v?.external ?? false });
  }
  const files = (kind: 'secrets' | 'configs') => {
    const out = new Map<string, string>();
    for (const [key, r] of entries(top[kind], kind === 'secrets' ? secretSchema : configSchema)) {
      if (r.file === undefined) {
        p.add([kind, key], `${kind === 'secrets' ? 'a secret' : 'a config'} needs file: (a path on the hosts)`, 'write e.g. file: /etc/app/db_password', 'key');
        continue;
      }
      const path = hostPath(r.file, dir, p, [kind, key, 'file']);
      if (path !== undefined) out.set(key, path);
    }
    return out;
  };
  return { networks: new Set([...declared].filter((d) => d.startsWith('networks.')).map((d) => d.slice('networks.'.length))), volumes, secrets: files('secrets'), configs: files('configs'), declared };
}

/**
 * A path on the hosts as written in the file: absolute as is, `./x` and `x/y` against the file's directory
 * (which must then exist at that path on every host). `~` means nothing on the hosts and is refused.
 */
export function hostPath(v: string, dir: string, p: Problems, path: SpecPath): string | undefined {
  if (CONTROL.test(v) || v === '') return void p.add(path, `expected a path on the hosts, got ${describeValue(v)}`, 'write an absolute path, or one relative to the cluster file');
  if (v.startsWith('~')) return void p.add(path, `${describeValue(v)}: the home directory of the user who renders is not a path on the hosts`, 'write an absolute path on the hosts, e.g. /srv/app/data');
  return isAbsolute(v) ? v : resolve(dir, v);
}

/** A service's `networks:`: every name must be declared at the top level (or be `default`). */
export function checkServiceNetworks(raw: RawService['networks'], res: Resources, p: Problems, path: SpecPath): void {
  const names = Array.isArray(raw) ? raw.map((n, i) => [n, [...path, i]] as const) : Object.keys(raw ?? {}).map((n) => [n, [...path, n]] as const);
  for (const [name, at] of names) {
    if (name !== 'default' && !res.networks.has(name)) p.add(at, `network ${describeValue(name)} is not declared under the top-level networks:`, `add networks: { ${name}: {} } at the top level`, Array.isArray(raw) ? 'value' : 'key');
  }
}

/**
 * A service's Compose `aliases` (of every network it names: all are one cluster network), in file order,
 * without repeats. Each must be one DNS label, since it becomes a hosts-file name.
 */
export function serviceAliases(raw: RawService['networks'], p: Problems, path: SpecPath): string[] {
  if (raw === undefined || Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const [net, n] of Object.entries(raw)) {
    (n?.aliases ?? []).forEach((a, i) => {
      if (!isLabel(a)) p.add([...path, net, 'aliases', i], `alias ${describeValue(a)} must be a DNS label (letters, digits, inner hyphens, at most 63 characters): it becomes a hosts-file name`, 'write e.g. aliases: [database]');
      else if (!out.some((x) => x.toLowerCase() === a.toLowerCase())) out.push(a);
    });
  }
  return out;
}

/** A service's `secrets:` or `configs:` → read-only bind mounts of the files on the hosts. */
export function fileMounts(kind: 'secrets' | 'configs', raw: RawService['secrets'], res: Resources, p: Problems, path: SpecPath): VolumeSpec[] {
  const known = kind === 'secrets' ? res.secrets : res.configs;
  return (raw ?? []).flatMap((ref, i): VolumeSpec[] => {
    const source = typeof ref === 'string' ? ref : ref.source;
    const at = typeof ref === 'string' ? [...path, i] : [...path, i, 'source'];
    const file = known.get(source);
    if (file === undefined && res.declared.has(`${kind}.${source}`)) return [];
    if (file === undefined) return (p.add(at, `${kind === 'secrets' ? 'secret' : 'config'} ${describeValue(source)} is not declared under the top-level ${kind}: with a file`, `add ${kind}: { ${source}: { file: /path/on/hosts } } at the top level`), []);
    const target = (typeof ref === 'string' ? undefined : ref.target) ?? source;
    const full = target.startsWith('/') ? target : kind === 'secrets' ? `/run/secrets/${target}` : `/${target}`;
    if (CONTROL.test(full) || /[:,]/.test(full) || full.split('/').includes('..')) return (p.add([...path, i, 'target'], `expected a file name or an absolute container path, got ${describeValue(target)}`, 'write e.g. target: db_password'), []);
    return [{ source: file, target: full, options: ['ro'] }];
  });
}

/**
 * Named volumes of a service → their Docker names (a top-level `name:` wins); undeclared names are an error,
 * as in Compose. Returns the volumes and the external ones' names.
 */
export function resolveVolumes(volumes: ReadonlyArray<readonly [VolumeSpec, SpecPath]>, res: Resources, p: Problems): { volumes: VolumeSpec[]; external: string[] } {
  const external: string[] = [];
  const out = volumes.map(([v, at]) => {
    if (v.source === undefined || v.source.startsWith('/')) return v;
    const decl = res.volumes.get(v.source);
    if (!decl && res.declared.has(`volumes.${v.source}`)) return v;
    if (!decl) {
      p.add(at, `volume ${describeValue(v.source)} is not declared under the top-level volumes:`, `add volumes: { ${v.source}: {} } at the top level, or write a host path starting with "/" or "./"`);
      return v;
    }
    if (decl.external && !external.includes(decl.name)) external.push(decl.name);
    return { ...v, source: decl.name };
  });
  return { volumes: out, external };
}
