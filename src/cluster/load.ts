/**
 * Loading cluster.yaml: YAML with positions → raw schema (zod/mini) → normalized ClusterSpec. Every problem
 * is collected and thrown together as one SpecError, so a user fixes the whole file in one pass.
 * `parseSpec` is pure; `loadSpec` adds the file read.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SpecError, UsageError } from '../errors.js';
import type { ClusterSpec, ServiceSpec } from './types.js';
import { clusterSchema, reportIssues, serviceSchema, type RawCluster } from './schema.js';
import { Problems } from './problems.js';
import { parseYamlSource } from './yaml-source.js';
import { checkClusterName, normalizeEtcd, normalizeFlannel, normalizeHosts, normalizeRoles, normalizeRuntime } from './normalize-cluster.js';
import { normalizeService, type ServiceContext } from './normalize-service.js';
import { normalizeResources } from './normalize-resources.js';
import { normalizeTarget } from './normalize-target.js';

/** Our extension keys: at the top level they would be ignored, which is never what the author meant. */
const SERVICE_EXTENSIONS = ['x-fleet', 'x-announce', 'x-systemd'];
const SERVICE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Parses and validates spec text; `file` is used in messages. Throws SpecError with every problem found. */
export function parseSpec(text: string, file: string): ClusterSpec {
  const source = parseYamlSource(text, file);
  if (source.problems.length > 0) throw new SpecError(source.problems);
  const p = new Problems(file, source.map);
  const data = source.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    p.add([], 'expected a mapping with name: and services:', 'start from examples/seed/cluster.yaml');
    throw new SpecError(p.list);
  }
  // Compose's top-level `x-` fields hold YAML anchors; they are allowed and ignored, except our own keys.
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (SERVICE_EXTENSIONS.includes(k)) p.add([k], `${k} belongs under a service, not at the top level`, `move it to services.NAME.${k}`, 'key');
    else if (!k.startsWith('x-')) top[k] = v;
  }
  const parsed = clusterSchema.safeParse(top, { reportInput: true });
  if (!parsed.success) reportIssues(p, [], parsed.error.issues, clusterSchema);
  const raw: Partial<RawCluster> = parsed.success ? parsed.data : pickValid(top);
  const name = typeof raw.name === 'string' ? raw.name : 'cluster';
  if (typeof raw.name === 'string') checkClusterName(raw.name, p);
  const etcd = normalizeEtcd(parsed.success ? raw.etcd : undefined, p);
  const dir = dirname(resolve(file));
  const resources = normalizeResources(parsed.success ? raw : {}, dir, p);
  const services = normalizeServices(raw.services, { cluster: name, prefix: etcd.prefix, dir, resources }, p);
  const spec: ClusterSpec = {
    file,
    name,
    etcd,
    flannel: parsed.success ? normalizeFlannel(raw.flannel, p) : undefined,
    runtime: normalizeRuntime(parsed.success ? raw.runtime : undefined, p),
    hosts: normalizeHosts(parsed.success ? raw.hosts : undefined, p),
    services,
    roles: parsed.success ? normalizeRoles(raw.roles, p) : [],
    target: normalizeTarget((data as Record<string, unknown>)['x-fleetkit'], p),
    warnings: p.warnings,
  };
  if (p.count > 0) throw new SpecError(p.list);
  return spec;
}

/** When the top level has type problems, keep what is still usable so that services are checked too. */
function pickValid(top: Record<string, unknown>): Partial<RawCluster> {
  const services = top.services;
  const okServices = services !== null && typeof services === 'object' && !Array.isArray(services);
  return { name: typeof top.name === 'string' ? top.name : undefined, services: okServices ? (services as Record<string, unknown>) : undefined } as Partial<RawCluster>;
}

function normalizeServices(raw: Record<string, unknown> | undefined, ctx: ServiceContext, p: Problems): ServiceSpec[] {
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
    const parsed = serviceSchema.safeParse(value, { reportInput: true });
    if (!parsed.success) {
      reportIssues(p, path, parsed.error.issues, serviceSchema);
      continue;
    }
    const service = normalizeService(name, parsed.data, ctx, p, path);
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

/** Reads and parses a spec file. A missing or unreadable file is a UsageError with a hint. */
export async function loadSpec(path: string): Promise<ClusterSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${path}: no such file`, 'give the spec as an argument (e.g. gen-units examples/seed/cluster.yaml) or run where cluster.yaml is');
    if (code === 'EISDIR') throw new UsageError(`${path}: is a directory`, `give the file inside it, e.g. ${path.replace(/\/$/, '')}/cluster.yaml`);
    throw new UsageError(`${path}: cannot read: ${(e as Error).message}`, 'check the path and its permissions');
  }
  return parseSpec(text, path);
}
