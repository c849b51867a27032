/**
 * The everyday one-flag Compose keys of a raw service → RunOptions. Each value is checked against the form
 * docker accepts for its flag, so a typo is a located problem here and not a container that fails to start
 * on every machine. Values reach docker as single argv words (quoted by the renderer), so none can add a
 * flag or a directive.
 */
import { isIP } from 'node:net';
import type { RunOptions } from './types.js';
import type { RawService } from './schema-service.js';
import { CONTROL, isLabel, parseBytes } from './compose-values.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';
import { hostsEffects } from './x-docker-args.js';

const CAPABILITY = /^(CAP_)?[A-Z_]+$/i;
const SIGNAL = /^(SIG[A-Z0-9+-]+|[0-9]{1,2})$/;
const NAME_VALUE = /^[A-Za-z0-9_.\/-]+$/;
const ULIMITS = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);
const PULL: Record<string, RunOptions['pull']> = { always: 'always', missing: 'missing', if_not_present: 'missing', never: 'never' };

/** Normalizes the one-flag keys of `raw` at `path`. */
export function normalizeRun(raw: RawService, p: Problems, path: SpecPath, hostsMounted = true): RunOptions {
  const at = (...rest: Array<string | number>): SpecPath => [...path, ...rest];
  const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  /** Checks every word of a string-or-list key with `ok`; keeps the good ones. */
  const words = (key: keyof RawService, v: string | string[] | undefined, ok: (w: string) => boolean, expected: string, hint: string): string[] =>
    list(v).filter((w, i) => {
      if (ok(w) && !CONTROL.test(w)) return true;
      p.add(Array.isArray(v) ? at(key, i) : at(key), `expected ${expected}, got ${describeValue(w)}`, hint);
      return false;
    });
  const one = (key: keyof RawService, v: string | undefined, ok: (w: string) => boolean, expected: string, hint: string): string | undefined =>
    v === undefined ? undefined : words(key, v, ok, expected, hint)[0];
  const size = (key: Array<string | number>, v: string | number | undefined) => (v === undefined ? undefined : parseBytes(v, p, at(...key)));

  const pull = raw.pull_policy === undefined ? 'missing' : PULL[raw.pull_policy];
  if (raw.pull_policy !== undefined && pull === undefined) {
    const why = raw.pull_policy === 'build' ? 'fleetkit does not build images' : /^(daily|weekly|every_)/.test(raw.pull_policy) ? 'timed pulls need a record of the last pull, which no host keeps' : `unknown pull policy ${describeValue(raw.pull_policy)}`;
    p.add(at('pull_policy'), `pull_policy: ${why}`, 'write always, missing or never');
  }
  const network = networkMode(raw, p, at('network_mode'));
  const limits = raw.deploy?.resources?.limits;
  const reservations = raw.deploy?.resources?.reservations;
  const both = <T>(a: T | undefined, aKey: string, b: T | undefined, bPath: Array<string | number>): T | undefined => {
    if (a !== undefined && b !== undefined && String(a) !== String(b)) p.add(at(...bPath), `${aKey}: ${a} and ${bPath.join('.')}: ${b} disagree`, 'keep one of the two');
    return a ?? b;
  };
  const cpus = both(raw.cpus === undefined ? undefined : String(raw.cpus), 'cpus', limits?.cpus === undefined ? undefined : String(limits.cpus), ['deploy', 'resources', 'limits', 'cpus']);
  if (cpus !== undefined && !(/^\d+(\.\d+)?$/.test(cpus) && Number(cpus) > 0)) p.add(limits?.cpus !== undefined && raw.cpus === undefined ? at('deploy', 'resources', 'limits', 'cpus') : at('cpus'), `expected a number of CPUs above 0, got ${describeValue(cpus)}`, 'write e.g. cpus: 0.5');
  const memory = both(size(['mem_limit'], raw.mem_limit), 'mem_limit', size(['deploy', 'resources', 'limits', 'memory'], limits?.memory), ['deploy', 'resources', 'limits', 'memory']);
  const memoryReservation = both(size(['mem_reservation'], raw.mem_reservation), 'mem_reservation', size(['deploy', 'resources', 'reservations', 'memory'], reservations?.memory), ['deploy', 'resources', 'reservations', 'memory']);
  const pidsLimit = both(raw.pids_limit, 'pids_limit', limits?.pids, ['deploy', 'resources', 'limits', 'pids']);
  const memorySwap = raw.memswap_limit === -1 || raw.memswap_limit === '-1' ? -1 : size(['memswap_limit'], raw.memswap_limit);
  if (raw.mem_swappiness !== undefined && !(raw.mem_swappiness >= 0 && raw.mem_swappiness <= 100)) p.add(at('mem_swappiness'), `expected 0 to 100, got ${raw.mem_swappiness}`, 'write e.g. mem_swappiness: 0');
  if (raw.oom_score_adj !== undefined && !(raw.oom_score_adj >= -1000 && raw.oom_score_adj <= 1000)) p.add(at('oom_score_adj'), `expected -1000 to 1000, got ${raw.oom_score_adj}`, 'write e.g. oom_score_adj: -500');
  if (raw.stdin_open) p.warn(at('stdin_open'), 'there is no stdin under systemd: the container runs without -i', 'remove it');
  if (raw.tty) p.warn(at('tty'), 'there is no terminal under systemd (docker run -t would fail there): the container runs without -t', 'remove it');
  const namespace = (key: 'pid' | 'ipc' | 'uts' | 'userns_mode' | 'cgroup', allowed: readonly string[]) => {
    const v = raw[key] ?? undefined;
    if (v === undefined || allowed.includes(v)) return v;
    const shared = /^(service|container):/.test(v);
    p.add(at(key), shared ? `${key}: ${v} shares a namespace with another container, which may run on another machine` : `expected ${allowed.join(' or ')}, got ${describeValue(v)}`, shared ? 'remove it, or run both processes in one service' : `write ${key}: ${allowed[0]}`);
    return undefined;
  };
  return {
    init: raw.init ?? false,
    pull: pull ?? 'missing',
    platform: one('platform', raw.platform, (w) => /^[a-z0-9_-]+(\/[a-z0-9_.-]+){0,2}$/.test(w), 'an OS/ARCH[/VARIANT] platform', 'write e.g. platform: linux/amd64'),
    network,
    domainname: one('domainname', raw.domainname, (w) => w.split('.').every(isLabel), 'a domain name', 'write e.g. domainname: example.com'),
    expose: (raw.expose ?? []).flatMap((v, i) => (/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/.test(String(v)) ? [String(v)] : (p.add(at('expose', i), `expected PORT[-PORT][/PROTOCOL], got ${describeValue(v)}`, 'write e.g. "3306" or "53/udp"'), []))),
    stopSignal: raw.stop_signal === undefined ? undefined : one('stop_signal', String(raw.stop_signal), (w) => SIGNAL.test(w), 'a signal name like SIGQUIT or a number', 'write e.g. stop_signal: SIGQUIT'),
    capAdd: words('cap_add', raw.cap_add, (w) => CAPABILITY.test(w), 'a capability name', 'write e.g. NET_ADMIN or ALL'),
    capDrop: words('cap_drop', raw.cap_drop, (w) => CAPABILITY.test(w), 'a capability name', 'write e.g. NET_RAW or ALL'),
    privileged: raw.privileged ?? false,
    securityOpt: words('security_opt', raw.security_opt, (w) => /^[a-z-]+([=:].*)?$/.test(w), 'a security option', 'write e.g. no-new-privileges:true or apparmor=unconfined'),
    readOnly: raw.read_only ?? false,
    tmpfs: words('tmpfs', raw.tmpfs, (w) => /^\/[^:,\s]*(:[A-Za-z0-9=,._-]+)?$/.test(w), 'an absolute container path with optional mount options', 'write e.g. /run or /tmp:size=64m,mode=1777'),
    devices: (raw.devices ?? []).flatMap((d, i) => {
      const text = typeof d === 'string' ? d : [d.source, d.target ?? d.source, ...(d.permissions ? [d.permissions] : [])].join(':');
      if (/^\/[^:\s]*(:\/[^:\s]*)?(:[rwm]{1,3})?$/.test(text) && !CONTROL.test(text)) return [text];
      p.add(at('devices', i), `expected HOST_PATH[:CONTAINER_PATH[:rwm]], got ${describeValue(text)}`, 'write e.g. /dev/ttyUSB0:/dev/ttyUSB0 (device names need Docker 25 and are not mapped)');
      return [];
    }),
    deviceCgroupRules: words('device_cgroup_rules', raw.device_cgroup_rules, (w) => /^[abc] (\d+|\*):(\d+|\*) [rwm]{1,3}$/.test(w), 'a rule like "c 1:3 mr"', 'write e.g. "c 189:* rmw"'),
    sysctls: pairsOf(raw.sysctls, p, at('sysctls'), (k) => /^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(k), 'a sysctl name like net.core.somaxconn'),
    ulimits: Object.entries(raw.ulimits ?? {}).flatMap(([name, v]): Array<readonly [string, number, number]> => {
      const [soft, hard] = typeof v === 'number' ? [v, v] : [v.soft, v.hard];
      if (!ULIMITS.has(name)) p.add(at('ulimits', name), `unknown ulimit ${describeValue(name)}`, `use one of ${[...ULIMITS].join(', ')}`, 'key');
      else if (soft < -1 || hard < -1 || (hard !== -1 && soft > hard)) p.add(at('ulimits', name), `soft limit ${soft} must be at most the hard limit ${hard}`, 'write e.g. nofile: { soft: 20000, hard: 40000 }');
      else return [[name, soft, hard]];
      return [];
    }),
    storageOpt: pairsOf(raw.storage_opt, p, at('storage_opt'), (k) => /^[a-z.]+$/.test(k), 'a storage option like size'),
    extraHosts: extraHosts(raw.extra_hosts, p, at('extra_hosts')),
    dns: words('dns', raw.dns, (w) => isIP(w) !== 0, 'an IP address', 'write e.g. dns: [10.0.0.2, 8.8.8.8]'),
    dnsSearch: words('dns_search', raw.dns_search, (w) => w === '.' || w.split('.').every(isLabel), 'a domain name', 'write e.g. dns_search: [example.com]'),
    dnsOpt: words('dns_opt', raw.dns_opt, (w) => /^[a-z0-9-]+(:\d+)?$/.test(w), 'a resolver option', 'write e.g. dns_opt: [use-vc, "ndots:2"]'),
    groupAdd: (raw.group_add ?? []).flatMap((g, i) => (/^[A-Za-z0-9_.-]+$/.test(String(g)) ? [String(g)] : (p.add(at('group_add', i), `expected a group name or id, got ${describeValue(g)}`, 'write e.g. group_add: [mail, "1000"]'), []))),
    pid: namespace('pid', ['host']),
    ipc: namespace('ipc', ['private', 'shareable', 'host', 'none']),
    uts: namespace('uts', ['host']),
    userns: namespace('userns_mode', ['host']),
    cgroup: namespace('cgroup', ['host', 'private']),
    cgroupParent: one('cgroup_parent', raw.cgroup_parent, (w) => /^[A-Za-z0-9_.\/:-]+$/.test(w), 'a cgroup path', 'write e.g. cgroup_parent: /fleetkit'),
    runtime: one('runtime', raw.runtime, (w) => /^[A-Za-z0-9_.-]+$/.test(w), 'a runtime name', 'write e.g. runtime: runc'),
    logDriver: one('logging', raw.logging?.driver, (w) => /^[A-Za-z0-9_.\/:-]+$/.test(w), 'a log driver name', 'write e.g. driver: json-file'),
    logOpts: pairsOf(raw.logging?.options ?? undefined, p, at('logging', 'options'), (k) => NAME_VALUE.test(k), 'an option name like max-size'),
    shmSize: size(['shm_size'], raw.shm_size),
    memory,
    memoryReservation,
    memorySwap,
    memorySwappiness: raw.mem_swappiness,
    oomKillDisable: raw.oom_kill_disable ?? false,
    oomScoreAdj: raw.oom_score_adj,
    pidsLimit,
    cpus,
    cpuShares: raw.cpu_shares,
    cpuPeriod: raw.cpu_period,
    cpuQuota: raw.cpu_quota,
    cpuset: one('cpuset', raw.cpuset, (w) => /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(w), 'CPUs like 0-3 or 0,2', 'write e.g. cpuset: "0,1"'),
    extraArgs: (raw['x-docker']?.args ?? []).filter((w, i) => !w.includes('\0') || (p.add(at('x-docker', 'args', i), 'an argument cannot contain a NUL character', 'remove it'), false)),
    keepsDockerHosts: dockerArgsHosts(raw['x-docker']?.args ?? [], p, at('x-docker', 'args'), hostsMounted),
  };
}

