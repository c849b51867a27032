/**
 * One raw (schema-checked) service → ServiceSpec: Compose shorthands expanded, defaults filled in, and every
 * value that ends up in a unit checked so that it cannot add a directive or mean something else there.
 */
import type { HealthcheckSpec, PortSpec, ServiceSpec, VolumeSpec } from './types.js';
import type { RawService } from './schema-service.js';
import { CONTROL, isImageReference, isLabel, parseBytes, parseDuration, parsePortLong, parsePortShort, parseVolumeLong, parseVolumeShort, splitShellWords } from './compose-values.js';
import { normalizeAnnounce, normalizeXFleet, normalizeXSystemd, parseConstraint } from './normalize-extensions.js';
import { checkServiceNetworks, fileMounts, serviceAliases, hostPath, resolveVolumes, type Resources } from './normalize-resources.js';
import { normalizeRun } from './normalize-run.js';
import { readAwaitTimeout } from './normalize-depends.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';

/** What a service needs to know about the cluster around it. */
export interface ServiceContext {
  readonly cluster: string;
  readonly prefix: string;
  /** The cluster file's directory: relative host paths resolve against it. */
  readonly dir: string;
  readonly resources: Resources;
  /** Whether the cluster's containers mount its containers' hosts file (`x-fleetkit.hosts.containers`). */
  readonly hostsMounted: boolean;
}

// Docker takes any name without "=" (Elasticsearch's `discovery.type`, Spring's dotted keys).
const ENV_NAME = /^[^=\s\u0000-\u001f\u007f-\u009f]+$/;
const RESTART = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/;
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const RESTART_CONDITION = { none: 'no', 'on-failure': 'on-failure', any: 'always' } as const;

