/**
 * One raw (schema-checked) service → ServiceSpec: Compose shorthands expanded, defaults filled in, and every
 * value that ends up in a unit checked so that it cannot add a directive or mean something else there.
 */
import type { HealthcheckSpec, PortSpec, ServiceSpec, VolumeSpec } from './types.js';
import type { RawService } from './schema.js';
import { CONTROL, isImageReference, isLabel, parseDuration, parsePortLong, parsePortShort, parseVolumeLong, parseVolumeShort, splitShellWords } from './compose-values.js';
import { normalizeAnnounce, normalizeXFleet, normalizeXSystemd, parseConstraint } from './normalize-extensions.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';

/** What a service needs to know about the cluster around it. */
export interface ServiceContext {
  readonly cluster: string;
  readonly prefix: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESTART = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/;

/** Normalizes `raw` (already checked by `serviceSchema`) at `path`; problems go to `p`. */
export function normalizeService(name: string, raw: RawService, ctx: ServiceContext, p: Problems, path: SpecPath): ServiceSpec {
  const at = (...rest: Array<string | number>): SpecPath => [...path, ...rest];
  if (!isImageReference(raw.image)) p.add(at('image'), `expected a docker image reference, got ${describeValue(raw.image)}`, 'write e.g. nginx:1.25 or registry.example.com/team/app:2.0 (lower-case repository, no spaces)');
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
  const ports = (raw.ports ?? []).flatMap((v, i): PortSpec | PortSpec[] => (typeof v === 'object' ? parsePortLong(v, p, at('ports', i)) : parsePortShort(v, p, at('ports', i))) ?? []);
  const fleet = normalizeXFleet(name, raw['x-fleet'], constraints, global, p, at('x-fleet'));
  const restart = RESTART.exec(raw.restart ?? 'no');
  if (!restart) p.add(at('restart'), `expected no, always, on-failure[:N] or unless-stopped, got ${describeValue(raw.restart)}`, 'write e.g. restart: always');
  const retries = restart?.[2] === undefined ? undefined : Number(restart[2]);
  if (restart?.[2] !== undefined && restart[1] !== 'on-failure') p.add(at('restart'), `only on-failure takes a retry count, got ${describeValue(raw.restart)}`, `write restart: ${restart[1]}`);
  const service: ServiceSpec = {
    name,
    image: raw.image,
    command: argv('command'),
    entrypoint: argv('entrypoint'),
    environment: pairs(raw.environment, 'environment', p, at('environment')),
    envFiles: [raw.env_file ?? []].flat().filter((f, i) => absolutePath(f, p, Array.isArray(raw.env_file) ? at('env_file', i) : at('env_file'))),
    ports,
    volumes: (raw.volumes ?? []).flatMap((v, i): VolumeSpec | VolumeSpec[] => (typeof v === 'string' ? parseVolumeShort(v, p, at('volumes', i)) : parseVolumeLong(v, p, at('volumes', i))) ?? []),
    volumeDriver: raw.volume_driver,
    labels: pairs(raw.labels, 'labels', p, at('labels')).map(([k, v]) => [k, v ?? ''] as const),
    restart: (restart?.[1] ?? 'no') as ServiceSpec['restart'],
    ...(retries === undefined ? {} : { restartMaxRetries: retries }),
    replicas,
    healthcheck: healthcheckOf(raw.healthcheck, p, at('healthcheck')),
    stopGracePeriod: raw.stop_grace_period === undefined ? undefined : parseDuration(raw.stop_grace_period, p, at('stop_grace_period')),
    user: raw.user === undefined ? undefined : String(raw.user),
    workingDir: raw.working_dir,
    hostname: raw.hostname,
    fleet,
    announce: normalizeAnnounce(name, raw['x-announce'], { ...ctx, global, replicas, ports }, p, at('x-announce')),
    systemd: normalizeXSystemd(raw['x-systemd'], p, at('x-systemd')),
  };
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
      p.add(at, `environment variable name ${describeValue(k)} must be letters, digits and "_", not starting with a digit`, 'rename it, e.g. APP_MODE');
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
    return { test: ['NONE'], interval: undefined, timeout: undefined, retries: undefined, startPeriod: undefined };
  }
  let test: string[] | undefined;
  if (typeof raw.test === 'string') test = ['CMD-SHELL', raw.test];
  else if (raw.test) {
    const [kind] = raw.test;
    if (kind === 'NONE' || (kind === 'CMD' && raw.test.length > 1) || (kind === 'CMD-SHELL' && raw.test.length === 2)) test = raw.test;
    else p.add([...path, 'test'], `expected ["CMD", program, args…], ["CMD-SHELL", "command"] or ["NONE"], got a list starting with ${describeValue(kind)}`, 'write e.g. test: ["CMD", "curl", "-f", "http://localhost/"]');
  } else p.add(path, 'a health check needs a test', 'add test: ["CMD", …], or disable: true');
  if (test?.some((w) => w.includes('\0'))) p.add([...path, 'test'], 'the test cannot contain a NUL character', 'remove it');
  const dur = (k: 'interval' | 'timeout' | 'start_period', min: number) => (raw[k] === undefined ? undefined : parseDuration(raw[k], p, [...path, k], min));
  if (raw.retries !== undefined && raw.retries < 1) p.add([...path, 'retries'], `expected a whole number of at least 1, got ${raw.retries}`, 'write e.g. retries: 3');
  return { test: test ?? ['NONE'], interval: dur('interval', 1), timeout: dur('timeout', 1), retries: raw.retries, startPeriod: dur('start_period', 0) };
}
