/**
 * Loading a cluster file: YAML with positions → interpolation (as Compose does it, before any check) →
 * env files → raw schema (zod/mini) → normalized ClusterSpec. Every problem is collected and thrown together
 * as one SpecError, so a user fixes the whole file in one pass; warnings come back beside the spec.
 * `parseCluster` reads nothing but the env files a service names (through the context when it gives a reader);
 * `cluster-file.ts` finds and reads the file itself, `.env` and the variables.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SpecError, sortProblems, type SpecProblem } from '../errors.js';
import type { ClusterSpec, ServiceSpec } from './types.js';
import { clusterSchema, fleetkitSchema, FLEETKIT_KEYS, reportIssues, serviceSchema, type RawCluster, type RawFleetkit, type RawService } from './schema.js';
import { describeValue, Problems, type SpecPath } from './problems.js';
import { parseYamlSource } from './yaml-source.js';
import { interpolateValues } from './interpolate-values.js';
import { resolveEnvFiles } from './env-files.js';
import { checkClusterName, normalizeEtcd, normalizeFlannel, normalizeFleet, normalizeHosts, normalizeRoles, normalizeRuntime } from './normalize-cluster.js';
import { normalizeService, type ServiceContext } from './normalize-service.js';
import { normalizeResources } from './normalize-resources.js';
import { normalizeTarget } from './normalize-target.js';
import { checkTargetKeys } from './check-target-keys.js';
import { readDependsOn, resolveDependencies, type DependencyRef } from './normalize-depends.js';
import type * as z from 'zod/mini';
import { FLEETKIT_SERVICE_KEYS, readComposeForms } from './compose-forms.js';

const SERVICE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** What a cluster file is read with, besides its text. Everything is optional; pure callers give nothing. */
export interface ClusterContext {
  /** Variables for interpolation: the shell's environment over `.env`. Default: none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The shell's own environment (a subset of `env`), for the warning on a `$NAME` that now changes meaning. */
  readonly shell?: Readonly<Record<string, string | undefined>>;
  /** Reads an env file named by a service (relative to the directory below); throws Node errors. */
  readonly readEnvFile?: (path: string) => string;
  /** From `-p` or COMPOSE_PROJECT_NAME, already checked: it beats `name:`. */
  readonly projectName?: string | undefined;
  /** The directory relative paths in the file are resolved against; default: the file's own. */
  readonly dir?: string;
  /** The normalized name of the file's directory: the name when nothing else gives one. */
  readonly directoryName?: string | undefined;
  /** Problems and warnings found before the file itself (in `.env`), reported with the file's own. */
  readonly problems?: readonly SpecProblem[];
  readonly warnings?: readonly SpecProblem[];
}

/** A loaded cluster and the warnings its file gave. */
export interface ParsedCluster {
  readonly spec: ClusterSpec;
  readonly warnings: readonly SpecProblem[];
}

/** Parses and validates spec text; `file` is used in messages. Throws SpecError with every problem found. */
export function parseSpec(text: string, file: string, ctx: ClusterContext = {}): ClusterSpec {
  return parseCluster(text, file, ctx).spec;
}