/** Normalizes `raw` (already checked by `serviceSchema`) at `path`; problems go to `p`. */
export function normalizeService(name: string, raw: RawService, ctx: ServiceContext, p: Problems, path: SpecPath): ServiceSpec {
  const at = (...rest: Array<string | number>): SpecPath => [...path, ...rest];
  const image = raw.image ?? '';
  if (raw.image === undefined) {
    if (raw.build !== undefined) p.add(at('build'), 'fleetkit runs images and does not build them', 'build and push the image (docker build -t registry.example.com/app:1.0 . && docker push …), then name it in image:', 'key');
    else p.add(path, 'a service needs an image', 'add image: e.g. nginx:1.25', 'key');
  } else if (!isImageReference(raw.image)) p.add(at('image'), `expected a docker image reference, got ${describeValue(raw.image)}`, 'write e.g. nginx:1.25 or registry.example.com/team/app:2.0 (lower-case repository, no spaces)');
  else if (raw.build !== undefined) p.warn(at('build'), `fleetkit runs the image ${raw.image} and does not build it`, 'build and push the image before you start the units');
  const argv = (key: 'command' | 'entrypoint') => {
    const v = raw[key];
    if (v == null) return undefined;
    const words = typeof v === 'string' ? splitShellWords(v, p, at(key)) : v;
    // Any character may appear in an argument (the renderer quotes it) except NUL, which argv cannot carry.
    words?.forEach((w, i) => w.includes('\0') && p.add(typeof v === 'string' ? at(key) : at(key, i), 'an argument cannot contain a NUL character', 'remove it'));
    return words;
  };
  const deploy = raw.deploy ?? {};
  const xGlobal = raw['x-fleet']?.global;
  if (deploy.mode !== undefined && deploy.mode !== 'replicated' && deploy.mode !== 'global') p.add(at('deploy', 'mode'), `expected replicated or global, got ${describeValue(deploy.mode)}`, 'write mode: global for one instance per machine');
  const global = xGlobal ?? deploy.mode === 'global';
  if (xGlobal === false && deploy.mode === 'global') p.add(at('x-fleet', 'global'), 'x-fleet.global is false but deploy.mode is global', 'keep one of the two');
  const replicas = replicasOf(raw, global, p, path);
  const constraints = (deploy.placement?.constraints ?? []).flatMap((c, i): Array<readonly [string, string]> => { const kv = parseConstraint(c, p, at('deploy', 'placement', 'constraints', i)); return kv ? [kv] : []; });
  const ports = (raw.ports ?? []).flatMap((v, i): PortSpec | PortSpec[] => {
    if (typeof v !== 'object') return parsePortShort(v, p, at('ports', i)) ?? [];
    // Every port is published on the host its container runs on; fleet has no routing mesh.
    if (v.mode !== undefined && v.mode !== 'host') p.add(at('ports', i, 'mode'), `mode: ${v.mode}: fleet has no routing mesh; a port is published on the machine its container runs on`, 'write mode: host, or remove it');
    return parsePortLong({ ...v, target: Number(v.target) }, p, at('ports', i)) ?? [];
  });
  const fleet = normalizeXFleet(name, raw['x-fleet'], constraints, global, p, at('x-fleet'));
  const { restart, retries, delay } = restartOf(raw, p, path);
  const run = normalizeRun(raw, p, path, ctx.hostsMounted);
  if (raw.container_name !== undefined) {
    if (!CONTAINER_NAME.test(raw.container_name)) p.add(at('container_name'), `expected a container name (letters, digits, "_", "." and "-"), got ${describeValue(raw.container_name)}`, 'write e.g. container_name: shop-db');
    else if (replicas > 1) p.add(at('container_name'), `container_name names one container, but the service has ${replicas} instances`, 'remove container_name (instances are named NAME-1 … NAME-N), or run one instance');
  }
  checkServiceNetworks(raw.networks, ctx.resources, p, at('networks'));
  const parsedVolumes = (raw.volumes ?? []).map((v, i): VolumeSpec | undefined => {
    if (typeof v === 'string') return parseVolumeShort(v, ctx.dir, p, at('volumes', i));
    if (v.type !== 'tmpfs') return parseVolumeLong(v, ctx.dir, p, at('volumes', i));
    if (v.source !== undefined) p.add(at('volumes', i, 'source'), 'a tmpfs mount has no source', 'remove source:', 'key');
    return undefined;
  });
  const tmpfsMounts = (raw.volumes ?? []).flatMap((v, i) => (typeof v === 'object' && v.type === 'tmpfs' ? tmpfsOf(v, p, at('volumes', i)) : []));
  const named = resolveVolumes(parsedVolumes.flatMap((v, i) => (v ? [[v, at('volumes', i)] as const] : [])), ctx.resources, p);
  const mounts = [...fileMounts('secrets', raw.secrets, ctx.resources, p, at('secrets')), ...fileMounts('configs', raw.configs, ctx.resources, p, at('configs'))];
  const awaitTimeout = readAwaitTimeout(raw['x-await'], p, at('x-await'));
  const service: ServiceSpec = {
    name,
    image,
    command: argv('command'),
    entrypoint: argv('entrypoint'),
    environment: pairs(raw.environment, 'environment', p, at('environment')),
    ports,
    volumes: [...named.volumes, ...mounts],
    volumeDriver: raw.volume_driver,
    labels: pairs(raw.labels, 'labels', p, at('labels')).map(([k, v]) => [k, v ?? ''] as const),
    restart,
    ...(retries === undefined ? {} : { restartMaxRetries: retries }),
    ...(delay === undefined ? {} : { restartDelay: delay }),
    containerName: raw.container_name,
    externalVolumes: named.external,
    run: tmpfsMounts.length ? { ...run, tmpfs: [...run.tmpfs, ...tmpfsMounts] } : run,
    replicas,
    healthcheck: healthcheckOf(raw.healthcheck, p, at('healthcheck')),
    stopGracePeriod: raw.stop_grace_period === undefined ? undefined : parseDuration(raw.stop_grace_period, p, at('stop_grace_period')),
    user: raw.user === undefined ? undefined : String(raw.user),
    workingDir: raw.working_dir,
    hostname: raw.hostname,
    aliases: serviceAliases(raw.networks, p, at('networks')),
    fleet,
    announce: normalizeAnnounce(name, raw['x-announce'], { ...ctx, global, replicas, ports }, p, at('x-announce')),
    systemd: normalizeXSystemd(raw['x-systemd'], p, at('x-systemd')),
    ...(awaitTimeout === undefined ? {} : { awaitTimeout }),
  };
  // The agent announces a container's address: with no network there is none, and the announcement could
  // never appear while its unit and sidekick look up (x-docker.args --network=none is left to the agent's
  // refusal, which load and status name).
  if (run.network === 'none' && raw['x-announce'] !== undefined && raw['x-announce'] !== false) {
    p.add(at('x-announce'), 'x-announce with network_mode: none: the container has no address to announce, so its announcement could never appear', 'remove x-announce, or give the container a network (remove network_mode: none)', 'key');
  }
  if (raw.volume_driver !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.\/:-]*$/.test(raw.volume_driver)) p.add(at('volume_driver'), `expected a volume driver name, got ${describeValue(raw.volume_driver)}`, 'write e.g. volume_driver: flocker');
  if (service.user !== undefined && !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(service.user)) p.add(at('user'), `expected USER or USER:GROUP (names or ids), got ${describeValue(service.user)}`, 'write e.g. user: "1000:1000"');
  if (raw.working_dir !== undefined) absolutePath(raw.working_dir, p, at('working_dir'));
  if (raw.hostname !== undefined && !raw.hostname.split('.').every(isLabel)) p.add(at('hostname'), `expected a host name (labels of letters, digits and inner hyphens), got ${describeValue(raw.hostname)}`, 'write e.g. hostname: db-primary');
  return service;
}

