/**
 * The raw shape of cluster.yaml, with zod/mini (the full zod costs ~40 ms of start-up on the gen-units path).
 * This layer checks types and keys only; values are parsed and checked by the normalizers, which know what
 * each string means. Compose keys fleetkit does not support are part of the schema, so they are named as
 * unsupported (at their key) instead of being dropped or called unknown.
 */
import * as z from 'zod/mini';
import { closest, describeValue, type Problems, type SpecPath } from './problems.js';

const UNSUPPORTED = new WeakSet<object>();

/** A Compose key fleetkit refuses: any value is a problem with this explanation and hint. */
function unsupported(why: string, hint: string) {
  const s = z.optional(z.custom<never>(() => false, { error: why, params: { hint, unsupported: true } }));
  UNSUPPORTED.add(s);
  return s;
}

const str = z.string();
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const strOrList = z.union([z.string(), z.array(z.string())]);
const duration = z.union([z.string(), z.number()]);
const o = z.optional;

const SERVICE_UNSUPPORTED = {
  build: unsupported('fleetkit runs images that exist; it does not build them', 'build and push the image, then name it in "image:"'),
  networks: unsupported('containers on a fleet cluster share the flannel network', 'remove it; containers reach each other through the hosts file (x-announce)'),
  network_mode: unsupported('fleetkit runs containers on the flannel network', 'remove it; use x-announce so peers find the container'),
  depends_on: unsupported('start order across machines is fleet\'s job, not Compose\'s', 'use x-systemd: { Unit: { After: [...], Wants: [...] } } or x-fleet.machineOf'),
  links: unsupported('links only work on one Docker host', 'use x-announce; peers find each other as NAME-N in the hosts file'),
  external_links: unsupported('links only work on one Docker host', 'use x-announce and the hosts file'),
  container_name: unsupported('each instance gets its own container, named after its unit', 'remove it; the container is named NAME-N for instance N'),
  privileged: unsupported('fleetkit does not run privileged containers', 'remove it'),
  cap_add: unsupported('fleetkit does not change container capabilities', 'remove it'),
  cap_drop: unsupported('fleetkit does not change container capabilities', 'remove it'),
  secrets: unsupported('fleetkit has no secret store', 'mount a file from the host with volumes: ["/etc/app/secret:/run/secret:ro"]'),
  configs: unsupported('fleetkit has no config store', 'mount a file from the host with volumes'),
  devices: unsupported('fleetkit does not pass devices into containers', 'remove it'),
  dns: unsupported('name resolution comes from the managed hosts file', 'remove it'),
  dns_search: unsupported('name resolution comes from the managed hosts file', 'remove it'),
  extra_hosts: unsupported('the hosts file is kept from etcd announcements', 'announce the other side with x-announce'),
  expose: unsupported('expose only documents ports', 'name the port in x-announce.port, or publish it with ports'),
  extends: unsupported('fleetkit reads one file', 'use a YAML anchor and merge key (<<: *base)'),
  logging: unsupported('container output goes to the journal of its unit', 'remove it; read logs with fleetkit logs NAME@N'),
  pid: unsupported('fleetkit does not share namespaces', 'remove it'),
  ipc: unsupported('fleetkit does not share namespaces', 'remove it'),
  security_opt: unsupported('fleetkit does not change security options', 'remove it'),
  sysctls: unsupported('fleetkit does not set sysctls', 'remove it'),
  ulimits: unsupported('fleetkit does not set ulimits', 'use x-systemd: { Service: { LimitNOFILE: ... } } for the docker client, or set them in the image'),
  tmpfs: unsupported('fleetkit does not mount tmpfs', 'remove it'),
  profiles: unsupported('every service in the file is rendered', 'move the service to another file'),
  platform: unsupported('fleetkit pulls the image for the host it runs on', 'remove it'),
  init: unsupported('every container already runs with docker\'s --init (signals forwarded, zombies reaped)', 'remove it'),
  stop_signal: unsupported('containers are stopped with docker stop', 'remove it'),
  mem_limit: unsupported('fleetkit does not set resource limits', 'remove it'),
  cpus: unsupported('fleetkit does not set resource limits', 'remove it'),
  shm_size: unsupported('fleetkit does not set resource limits', 'remove it'),
  read_only: unsupported('fleetkit does not make root file systems read-only', 'remove it'),
  tty: unsupported('containers run without a terminal under systemd', 'remove it'),
  stdin_open: unsupported('containers run without stdin under systemd', 'remove it'),
  domainname: unsupported('hosts are named by x-announce.hostname', 'remove it'),
  pull_policy: unsupported('containers run with --pull=missing: a present image is used, a missing one is pulled', 'remove it; to update an image, use a new tag'),
};

const healthcheck = z.strictObject({
  test: o(strOrList),
  interval: o(duration),
  timeout: o(duration),
  start_period: o(duration),
  retries: o(z.int()),
  disable: o(z.boolean()),
  start_interval: unsupported('docker 20.10 has no start interval', 'remove it; start_period covers start-up'),
});