/** Parses and validates a cluster file's text. Throws SpecError with every problem found (and the context's). */
export function parseCluster(text: string, file: string, ctx: ClusterContext = {}): ParsedCluster {
  const source = parseYamlSource(text, file);
  const before = ctx.problems ?? [];
  if (source.problems.length > 0) throw new SpecError([...source.problems, ...before], ctx.warnings);
  const p = new Problems(file, source.map);
  p.warnings.push(...(ctx.warnings ?? []));
  // The file's own problems first, then those of .env and the env files it names.
  const fail = (): never => {
    throw new SpecError([...p.list.filter((x) => x.file === file), ...before, ...p.list.filter((x) => x.file !== file)], p.warnings);
  };
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    p.add([], 'expected a mapping with services:', 'start from examples/seed/cluster.yaml');
    fail();
  }
  const env = ctx.env ?? {};
  const shell = ctx.shell ?? {};
  const data = interpolateValues(source.data as Record<string, unknown>, { lookup: (n) => env[n], fromShell: (n) => shell[n] !== undefined }, p);
  // Env files are read beside the cluster file unless the caller reads them (stdin, tests).
  const readEnvFile = ctx.readEnvFile ?? ((f: string) => readFileSync(resolve(ctx.dir ?? dirname(file), f), 'utf8'));
  resolveEnvFiles(data, file, { read: readEnvFile, lookup: (n) => env[n] }, p);
  const read = readComposeForms(data, p);
  // Compose's top-level `x-` fields hold YAML anchors; they are allowed and ignored, except our own keys.
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(read)) {
    // Our service keys at the top level would be ignored, which is never what the author meant.
    if ((FLEETKIT_SERVICE_KEYS as readonly string[]).includes(k)) p.add([k], `${k} belongs under a service, not at the top level`, `move it to services.NAME.${k}`, 'key');
    else if (!k.startsWith('x-') && !(FLEETKIT_KEYS as readonly string[]).includes(k)) top[k] = v;
  }
  const parsed = clusterSchema.safeParse(top, { reportInput: true });
  if (!parsed.success) reportIssues(p, [], parsed.error.issues, clusterSchema);
  const raw: Partial<RawCluster> = parsed.success ? parsed.data : pickValid(top);
  const own = fleetkitSettings(data, p);
  const name = clusterName(raw, 'name' in top, ctx, p);
  const etcd = normalizeEtcd(own.raw.etcd, own.at('etcd'));
  const dir = ctx.dir ?? dirname(resolve(file));
  const resources = normalizeResources(top, dir, p);
  const runtime = normalizeRuntime(own.raw.runtime, own.at('runtime'));
  const refs = new Map<string, DependencyRef[]>();
  const hosts = normalizeHosts(own.raw.hosts, own.at('hosts'), name);
  const services = resolveDependencies(normalizeServices(raw.services, { cluster: name, prefix: etcd.prefix, dir, resources, hostsMounted: hosts.containers !== undefined }, p, refs), refs, { runtime: runtime.fleetkit.kind }, p);
  const fleet = normalizeFleet(own.raw.fleet, own.at('fleet'));
  const target = normalizeTarget(data['x-fleetkit'], p);
  checkTargetKeys(services, raw.services ?? {}, target, p);
  const spec: ClusterSpec = {
    file,
    name,
    etcd,
    flannel: normalizeFlannel(own.raw.flannel, own.at('flannel')),
    runtime,
    hosts,
    services,
    roles: normalizeRoles(own.raw.roles, own.at('roles')),
    target,
    ...(fleet ? { fleet } : {}),
    warnings: sortProblems(p.warnings),
  };
  if (p.count > 0 || before.length > 0) fail();
  return { spec, warnings: spec.warnings };
}

/**
 * fleetkit's settings, from `x-fleetkit:` and from the old top-level keys (read with a deprecation warning,
 * since `docker compose` refuses unknown top-level keys). `at(key)` records problems where the key was
 * written. When the settings have type problems they are reported and the defaults are used.
 */
function fleetkitSettings(data: Record<string, unknown>, p: Problems): { raw: Partial<RawFleetkit>; at: (key: string) => Problems } {
  const x = data['x-fleetkit'];
  const inX = x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
  if (x !== undefined && x !== null && inX !== x) p.add(['x-fleetkit'], `expected a mapping, got ${describeValue(x)}`, 'write e.g. x-fleetkit: { etcd: { endpoints: http://10.0.0.1:2379 } }');
  const merged: Record<string, unknown> = { ...inX };
  const legacy = new Set<string>();
  for (const key of FLEETKIT_KEYS) {
    if (!(key in data)) continue;
    if (key in inX) {
      p.add([key], `"${key}" is given both here and under x-fleetkit`, `keep x-fleetkit.${key} and remove this one`, 'key');
      continue;
    }
    p.warn([key], `top-level "${key}" is deprecated: fleetkit's own keys go under x-fleetkit, which docker compose also accepts`, `move it: x-fleetkit: { ${key}: … }`, 'key');
    merged[key] = data[key];
    legacy.add(key);
  }
  const at = (key: string): Problems => (legacy.has(key) ? p : p.under(['x-fleetkit']));
  const parsed = fleetkitSchema.safeParse(merged, { reportInput: true });
  if (parsed.success) return { raw: parsed.data, at };
  for (const issue of parsed.error.issues) reportIssues(at(String(issue.path[0] ?? '')), [], [issue], fleetkitSchema);
  return { raw: {}, at };
}