/**
 * `x-docker.args` flags that fight the cluster's containers' hosts file, read as their Compose twins are:
 * `--add-host`, `-h/--hostname`, `--network host|none` and a `-v`/`--mount` at /etc/hosts keep docker's own
 * /etc/hosts (the file is not mounted: src/render/hosts-mount.ts), each with a located warning, since a raw
 * flag does not say so itself; `--network container:X` is refused as `network_mode: container:X` is. Returns
 * why the container keeps docker's /etc/hosts, or undefined.
 */
function dockerArgsHosts(args: readonly string[], p: Problems, path: SpecPath, hostsMounted: boolean): string | undefined {
  let keeps: string | undefined;
  for (const e of hostsEffects(args)) {
    if (e.kind === 'refused') p.add([...path, e.flag.index], e.why, e.hint);
    else {
      keeps ??= `x-docker.args ${e.why}`;
      if (hostsMounted) p.warn([...path, e.flag.index], `${e.why}, so the cluster's containers' hosts file is not mounted: bare service names and aliases do not resolve in this container`, 'use the Compose key where there is one (extra_hosts, hostname, network_mode, volumes) to say it openly, or drop the flag', 'value');
    }
  }
  return keeps;
}

function networkMode(raw: RawService, p: Problems, path: SpecPath): RunOptions['network'] {
  const v = raw.network_mode;
  if (v === undefined) return undefined;
  if (v === 'host' || v === 'none' || v === 'bridge') {
    if (raw.networks !== undefined) p.add(path, `network_mode: ${v} and networks: exclude each other`, 'keep one of the two', 'key');
    if (v !== 'bridge' && (raw.ports?.length ?? 0) > 0) p.add([...path.slice(0, -1), 'ports'], `with network_mode: ${v} no port is published (docker discards them)`, v === 'host' ? 'remove ports: the container listens on the host\'s own ports' : 'remove ports:', 'key');
    return v;
  }
  if (/^(service|container):/.test(v)) p.add(path, `network_mode: ${v} joins another container's network namespace, which may run on another machine`, 'remove it, or run both processes in one service');
  else p.add(path, `network_mode: ${describeValue(v)}: every container is on the cluster's one network (flannel, or the Docker bridge)`, 'write host, none or bridge, or remove it');
  return undefined;
}