const portLong = z.strictObject({
  target: z.int(),
  published: o(z.union([z.string(), z.int()])),
  host_ip: o(str),
  protocol: o(str),
  mode: unsupported('fleet has no routing mesh; every port is published on its host', 'remove it'),
  name: o(str),
  app_protocol: unsupported('fleetkit does not use it', 'remove it'),
});

const volumeLong = z.strictObject({
  type: str,
  source: o(str),
  target: str,
  read_only: o(z.boolean()),
  bind: unsupported('bind options are not supported', 'use the short syntax with options, e.g. "/src:/dst:ro,z"'),
  volume: unsupported('volume options are not supported', 'set the driver with volume_driver'),
  tmpfs: unsupported('fleetkit does not mount tmpfs', 'remove it'),
  consistency: unsupported('consistency only matters on Docker Desktop', 'remove it'),
});

const xFleet = z.strictObject({
  conflicts: o(z.union([z.boolean(), z.string(), z.array(z.string())])),
  machineOf: o(z.nullable(strOrList)),
  machineMetadata: o(z.record(z.string(), z.union([scalar, z.array(scalar)]))),
  global: o(z.boolean()),
  machineID: o(str),
  replaces: o(str),
});

const xAnnounce = z.union([
  z.boolean(),
  z.strictObject({ port: o(z.int()), ttl: o(duration), hostname: o(str), key: o(str) }),
]);

/** One service. */
export const serviceSchema = z.strictObject({
  image: str,
  command: o(z.nullable(strOrList)),
  entrypoint: o(z.nullable(strOrList)),
  environment: o(z.union([z.record(z.string(), z.nullable(scalar)), z.array(z.string())])),
  env_file: o(strOrList),
  ports: o(z.array(z.union([z.string(), z.int(), portLong]))),
  volumes: o(z.array(z.union([z.string(), volumeLong]))),
  volume_driver: o(str),
  labels: o(z.union([z.record(z.string(), z.nullable(scalar)), z.array(z.string())])),
  restart: o(str),
  scale: o(z.int()),
  deploy: o(
    z.strictObject({
      replicas: o(z.int()),
      mode: o(str),
      placement: o(z.strictObject({
        constraints: o(z.array(z.string())),
        preferences: unsupported('fleet places by least load, not by spread preferences', 'use x-fleet.conflicts to spread instances'),
        max_replicas_per_node: unsupported('fleet cannot limit instances per machine to a number', 'use x-fleet.conflicts: true for one per machine'),
      })),
      resources: unsupported('fleetkit does not set resource limits', 'remove it'),
      restart_policy: unsupported('the restart policy is the service\'s "restart:" key', 'use restart: on-failure (or always, unless-stopped)'),
      update_config: unsupported('fleet has no rolling updates', 'remove it'),
      rollback_config: unsupported('fleet has no rollbacks', 'remove it'),
      labels: unsupported('there are no Swarm services to label', 'use the service\'s labels: key'),
      endpoint_mode: unsupported('fleet has no service VIPs', 'remove it; peers use the hosts file'),
    }),
  ),
  healthcheck: o(healthcheck),
  stop_grace_period: o(duration),
  user: o(z.union([z.string(), z.int()])),
  working_dir: o(str),
  hostname: o(str),
  'x-fleet': o(xFleet),
  'x-announce': o(xAnnounce),
  'x-systemd': o(z.record(z.string(), z.record(z.string(), z.union([scalar, z.array(scalar)])))),
  ...SERVICE_UNSUPPORTED,
});

/** The top level, without `services` (checked one service at a time) and without `x-` extension fields. */
export const clusterSchema = z.strictObject({
  name: str,
  version: o(z.union([z.string(), z.number()])),
  services: z.record(z.string(), z.unknown()),
  volumes: o(z.nullable(z.record(z.string(), z.nullable(z.strictObject({
    external: o(z.boolean()),
    name: o(str),
    driver: unsupported('volume drivers are set per service', 'use volume_driver: on the services that mount it'),
    driver_opts: unsupported('fleetkit does not pass driver options', 'create the volume with its options beforehand'),
    labels: unsupported('fleetkit does not create volumes', 'remove it'),
  }))))),
  networks: unsupported('containers on a fleet cluster share the flannel network', 'remove it; configure the network with flannel:'),
  secrets: unsupported('fleetkit has no secret store', 'mount files from the host with volumes'),
  configs: unsupported('fleetkit has no config store', 'mount files from the host with volumes'),
  include: unsupported('fleetkit reads one file', 'put every service in this file'),
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
  hosts: o(z.strictObject({ file: o(str), exec: o(z.array(z.string())), keepInode: o(z.boolean()) })),
  roles: o(z.record(z.string(), z.strictObject({
    metadata: o(z.record(z.string(), scalar)),
    etcd: o(z.boolean()),
  }))),
});

export type RawService = z.infer<typeof serviceSchema>;
export type RawCluster = z.infer<typeof clusterSchema>;

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
