/**
 * The raw shape of cluster.yaml, with zod/mini (the full zod costs ~40 ms of start-up on the gen-units path).
 * This layer checks types and keys only; values are parsed and checked by the normalizers, which know what
 * each string means. Compose keys fleetkit does not support are part of the schema, so they are named as
 * unsupported (at their key) instead of being dropped or called unknown.
 */
import * as z from 'zod/mini';
import { closest, describeValue, type Problems, type SpecPath } from './problems.js';
import { o, scalar, str, strOrList, UNSUPPORTED, unsupported } from './schema-parts.js';
import { configSchema, networkSchema, secretSchema, serviceSchema, volumeSchema } from './schema-service.js';

export { serviceSchema, type RawService } from './schema-service.js';

/** The top level, without `services` (checked one service at a time) and without `x-` extension fields. */
export const clusterSchema = z.strictObject({
  name: o(str),
  version: o(z.union([z.string(), z.number()])),
  services: z.record(z.string(), z.unknown()),
  volumes: o(z.nullable(z.record(z.string(), volumeSchema))),
  networks: o(z.nullable(z.record(z.string(), networkSchema))),
  secrets: o(z.nullable(z.record(z.string(), secretSchema))),
  configs: o(z.nullable(z.record(z.string(), configSchema))),
  include: unsupported('fleetkit reads one file', 'put every service in this file'),
});

/** fleetkit's own settings: `x-fleetkit:` (formerly top-level keys, still read there with a warning). */
export const fleetkitSchema = z.strictObject({
  // The hosts the units are for: read and checked by normalize-target.ts.
  target: o(z.unknown()),
  etcd: o(z.strictObject({
    endpoints: o(strOrList),
    prefix: o(str),
    tls: o(z.strictObject({ ca: o(str), cert: o(str), key: o(str) })),
    auth: o(z.strictObject({ user: str, passwordFile: str })),
  })),
  flannel: o(z.strictObject({ network: str, subnetLen: o(z.int()), backend: o(str), prefix: o(str) })),
  runtime: o(z.strictObject({
    docker: o(str),
    dockerSocket: o(str),
    fleetkit: o(z.strictObject({ binary: o(str), url: o(str), sha256: o(str), image: o(str) })),
    stateDir: o(str),
  })),
  hosts: o(z.strictObject({ file: o(str), exec: o(z.array(z.string())), keepInode: o(z.boolean()), containers: o(z.union([z.boolean(), str])) })),
  // A fleet release for hosts that ship no fleet: read by normalize-cluster.ts (normalizeFleet).
  fleet: o(z.strictObject({ url: o(str), sha256: o(str) })),
  roles: o(z.record(z.string(), z.strictObject({
    metadata: o(z.record(z.string(), scalar)),
    etcd: o(z.boolean()),
  }))),
});

/** The keys of `x-fleetkit` that were once top-level keys. */
export const FLEETKIT_KEYS = ['etcd', 'flannel', 'runtime', 'hosts', 'roles'] as const;

export type RawCluster = z.infer<typeof clusterSchema>;
export type RawFleetkit = z.infer<typeof fleetkitSchema>;

/** Examples shown in hints when a key has the wrong type, by key name. */
const EXAMPLES: Record<string, string> = {
  name: 'name: web', image: 'image: nginx:1.25', command: 'command: ["nginx", "-g", "daemon off;"]',
  entrypoint: 'entrypoint: ["/docker-entrypoint.sh"]', environment: 'environment: { MODE: prod }',
  env_file: 'env_file: /etc/app/env', ports: 'ports: ["8080:80"]', volumes: 'volumes: ["/srv/data:/data"]',
  labels: 'labels: { tier: web }', restart: 'restart: always', scale: 'scale: 2', replicas: 'replicas: 2',
  target: 'target: 80', published: 'published: "8080"', retries: 'retries: 3', interval: 'interval: 10s',
  timeout: 'timeout: 5s', start_period: 'start_period: 30s', stop_grace_period: 'stop_grace_period: 30s',
  test: 'test: ["CMD", "curl", "-f", "http://localhost/"]', conflicts: 'conflicts: true',
  machineOf: 'machineOf: [db@1.service]', machineMetadata: 'machineMetadata: { disk: [ssd] }',
  global: 'global: true', port: 'port: 80', ttl: 'ttl: 60s', endpoints: 'endpoints: [http://127.0.0.1:2379]',
  subnetLen: 'subnetLen: 24', exec: 'exec: [/usr/bin/systemctl, reload, dnsmasq]', services: 'services: { web: { image: nginx } }',
  'x-announce': 'x-announce: { port: 80 } (or x-announce: true)', 'x-systemd': 'x-systemd: { Unit: { After: [flanneld.service] } }',
  etcd: 'etcd: true', metadata: 'metadata: { region: east }', constraints: 'constraints: ["node.labels.disk == ssd"]',
};

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', array: 'a list',
  object: 'a mapping', record: 'a mapping', null: 'nothing',
};