/** A map or `KEY=VALUE` list → pairs whose key passes `ok`; values are strings without control characters. */
function pairsOf(raw: Record<string, string | number | boolean | null> | string[] | undefined, p: Problems, path: SpecPath, ok: (k: string) => boolean, expected: string): Array<readonly [string, string]> {
  const entries: Array<[string, string, SpecPath]> = Array.isArray(raw)
    ? raw.map((s, i) => [s.split('=')[0] ?? '', s.includes('=') ? s.slice(s.indexOf('=') + 1) : '', [...path, i]])
    : Object.entries(raw ?? {}).map(([k, v]) => [k, v === null ? '' : String(v), [...path, k]]);
  return entries.flatMap(([k, v, at]): Array<readonly [string, string]> => {
    if (!ok(k)) p.add(at, `expected ${expected}, got ${describeValue(k)}`, 'check the name');
    else if (CONTROL.test(v)) p.add(at, `the value of ${k} contains a control character`, 'remove it');
    else return [[k, v]];
    return [];
  });
}

function extraHosts(raw: RawService['extra_hosts'], p: Problems, path: SpecPath): string[] {
  const entries: Array<[string, string, SpecPath]> = Array.isArray(raw)
    ? raw.map((s, i) => {
        // HOST=IP (Compose 2.24+) or HOST:IP; an IPv6 address may follow the first ":" or come in brackets.
        const sep = s.includes('=') ? s.indexOf('=') : s.indexOf(':');
        return [s.slice(0, sep < 0 ? s.length : sep), sep < 0 ? '' : s.slice(sep + 1).replace(/^\[(.*)\]$/, '$1'), [...path, i]];
      })
    : Object.entries(raw ?? {}).flatMap(([h, ips]) => [ips].flat().map((ip): [string, string, SpecPath] => [h, ip, [...path, h]]));
  return entries.flatMap(([host, ip, at]) => {
    if (!host.split('.').every(isLabel)) p.add(at, `expected a host name, got ${describeValue(host)}`, 'write e.g. "db.internal:10.0.0.5"');
    else if (isIP(ip) === 0 && ip !== 'host-gateway') p.add(at, `expected an IP address (or host-gateway) for ${host}, got ${describeValue(ip)}`, 'write e.g. "db.internal:10.0.0.5"');
    else return [`${host}:${ip}`];
    return [];
  });
}
