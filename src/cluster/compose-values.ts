/**
 * Parsers for the string forms Compose allows (durations, shell-like command strings, port and volume short
 * syntax, image references). Each reports into `Problems` at the value's path and returns undefined when the
 * value cannot be used, so one bad value never hides the others.
 */
import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { PortSpec, Seconds, VolumeSpec } from './types.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';

/** Control characters (C0, DEL, C1): they can end a unit line or smuggle a directive in. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * A Go/Compose duration (`1m30s`, `500ms`, `1.5h`) or a number of seconds → whole seconds, rounded up so
 * that `500ms` never becomes 0 (a zero timeout means "none" to systemd and docker).
 */
export function parseDuration(v: string | number, p: Problems, path: SpecPath, min = 0): Seconds | undefined {
  let secs: number | undefined;
  if (typeof v === 'number') secs = v >= 0 && Number.isFinite(v) ? v : undefined;
  else if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
    secs = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) secs += Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1);
  }
  if (secs === undefined) {
    p.add(path, `expected a duration like "10s" or "1m30s", got ${describeValue(v)}`, 'write a number with a unit (ms, s, m, h), e.g. 90s or 1m30s');
    return undefined;
  }
  const whole = Math.ceil(secs - 1e-9);
  if (whole < min) {
    p.add(path, `must be at least ${min}s, got ${describeValue(v)}`, `write ${min}s or more`);
    return undefined;
  }
  return whole;
}