/** The cluster's name: `-p`/COMPOSE_PROJECT_NAME, then `name:`, then the directory's name. */
function clusterName(raw: Partial<RawCluster>, named: boolean, ctx: ClusterContext, p: Problems): string {
  if (ctx.projectName) return ctx.projectName;
  // A `name:` of the wrong type is already reported by the schema.
  if (named && typeof raw.name !== 'string') return 'cluster';
  if (typeof raw.name === 'string') {
    checkClusterName(raw.name, p);
    return raw.name;
  }
  const dir = ctx.directoryName;
  if (dir !== undefined && dir !== '') {
    checkClusterName(dir, p, 'directory');
    return dir;
  }
  p.add([], 'the cluster has no name', 'add name: NAME at the top, or pass -p NAME (or set COMPOSE_PROJECT_NAME)');
  return 'cluster';
}

/** When the top level has type problems, keep what is still usable so that services are checked too. */
function pickValid(top: Record<string, unknown>): Partial<RawCluster> {
  const services = top.services;
  const okServices = services !== null && typeof services === 'object' && !Array.isArray(services);
  return { name: typeof top.name === 'string' ? top.name : undefined, services: okServices ? (services as Record<string, unknown>) : undefined };
}

function normalizeServices(raw: Record<string, unknown> | undefined, ctx: ServiceContext, p: Problems, refs: Map<string, DependencyRef[]>): ServiceSpec[] {
  if (raw === undefined) return [];
  const entries = Object.entries(raw);
  if (entries.length === 0) p.add(['services'], 'a cluster needs at least one service', 'add e.g. services: { web: { image: nginx } }');
  const out: ServiceSpec[] = [];
  for (const [name, value] of entries) {
    const path = ['services', name];
    if (!SERVICE_NAME.test(name)) {
      p.add(path, `service name ${describeName(name)} must be lower-case letters, digits and "-", starting with a letter or digit`, 'unit names derive from it (NAME@.service); write e.g. web or api-v2', 'key');
      continue;
    }
    const checked = checkService(value, path, p);
    if (!checked) continue;
    const service = normalizeService(name, checked, ctx, p, path);
    refs.set(name, readDependsOn(checked.depends_on, p, [...path, 'depends_on']));
    checkUnitNames(service, p, path);
    out.push(service);
  }
  // Services by name: the checks below look names up for every service, which must not cost O(n²).
  const byName = new Map(out.map((s) => [s.name, s]));
  // MachineOf naming an instance this spec never renders can never be satisfied: fleet would wait forever.
  // Units outside the spec are fleet's business (they may be loaded by other means) and are not checked.
  for (const s of out) {
    s.fleet.machineOf.forEach((unit, i) => {
      const m = /^([a-z0-9][a-z0-9-]*)@(\d+)\.service$/.exec(unit);
      const target = m && byName.get(m[1] ?? '');
      if (target && !target.fleet.global && Number(m?.[2]) > target.replicas) {
        const at = ['services', s.name, 'x-fleet', 'machineOf', ...(s.fleet.machineOf.length > 1 ? [i] : [])];
        p.add(at, `${unit} is never rendered: service "${target.name}" has ${target.replicas} instance(s)`, `name an instance from 1 to ${target.replicas}, or ${target.name}@%i.service`);
      }
    });
  }
  // Two containers of one name cannot run on one machine, and fleet may put them on the same one.
  const containerNames = new Map<string, string>();
  for (const s of out) {
    const other = s.containerName === undefined ? undefined : containerNames.get(s.containerName);
    if (s.containerName !== undefined && other !== undefined) p.add(['services', s.name, 'container_name'], `container name "${s.containerName}" is already used by service "${other}"`, 'give each service its own container_name');
    if (s.containerName !== undefined) containerNames.set(s.containerName, s.name);
  }
  // A service named `X-discovery` would collide with the discovery sidekick of service X; `fleetkit-*` names
  // are fleetkit's own host units (agent, hosts), which every cluster renders.
  for (const s of out) {
    if (s.name.startsWith('fleetkit-')) {
      p.add(['services', s.name], `service name "${s.name}" is reserved: fleetkit-* units are fleetkit's own (agent, hosts)`, 'rename the service', 'key');
    }
    if (s.announce && byName.has(`${s.name}-discovery`)) {
      p.add(['services', `${s.name}-discovery`], `service name "${s.name}-discovery" collides with the discovery unit of service "${s.name}"`, 'rename one of the two services', 'key');
    }
  }
  return out;
}

