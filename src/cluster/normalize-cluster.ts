/**
 * fleetkit's own settings of a raw (schema-checked) cluster file (`x-fleetkit:`) → ClusterSpec parts: etcd,
 * flannel, runtime, hosts and roles, with defaults filled in. Paths are relative to `x-fleetkit` (the caller
 * gives a `Problems` view with the right prefix). Services are normalized one by one in `normalize-service.ts`.
 */
import type { ClusterSpec, EtcdSpec, FlannelSpec, FleetReleaseSpec, HostsSpec, RoleSpec, RuntimeSpec } from './types.js';
import type { RawFleetkit } from './schema.js';
import { CONTROL, isImageReference, isLabel } from './compose-values.js';
import { describeValue, type Problems } from './problems.js';

const FLANNEL_BACKENDS = ['vxlan', 'host-gw', 'udp', 'wireguard', 'ipip', 'ipsec', 'aws-vpc', 'gce', 'ali-vpc', 'tencent-vpc', 'alloc'];
const KEY_PREFIX = /^(\/[A-Za-z0-9._-]+)+$/;

/** Checks the cluster name: it ends every hosts entry (`host-1.NAME`) and the default etcd keys. */
export function checkClusterName(name: string, p: Problems, from: 'name' | 'directory' = 'name'): void {
  if (isLabel(name)) return;
  if (from === 'name') p.add(['name'], `cluster name ${describeValue(name)} must be an RFC 1123 label (letters, digits, inner hyphens, at most 63 characters)`, 'write e.g. name: web');
  else p.add([], `the cluster is named after its directory, ${describeValue(name)}, which is not an RFC 1123 label (letters, digits, inner hyphens, at most 63 characters)`, 'add name: NAME at the top, or pass -p NAME');
}

/** `etcd:` with defaults: endpoint `http://127.0.0.1:2379`, prefix `/services`. */
export function normalizeEtcd(raw: RawFleetkit['etcd'], p: Problems): EtcdSpec {
  const endpoints = [raw?.endpoints ?? 'http://127.0.0.1:2379'].flat();
  endpoints.forEach((e, i) => {
    let ok = false;
    try {
      const u = new URL(e);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !/[\s,]/.test(e) && (u.pathname === '/' || u.pathname === '');
    } catch {
      ok = false;
    }
    if (!ok) p.add(['etcd', 'endpoints', ...(Array.isArray(raw?.endpoints) ? [i] : [])], `expected an etcd client URL like http://10.0.0.1:2379, got ${describeValue(e)}`, 'write http:// or https://, a host and a port, nothing else');
  });
  const prefix = (raw?.prefix ?? '/services').replace(/\/+$/, '');
  if (!KEY_PREFIX.test(prefix)) p.add(['etcd', 'prefix'], `expected a key prefix like /services, got ${describeValue(raw?.prefix)}`, 'start with "/"; use letters, digits, ".", "_" and "-" between slashes');
  const tls = raw?.tls;
  for (const k of ['ca', 'cert', 'key'] as const) if (tls?.[k] !== undefined) absolute(tls[k], ['etcd', 'tls', k], p);
  if (tls && (tls.cert === undefined) !== (tls.key === undefined)) p.add(['etcd', 'tls'], 'a client certificate needs both cert and key', 'give both cert: and key:, or neither');
  if (raw?.auth) {
    if (!/^[^\s:]+$/.test(raw.auth.user)) p.add(['etcd', 'auth', 'user'], `expected an etcd user name without spaces or ":", got ${describeValue(raw.auth.user)}`, 'write e.g. user: fleetkit');
    absolute(raw.auth.passwordFile, ['etcd', 'auth', 'passwordFile'], p);
  }
  return { endpoints, prefix, tls, auth: raw?.auth };
}