/** Splits a command string the way Compose does (POSIX shell words: quotes and backslashes, no expansion). */
export function splitShellWords(s: string, p: Problems, path: SpecPath): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "'" || c === '"') {
      const end = c === "'" ? s.indexOf("'", i + 1) : closingDoubleQuote(s, i + 1);
      if (end < 0) {
        p.add(path, `unterminated ${c === "'" ? 'single' : 'double'} quote in command string`, 'close the quote, or write the command as a list: ["sh", "-c", "..."]');
        return undefined;
      }
      const body = s.slice(i + 1, end);
      cur += c === "'" ? body : body.replace(/\\(["\\$`\n])/g, '$1');
      inWord = true;
      i = end;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

function closingDoubleQuote(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

const PORT_HINT = 'write a port from 1 to 65535, e.g. "8080:80", "127.0.0.1:8080:80/udp" or "9000-9002:9000-9002"';

/** A whole port number 1–65535 written as digits. */
function portNumber(text: string, p: Problems, path: SpecPath): number | undefined {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) {
    p.add(path, `expected a whole number from 1 to 65535, got ${describeValue(text)}`, PORT_HINT);
    return undefined;
  }
  return n;
}

/** `80` or `9000-9002` → first port and count. */
function portRange(text: string, p: Problems, path: SpecPath): { first: number; count: number } | undefined {
  const [a, b, ...rest] = text.split('-');
  if (rest.length > 0 || a === undefined) return void p.add(path, `expected a port or a range like 9000-9002, got ${describeValue(text)}`, PORT_HINT);
  const first = portNumber(a, p, path);
  if (first === undefined) return undefined;
  if (b === undefined) return { first, count: 1 };
  const last = portNumber(b, p, path);
  if (last === undefined) return undefined;
  if (last < first) return void p.add(path, `port range ${text} ends before it starts`, 'write the lower port first, e.g. 9000-9002');
  return { first, count: last - first + 1 };
}

function protocolOf(text: string, p: Problems, path: SpecPath): PortSpec['protocol'] | undefined {
  if (text === 'tcp' || text === 'udp' || text === 'sctp') return text;
  return void p.add(path, `expected protocol tcp, udp or sctp, got ${describeValue(text)}`, 'write e.g. "53:53/udp"');
}

/** Builds a PortSpec from parts and checks that a published range matches the container range. */
function makePort(hostIp: string | undefined, host: string | undefined, container: string, proto: string, p: Problems, path: SpecPath): PortSpec | undefined {
  if (hostIp !== undefined && isIP(hostIp) === 0) return void p.add(path, `expected an IP address to publish on, got ${describeValue(hostIp)}`, 'write e.g. "127.0.0.1:8080:80", or leave the address out');
  const c = portRange(container, p, path);
  const h = host === undefined || host === '' ? undefined : portRange(host, p, path);
  const protocol = protocolOf(proto, p, path);
  if (!c || (host && !h) || !protocol) return undefined;
  // One container port may take any free port of a published range (docker's and Compose's `8000-8010:80`).
  if (h && h.count > 1 && c.count === 1) return { hostIp, host: h.first, container: c.first, count: 1, hostCount: h.count, protocol };
  if (h && h.count !== c.count) return void p.add(path, `published range has ${h.count} ports but the container range has ${c.count}`, 'publish as many ports as the container exposes, e.g. "9000-9002:9000-9002", or one container port on a range, e.g. "8000-8010:80"');
  return { hostIp, host: h?.first, container: c.first, count: c.count, protocol };
}

/** Compose's short port syntax: `[[IP:]HOST:]CONTAINER[/PROTO]`, ranges allowed, IPv6 in brackets. */
export function parsePortShort(v: string | number, p: Problems, path: SpecPath): PortSpec | undefined {
  if (typeof v === 'number' && !(v >= 1 && v <= 65535)) return void p.add(path, `expected a whole number from 1 to 65535, got ${v}`, PORT_HINT);
  const text = String(v);
  if (CONTROL.test(text) || /\s/.test(text)) return void p.add(path, `expected a port mapping, got ${describeValue(text)}`, PORT_HINT);
  const [spec = '', proto = 'tcp', ...more] = text.split('/');
  if (more.length > 0) return void p.add(path, `expected one protocol after "/", got ${describeValue(text)}`, PORT_HINT);
  let hostIp: string | undefined;
  let rest = spec;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(spec);
  if (v6) [hostIp, rest] = [v6[1], v6[2] ?? ''];
  const parts = rest.split(':');
  if (v6 && parts.length !== 2) return void p.add(path, `expected "[IP]:HOST:CONTAINER", got ${describeValue(text)}`, PORT_HINT);
  if (parts.length === 1) return makePort(hostIp, undefined, parts[0] ?? '', proto, p, path);
  if (parts.length === 2) return makePort(hostIp, parts[0], parts[1] ?? '', proto, p, path);
  if (parts.length === 3) return makePort(parts[0], parts[1], parts[2] ?? '', proto, p, path);
  return void p.add(path, `expected at most IP:HOST:CONTAINER, got ${describeValue(text)}`, PORT_HINT);
}

/** Compose's long port syntax. */
export function parsePortLong(v: { target: number; published?: string | number | undefined; host_ip?: string | undefined; protocol?: string | undefined }, p: Problems, path: SpecPath): PortSpec | undefined {
  const published = v.published === undefined ? undefined : String(v.published);
  return makePort(v.host_ip, published, String(v.target), v.protocol ?? 'tcp', p, path);
}

const VOLUME_OPTIONS = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'consistent', 'cached', 'delegated']);
const VOLUME_HINT = 'write "/host/path:/container/path[:ro]" or "volume-name:/container/path"';

/**
 * A volume source as Compose reads it: a path when it starts with "/", "." or "~" (relative paths resolve
 * against the cluster file's directory `dir`, `~` is refused: no home directory of the renderer exists on
 * the hosts), otherwise a volume name. Returns the source to use, or undefined after a problem.
 */
function volumeSource(src: string, dir: string, p: Problems, path: SpecPath): string | undefined {
  if (src.startsWith('/')) return src;
  if (src.startsWith('~')) return void p.add(path, `${describeValue(src)}: the home directory of the user who renders is not a path on the hosts`, 'write an absolute path on the hosts, e.g. /srv/app/data');
  if (src.startsWith('.')) return resolvePath(dir, src);
  if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(src)) return src;
  return void p.add(path, `expected a host path or a volume name, got ${describeValue(src)}`, VOLUME_HINT);
}

function volumeTarget(dst: string, p: Problems, path: SpecPath): boolean {
  if (dst.startsWith('/') && !CONTROL.test(dst) && !/[:,]/.test(dst)) return true;
  p.add(path, `expected an absolute container path, got ${describeValue(dst)}`, VOLUME_HINT);
  return false;
}

/** Compose's short volume syntax: `[SRC:]DST[:OPTS]`; `dir` is the cluster file's directory. */
export function parseVolumeShort(text: string, dir: string, p: Problems, path: SpecPath): VolumeSpec | undefined {
  if (CONTROL.test(text)) return void p.add(path, `volume ${describeValue(text)} contains a control character`, VOLUME_HINT);
  const parts = text.split(':');
  if (parts.length > 3) return void p.add(path, `expected SRC:DST[:OPTIONS], got ${describeValue(text)}`, VOLUME_HINT);
  const [a = '', b, c] = parts;
  const target = b === undefined ? a : b;
  const options = c === undefined ? [] : c.split(',');
  const bad = options.find((o) => !VOLUME_OPTIONS.has(o));
  if (bad !== undefined) return void p.add(path, `unknown volume option ${describeValue(bad)}`, `use ${[...VOLUME_OPTIONS].join(', ')}`);
  const source = b === undefined ? undefined : volumeSource(a, dir, p, path);
  if (b !== undefined && source === undefined) return undefined;
  return volumeTarget(target, p, path) ? { source, target, options } : undefined;
}

/** The long volume syntax's bind and volume options. */
export interface VolumeLong {
  type: string;
  source?: string | undefined;
  target: string;
  read_only?: boolean | undefined;
  bind?: { propagation?: string | undefined; create_host_path?: boolean | undefined; selinux?: string | undefined } | undefined;
  volume?: { nocopy?: boolean | undefined } | undefined;
}

const PROPAGATION = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];