function replicasOf(raw: RawService, global: boolean, p: Problems, path: SpecPath): number {
  const fromDeploy = raw.deploy?.replicas;
  const where = fromDeploy !== undefined ? [...path, 'deploy', 'replicas'] : [...path, 'scale'];
  if (fromDeploy !== undefined && raw.scale !== undefined && fromDeploy !== raw.scale) p.add([...path, 'scale'], `scale: ${raw.scale} and deploy.replicas: ${fromDeploy} disagree`, 'keep one of the two');
  const n = fromDeploy ?? raw.scale;
  if (n === undefined) return 1;
  if (n === 0) p.add(where, 'replicas must be at least 1: a service with no instance renders nothing', 'remove the service, or write replicas: 1');
  else if (n < 0 || n > 10000) p.add(where, `expected a whole number from 1 to 10000, got ${n}`, 'write e.g. replicas: 3');
  else if (global && n > 1) p.add(where, `a global service runs once on every machine; replicas: ${n} cannot apply`, 'remove replicas, or make the service not global');
  else return n;
  return 1;
}

/** `environment`/`labels`: a map or a `KEY=VAL` list → ordered pairs. `[FOO]` (no `=`) passes FOO through. */
function pairs(raw: Record<string, string | number | boolean | null> | string[] | undefined, kind: 'environment' | 'labels', p: Problems, path: SpecPath): Array<readonly [string, string | undefined]> {
  const entries: Array<[string, string | undefined, SpecPath]> = Array.isArray(raw)
    ? raw.map((s, i) => {
        const eq = s.indexOf('=');
        return eq < 0 ? [s, undefined, [...path, i]] : [s.slice(0, eq), s.slice(eq + 1), [...path, i]];
      })
    : Object.entries(raw ?? {}).map(([k, v]) => [k, v === null ? undefined : String(v), [...path, k]]);
  const out: Array<readonly [string, string | undefined]> = [];
  for (const [k, v, at] of entries) {
    if (kind === 'environment' && !ENV_NAME.test(k)) {
      p.add(at, `environment variable name ${describeValue(k)} must not be empty or contain "=", spaces or control characters`, 'rename it, e.g. APP_MODE');
    } else if (kind === 'labels' && (k === '' || CONTROL.test(k) || /[=\s]/.test(k))) {
      p.add(at, `label name ${describeValue(k)} must not be empty or contain "=", spaces or control characters`, 'write e.g. com.example.tier: web');
    } else if (v?.includes('\0')) {
      p.add(at, `the value of ${k} contains a NUL character, which no process argument can carry`, 'remove it');
    } else out.push([k, v]);
  }
  return out;
}

function absolutePath(v: string, p: Problems, path: SpecPath): boolean {
  if (v.startsWith('/') && !CONTROL.test(v)) return true;
  p.add(path, `expected an absolute path on the hosts, got ${describeValue(v)}`, 'write a path starting with "/", without control characters');
  return false;
}

function healthcheckOf(raw: RawService['healthcheck'], p: Problems, path: SpecPath): HealthcheckSpec | undefined {
  if (!raw) return undefined;
  if (raw.disable) {
    const others = Object.keys(raw).filter((k) => k !== 'disable');
    if (others.length > 0) p.add([...path, others[0] ?? ''], `disable: true turns the check off; ${others[0]} has no effect`, 'remove the other keys, or remove disable', 'key');
    return { test: ['NONE'], interval: undefined, timeout: undefined, retries: undefined, startPeriod: undefined, startInterval: undefined };
  }
  let test: string[] | undefined;
  if (typeof raw.test === 'string') test = ['CMD-SHELL', raw.test];
  else if (raw.test) {
    const [kind] = raw.test;
    if (kind === 'NONE' || (kind === 'CMD' && raw.test.length > 1) || (kind === 'CMD-SHELL' && raw.test.length === 2)) test = raw.test;
    else p.add([...path, 'test'], `expected ["CMD", program, args…], ["CMD-SHELL", "command"] or ["NONE"], got a list starting with ${describeValue(kind)}`, 'write e.g. test: ["CMD", "curl", "-f", "http://localhost/"]');
  } else p.add(path, 'a health check needs a test', 'add test: ["CMD", …], or disable: true');
  if (test?.some((w) => w.includes('\0'))) p.add([...path, 'test'], 'the test cannot contain a NUL character', 'remove it');
  const dur = (k: 'interval' | 'timeout' | 'start_period' | 'start_interval', min: number) => (raw[k] === undefined ? undefined : parseDuration(raw[k], p, [...path, k], min));
  if (raw.retries !== undefined && raw.retries < 0) p.add([...path, 'retries'], `expected a whole number of at least 0 (0: docker's default), got ${raw.retries}`, 'write e.g. retries: 3');
  return { test: test ?? ['NONE'], interval: dur('interval', 1), timeout: dur('timeout', 1), retries: raw.retries, startPeriod: dur('start_period', 0), startInterval: dur('start_interval', 1) };
}