/** `flannel:` with defaults (subnetLen 24, backend vxlan, prefix /coreos.com/network); undefined when absent. */
export function normalizeFlannel(raw: RawFleetkit['flannel'], p: Problems): FlannelSpec | undefined {
  if (!raw) return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw.network);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || bits > 30) p.add(['flannel', 'network'], `expected an IPv4 network like 10.1.0.0/16, got ${describeValue(raw.network)}`, 'write an address and a prefix length of at most 30');
  const subnetLen = raw.subnetLen ?? 24;
  if (m && !(subnetLen > bits && subnetLen <= 30)) p.add(['flannel', 'subnetLen'], `subnetLen ${subnetLen} must be longer than the network's /${bits} and at most 30`, `write e.g. subnetLen: ${Math.min(30, Math.max(24, bits + 1))}`);
  const backend = raw.backend ?? 'vxlan';
  if (!FLANNEL_BACKENDS.includes(backend)) p.add(['flannel', 'backend'], `unknown flannel backend ${describeValue(backend)}`, `use one of ${FLANNEL_BACKENDS.join(', ')}`);
  const prefix = (raw.prefix ?? '/coreos.com/network').replace(/\/+$/, '');
  if (!KEY_PREFIX.test(prefix)) p.add(['flannel', 'prefix'], `expected a key prefix like /coreos.com/network, got ${describeValue(raw.prefix)}`, 'start with "/"');
  return { network: raw.network, subnetLen, backend, prefix };
}

/** `runtime:` with defaults: docker /usr/bin/docker, fleetkit binary /opt/bin/fleetkit, state dir /run/fleetkit. */
export function normalizeRuntime(raw: RawFleetkit['runtime'], p: Problems): RuntimeSpec {
  const docker = raw?.docker ?? '/usr/bin/docker';
  if (raw?.docker !== undefined) absolute(docker, ['runtime', 'docker'], p);
  const dockerSocket = raw?.dockerSocket;
  if (dockerSocket !== undefined) absolute(dockerSocket, ['runtime', 'dockerSocket'], p);
  const stateDir = raw?.stateDir ?? '/run/fleetkit';
  if (raw?.stateDir !== undefined) absolute(stateDir, ['runtime', 'stateDir'], p);
  const f = raw?.fleetkit ?? {};
  const at = ['runtime', 'fleetkit'];
  if (f.image !== undefined) {
    if (f.binary !== undefined || f.url !== undefined || f.sha256 !== undefined) p.add(at, 'fleetkit runs either from an image or from a binary, not both', 'keep image:, or keep binary:/url:/sha256:');
    if (!isImageReference(f.image) || !/:[\w][\w.-]*$/.test(f.image)) p.add([...at, 'image'], `expected an image with a tag like fleetkit:0.1.0, got ${describeValue(f.image)}`, 'name the tag; hosts load the image by that exact name');
    return { docker, dockerSocket, stateDir, fleetkit: { kind: 'image', image: f.image } };
  }
  const path = f.binary ?? '/opt/bin/fleetkit';
  if (f.binary !== undefined) absolute(path, [...at, 'binary'], p);
  if (f.url !== undefined && !/^https?:\/\/[^\s]+$/.test(f.url)) p.add([...at, 'url'], `expected an http(s) URL, got ${describeValue(f.url)}`, 'write e.g. https://example.com/fleetkit-0.1.0');
  if (f.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(f.sha256)) p.add([...at, 'sha256'], 'expected 64 lower-case hex digits', 'write the output of sha256sum FILE');
  if (f.url !== undefined && f.sha256 === undefined) p.add([...at, 'url'], 'a download URL needs a sha256 to check it against', 'add sha256: (the output of sha256sum FILE)');
  return { docker, dockerSocket, stateDir, fleetkit: { kind: 'binary', path, url: f.url, sha256: f.sha256 } };
}

const SHA256 = /^[0-9a-f]{64}$/;