/** Compose's long volume syntax (bind and volume types; tmpfs is a `--tmpfs` flag, see normalize-service). */
export function parseVolumeLong(v: VolumeLong, dir: string, p: Problems, path: SpecPath): VolumeSpec | undefined {
  if (v.type !== 'bind' && v.type !== 'volume') return void p.add([...path, 'type'], `unsupported volume type ${describeValue(v.type)}`, 'use type: bind, volume or tmpfs');
  if (v.type === 'bind' && v.source === undefined) return void p.add(path, 'a bind mount needs a source', 'add source: /host/path');
  if (v.type === 'volume' && v.source !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v.source)) return void p.add([...path, 'source'], `expected a volume name, got ${describeValue(v.source)}`, 'use type: bind for a host path');
  if (v.type !== 'bind' && v.bind) return void p.add([...path, 'bind'], 'bind options need type: bind', 'remove them', 'key');
  if (v.type !== 'volume' && v.volume) return void p.add([...path, 'volume'], 'volume options need type: volume', 'remove them', 'key');
  const options = v.read_only ? ['ro'] : [];
  const b = v.bind;
  if (b?.propagation !== undefined) {
    if (!PROPAGATION.includes(b.propagation)) return void p.add([...path, 'bind', 'propagation'], `expected one of ${PROPAGATION.join(', ')}, got ${describeValue(b.propagation)}`, 'write e.g. propagation: rslave');
    options.push(b.propagation);
  }
  if (b?.selinux !== undefined) {
    if (b.selinux !== 'z' && b.selinux !== 'Z') return void p.add([...path, 'bind', 'selinux'], `expected z or Z, got ${describeValue(b.selinux)}`, 'write selinux: z (shared) or Z (private)');
    options.push(b.selinux);
  }
  // create_host_path: false means a missing source is an error, not an empty directory made in its place.
  // docker run -v always makes it; --mount refuses it, as Compose's own mounts do. --mount has no SELinux
  // relabelling.
  const mustExist = v.type === 'bind' && b?.create_host_path === false;
  if (mustExist && b?.selinux !== undefined) return void p.add([...path, 'bind', 'selinux'], 'create_host_path: false is rendered as docker run --mount, which cannot relabel for SELinux', 'relabel the path on the hosts (chcon) and remove selinux:, or remove create_host_path: false', 'key');
  if (v.volume?.nocopy) options.push('nocopy');
  const source = v.source === undefined ? undefined : v.type === 'bind' && !v.source.startsWith('/') && !v.source.startsWith('~') ? resolvePath(dir, v.source) : volumeSource(v.source, dir, p, [...path, 'source']);
  if (v.source !== undefined && source === undefined) return undefined;
  if (!volumeTarget(v.target, p, [...path, 'target'])) return undefined;
  return { source, target: v.target, options, ...(mustExist ? { mustExist: true as const } : {}) };
}

// Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?';
const IMAGE = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`);

/** True when `s` is a docker image reference (`nginx`, `quay.io/org/app:1.2`, `app@sha256:…`). */
export function isImageReference(s: string): boolean {
  return s.length <= 255 && IMAGE.test(s);
}

/** An RFC 1123 label: letters, digits and inner hyphens, at most 63 characters. */
export function isLabel(s: string): boolean {
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(s);
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * A size as Compose reads it (docker's RAMInBytes: binary units, `512m`, `1.5g`, `2gb`, `64MiB`, or a number
 * of bytes) → whole bytes.
 */
export function parseBytes(v: string | number, p: Problems, path: SpecPath): number | undefined {
  const m = typeof v === 'number' ? undefined : /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(v);
  const n = typeof v === 'number' ? v : m ? Number(m[1]) * (BYTE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1) : NaN;
  if (Number.isFinite(n) && n > 0 && Number.isSafeInteger(Math.floor(n))) return Math.floor(n);
  p.add(path, `expected a size like 512m or 2g, got ${describeValue(v)}`, 'write a number with b, k, m or g (binary units), e.g. 256m');
  return undefined;
}