/**
 * The schema check of one service. When it fails, its problems are reported and the keys they are about are
 * left out and settled, and the rest of the service is checked again: the values that are fine still go
 * through every later check, so one run reports every problem of the file. Only the offending key itself is
 * left out first (`networks.back.ipv4_address`, so that the aliases beside it are still checked); when the
 * service still fails without it, the whole top-level key goes.
 */
function checkService(value: unknown, path: SpecPath, p: Problems): RawService | undefined {
  const first = serviceSchema.safeParse(value, { reportInput: true });
  if (first.success) return first.data;
  reportIssues(p, path, first.error.issues, serviceSchema);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const offending = first.error.issues.flatMap(issuePaths);
  for (const deep of [true, false]) {
    const rest = structuredClone(value) as Record<string, unknown>;
    const left: Array<Array<PropertyKey>> = [];
    for (const at of offending) {
      // Never into a list: without one of its entries, the later checks would name the next ones wrongly.
      const inList = at.findIndex((k) => typeof k === 'number');
      const key = deep ? at.slice(0, inList < 0 ? at.length : Math.max(inList, 1)) : at.slice(0, 1);
      if (key.length === 0 || key.some((k) => typeof k === 'symbol')) return undefined;
      removeAt(rest, key);
      left.push(key);
    }
    // A service without its image is a problem of its own; the image's problem is reported already.
    if ('image' in (value as object) && !('image' in rest)) rest.image = 'image-reported-above';
    const again = serviceSchema.safeParse(rest);
    if (!again.success) continue;
    for (const key of left) p.settle([...path, ...(key as Array<string | number>)]);
    return again.data;
  }
  for (const at of offending) if (typeof at[0] === 'string') p.settle([...path, at[0]]);
  return undefined;
}

/**
 * The paths an issue is about: an unknown key's own path, and inside a union (`networks` as a list or a
 * mapping) the paths of the one branch whose shape matched, as reportIssues reports them.
 */
function issuePaths(issue: z.core.$ZodIssue): PropertyKey[][] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => [...issue.path, k]);
  if (issue.code === 'invalid_union') {
    const inner = issue.errors.filter((errs) => !errs.every((e) => e.code === 'invalid_type' && e.path.length === 0));
    if (inner.length === 1 && inner[0]) return inner[0].flatMap((e) => issuePaths(e).map((at) => [...issue.path, ...at]));
  }
  return [issue.path];
}

/** Deletes the key at `at` (a path of mapping keys) in `root`. */
function removeAt(root: Record<string, unknown>, at: ReadonlyArray<PropertyKey>): void {
  let node: unknown = root;
  for (const k of at.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[k] : undefined;
  if (node !== null && typeof node === 'object' && !Array.isArray(node)) delete (node as Record<PropertyKey, unknown>)[at[at.length - 1]!];
}

/** The longest unit name a service renders must fit systemd's 255 bytes. */
function checkUnitNames(s: ServiceSpec, p: Problems, path: string[]): void {
  const instance = s.fleet.global ? '' : String(s.replicas);
  const longest = s.announce ? `${s.name}-discovery@${instance}.service` : `${s.name}@${instance}.service`;
  const bytes = Buffer.byteLength(longest);
  if (bytes > 255) p.add(path, `unit name "${longest.slice(0, 20)}…${longest.slice(-20)}" would be ${bytes} bytes; systemd allows at most 255`, `shorten the service name to at most ${s.name.length - (bytes - 255)} characters`, 'key');
}

function describeName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name);
}