/** `restart` or `deploy.restart_policy` (one of the two) → policy, retry limit and delay. */
function restartOf(raw: RawService, p: Problems, path: SpecPath): { restart: ServiceSpec['restart']; retries: number | undefined; delay: number | undefined } {
  const policy = raw.deploy?.restart_policy;
  const at = [...path, 'deploy', 'restart_policy'];
  if (policy !== undefined) {
    if (raw.restart !== undefined) p.add(at, 'restart: and deploy.restart_policy both set the restart policy', 'keep one of the two', 'key');
    const cond = policy.condition ?? 'any';
    const restart = RESTART_CONDITION[cond as keyof typeof RESTART_CONDITION];
    if (!restart) p.add([...at, 'condition'], `expected none, on-failure or any, got ${describeValue(cond)}`, 'write e.g. condition: on-failure');
    if (policy.max_attempts !== undefined && policy.max_attempts < 0) p.add([...at, 'max_attempts'], `expected 0 or more, got ${policy.max_attempts}`, 'write e.g. max_attempts: 3');
    const delay = policy.delay === undefined ? undefined : parseDuration(policy.delay, p, [...at, 'delay']);
    // Swarm's max_attempts counts restarts under any condition; 0 is no limit, as docker's on-failure:0.
    const retries = policy.max_attempts ? policy.max_attempts : undefined;
    return { restart: restart ?? 'no', retries: restart === 'no' ? undefined : retries, delay };
  }
  const m = RESTART.exec(raw.restart ?? 'no');
  if (!m) p.add([...path, 'restart'], `expected no, always, on-failure[:N] or unless-stopped, got ${describeValue(raw.restart)}`, 'write e.g. restart: always');
  if (m?.[2] !== undefined && m[1] !== 'on-failure') p.add([...path, 'restart'], `only on-failure takes a retry count, got ${describeValue(raw.restart)}`, `write restart: ${m[1]}`);
  // docker's on-failure:0 means no limit.
  const retries = m?.[2] === undefined || Number(m[2]) === 0 ? undefined : Number(m[2]);
  return { restart: (m?.[1] ?? 'no') as ServiceSpec['restart'], retries, delay: undefined };
}

/** A long-syntax `type: tmpfs` volume → a `--tmpfs` value `TARGET[:size=BYTES,mode=OCTAL]`. */
function tmpfsOf(v: { target: string; tmpfs?: { size?: string | number | undefined; mode?: string | number | undefined } | undefined }, p: Problems, path: SpecPath): string[] {
  if (!v.target.startsWith('/') || /[:,\s]/.test(v.target) || CONTROL.test(v.target)) return (p.add([...path, 'target'], `expected an absolute container path, got ${describeValue(v.target)}`, 'write e.g. target: /run'), []);
  const opts: string[] = [];
  if (v.tmpfs?.size !== undefined) {
    const size = parseBytes(v.tmpfs.size, p, [...path, 'tmpfs', 'size']);
    if (size !== undefined) opts.push(`size=${size}`);
  }
  if (v.tmpfs?.mode !== undefined) {
    // YAML reads 1777 as a decimal number; Compose means the octal digits as written.
    const mode = String(v.tmpfs.mode);
    if (/^0?[0-7]{3,4}$/.test(mode)) opts.push(`mode=${mode}`);
    else p.add([...path, 'tmpfs', 'mode'], `expected an octal mode like 1777, got ${describeValue(v.tmpfs.mode)}`, 'write e.g. mode: 1777');
  }
  return [opts.length ? `${v.target}:${opts.join(',')}` : v.target];
}