/** `fleet:` (a fleet release for hosts that ship none): url and sha256, both or neither; undefined when absent. */
export function normalizeFleet(raw: RawFleetkit['fleet'], p: Problems): FleetReleaseSpec | undefined {
  if (!raw) return undefined;
  if (raw.url === undefined) p.add(['fleet'], 'a fleet release needs url:', 'write e.g. url: https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz');
  else if (!/^https?:\/\/[^\s]+$/.test(raw.url)) p.add(['fleet', 'url'], `expected an http(s) URL of a fleet release tarball, got ${describeValue(raw.url)}`, 'write e.g. https://github.com/coreos/fleet/releases/download/v1.0.0/fleet-v1.0.0-linux-amd64.tar.gz');
  if (raw.sha256 === undefined) p.add(['fleet'], 'a fleet release needs sha256: hosts check the download against it', 'add sha256: (the output of sha256sum FILE)');
  else if (!SHA256.test(raw.sha256)) p.add(['fleet', 'sha256'], 'expected 64 lower-case hex digits', 'write the output of sha256sum FILE');
  return raw.url !== undefined && raw.sha256 !== undefined ? { url: raw.url, sha256: raw.sha256 } : undefined;
}

/** Where the containers' hosts file of cluster NAME lives unless `hosts.containers` names a path. */
export function defaultContainersFile(cluster: string): string {
  return `/run/fleetkit/hosts/${cluster}`;
}

/** `hosts:` with default file /etc/hosts; `exec` is an argv (no shell); `containers` true, false or a path. */
export function normalizeHosts(raw: RawFleetkit['hosts'], p: Problems, cluster: string): HostsSpec {
  const file = raw?.file ?? '/etc/hosts';
  if (raw?.file !== undefined) absolute(file, ['hosts', 'file'], p);
  if (raw?.exec !== undefined) {
    if (raw.exec.length === 0) p.add(['hosts', 'exec'], 'an empty command runs nothing', 'write e.g. exec: [/usr/bin/systemctl, reload, dnsmasq], or remove it');
    else absolute(raw.exec[0] ?? '', ['hosts', 'exec', 0], p);
    raw.exec.forEach((a, i) => a.includes('\0') && p.add(['hosts', 'exec', i], 'an argument cannot contain a NUL character', 'remove it'));
  }
  const c = raw?.containers ?? true;
  const containers = c === false ? undefined : c === true ? defaultContainersFile(cluster) : c;
  if (typeof c === 'string') {
    absolute(c, ['hosts', 'containers'], p);
    if (!/^[A-Za-z0-9._/@+-]*$/.test(c)) p.add(['hosts', 'containers'], `${describeValue(c)}: the path goes into docker's --mount list, where a comma, quote or space would change its meaning`, 'use letters, digits and . _ / @ + - only');
    if (c === file) p.add(['hosts', 'containers'], `the containers' hosts file cannot be hosts.file (${file}) too: it is written whole, and holds bare names the host must not get`, 'give it a path of its own, e.g. /run/fleetkit/hosts/NAME, or remove it for the default');
  }
  return { file, exec: raw?.exec, keepInode: raw?.keepInode ?? false, containers };
}

/** `roles:` → roles in file order, for cloud-config. */
export function normalizeRoles(raw: RawFleetkit['roles'], p: Problems): RoleSpec[] {
  return Object.entries(raw ?? {}).map(([name, r]) => {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) p.add(['roles', name], `role name ${describeValue(name)} must be lower-case letters, digits and "-"`, 'write e.g. worker', 'key');
    const metadata = Object.entries(r.metadata ?? {}).map(([k, v]) => [k, String(v)] as const);
    for (const [k, v] of metadata) {
      if (!/^[A-Za-z0-9_.-]+$/.test(k) || !/^[A-Za-z0-9_.-]+$/.test(v)) p.add(['roles', name, 'metadata', k], `metadata ${describeValue(`${k}=${v}`)} must be letters, digits, ".", "_" or "-" on both sides`, 'fleet reads metadata as k=v,k=v: no spaces, "=" or ","');
    }
    return { name, metadata, etcdMember: r.etcd ?? false };
  });
}

function absolute(v: string, path: Array<string | number>, p: Problems): void {
  if (!v.startsWith('/') || CONTROL.test(v)) p.add(path, `expected an absolute path, got ${describeValue(v)}`, 'write a path starting with "/", without control characters');
}

export type { ClusterSpec };