/** Turns zod issues of `value` (checked at `base`) into problems, with plain messages and hints. */
export function reportIssues(problems: Problems, base: SpecPath, issues: readonly z.core.$ZodIssue[], schema: z.ZodMiniType): void {
  for (const issue of issues) report(problems, base, issue, schema);
}

function report(problems: Problems, base: SpecPath, issue: z.core.$ZodIssue, schema: z.ZodMiniType): void {
  const path = [...base, ...(issue.path as Array<string | number>)];
  const last = [...path].reverse().find((s): s is string => typeof s === 'string') ?? '';
  const example = EXAMPLES[last];
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(schema, issue.path as Array<string | number>);
      for (const key of issue.keys) {
        const near = closest(key, known);
        const hint = near ? `did you mean "${near}"?` : `known keys here: ${known.join(', ')}`;
        problems.add([...path, key], `unknown key "${key}"`, hint, 'key');
      }
      return;
    }
    case 'custom': {
      const params = (issue.params ?? {}) as { hint?: string; unsupported?: boolean };
      if (params.unsupported) problems.add(path, `unsupported Compose key "${last}": ${issue.message}`, params.hint, 'key');
      else problems.add(path, issue.message, params.hint);
      return;
    }
    case 'invalid_union': {
      // Keep the branches whose root type matched: their inner issues are the real problems.
      const inner = issue.errors.filter((errs) => !errs.every((e) => e.code === 'invalid_type' && e.path.length === 0));
      if (inner.length === 1 && inner[0]) {
        const sub = unionOption(schema, issue.path as Array<string | number>, (issue.errors as unknown[]).indexOf(inner[0]));
        for (const e of inner[0]) report(problems, path, e, sub ?? schema);
        return;
      }
      const expected = issue.errors.flatMap((errs) => errs.filter((e) => e.code === 'invalid_type').map((e) => (e as { expected: string }).expected));
      const words = [...new Set(expected.map((e) => TYPE_WORDS[e] ?? e))];
      problems.add(path, `expected ${words.join(' or ')}, got ${describeValue(input)}`, example ? `for example: ${example}` : undefined);
      return;
    }
    case 'invalid_type': {
      const got = input === undefined ? 'nothing (the key is missing)' : describeValue(input);
      const message = input === undefined ? `"${last}" is required` : `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${got}`;
      problems.add(path, message, example ? `for example: ${example}` : undefined);
      return;
    }
    default:
      problems.add(path, issue.message, example ? `for example: ${example}` : undefined);
  }
}

type Def = { type: string; innerType?: Def; in?: Def; options?: Def[]; shape?: Record<string, Def>; element?: Def; valueType?: Def; _zod?: { def: Def } };

function defOf(s: unknown): Def {
  return (s as { _zod: { def: Def } })._zod.def;
}

function unwrap(d: Def): Def {
  while ((d.type === 'optional' || d.type === 'nullable' || d.type === 'default') && d.innerType) d = defOf(d.innerType);
  return d;
}

/** The schema of the value at `path` (relative to `schema`), following objects, lists and records. */
function schemaAt(schema: unknown, path: ReadonlyArray<string | number>): Def | undefined {
  let d: Def | undefined = unwrap(defOf(schema));
  for (const seg of path) {
    if (!d) return undefined;
    if (d.type === 'union') d = d.options?.map((x) => unwrap(defOf(x))).find((x) => (typeof seg === 'number' ? x.type === 'array' : x.type === 'object' || x.type === 'record'));
    if (!d) return undefined;
    const next: unknown = typeof seg === 'number' ? d.element : d.type === 'record' ? d.valueType : d.shape?.[seg];
    d = next ? unwrap(defOf(next)) : undefined;
  }
  return d;
}

function unionOption(schema: unknown, path: ReadonlyArray<string | number>, index: number): z.ZodMiniType | undefined {
  const d = schemaAt(schema, path);
  return d?.type === 'union' ? (d.options?.[index] as unknown as z.ZodMiniType) : undefined;
}

function keysAt(schema: unknown, path: ReadonlyArray<string | number>): string[] {
  let d = schemaAt(schema, path);
  if (d?.type === 'union') d = d.options?.map((x) => unwrap(defOf(x))).find((x) => x.type === 'object');
  const shape = d?.shape ?? {};
  return Object.keys(shape).filter((k) => !UNSUPPORTED.has(shape[k] as object));
}
