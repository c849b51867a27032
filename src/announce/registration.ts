/**
 * A registration: what the sidekick asks the agent to announce. Validated by `fleetkit announce` before it
 * is sent and again by the agent (the socket is the trust boundary), so nothing malformed reaches etcd.
 */
import { UsageError } from '../errors.js';
import { prefixDir } from '../etcd/key-layout.js';

/** One announcement the agent holds. */
export interface Registration {
  /** Full etcd key, under the agent's prefix. */
  readonly key: string;
  /** Docker container name. */
  readonly container: string;
  readonly port?: number | undefined;
  /** Lease TTL, whole seconds. */
  readonly ttl: number;
  /** Name for hosts files (RFC 1123 label). */
  readonly hostname: string;
  /**
   * Further names of the container inside the cluster's containers (the bare service name, then Compose
   * `aliases`): RFC 1123 labels, shared by every instance of a service. Absent when there are none.
   */
  readonly aliases?: readonly string[] | undefined;
  /** Extra string fields added to the record. */
  readonly extra?: Readonly<Record<string, string>> | undefined;
}

/** Bounds on the TTL. The agent may lower `minTtl` for tests. */
export interface RegistrationLimits {
  /** Announcements must lie under `<prefix>/`. */
  readonly prefix: string;
  /** Default 5 s: keep-alives every TTL/3, so shorter TTLs mostly cost etcd load. */
  readonly minTtl?: number;
}

/** Longest TTL accepted: a day (flannel's own lease length). */
export const MAX_TTL = 86_400;
/** Fields of the record that `extra` may not override. */
const RESERVED = new Set(['ip', 'port', 'hostname', 'host', 'hostIP', 'machine', 'container', 'version', 'time', 'extra', 'aliases']);
/** Most aliases one registration may carry: a service name and its Compose aliases fit easily. */
export const MAX_ALIASES = 32;
/** An RFC 1123 label, as a hosts-file name part must be. */
const LABEL = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

function fail(code: string, message: string, hint: string): never {
  const e = new UsageError(message, hint);
  (e as { code: string }).code = code;
  throw e;
}

/** Checks a key: under the prefix, plain path segments, nothing a watcher or shell could misread. */
export function checkKey(key: string, prefix: string): void {
  const base = prefixDir(prefix).slice(0, -1); // '' for the root prefix
  if (!key.startsWith(`${base}/`) || key.length <= base.length + 1) {
    fail('ERR_KEY_PREFIX', `key "${key}" is outside the prefix "${prefix}"`, `use a key under ${base}/, e.g. ${base}/CLUSTER/SERVICE/1, or change --etcd-prefix`);
  }
  const segs = key.slice(base.length + 1).split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..' || !/^[A-Za-z0-9._@:=+-]+$/.test(s))) {
    fail('ERR_KEY', `key "${key}" has an empty, relative or unusual segment`, 'segments may hold letters, digits and . _ @ : = + -');
  }
}

/**
 * Validates raw input (from the CLI or the socket) into a Registration. `hostname` defaults to the container
 * name when that is a valid label.
 */
export function validateRegistration(raw: unknown, limits: RegistrationLimits): Registration {
  if (typeof raw !== 'object' || raw === null) fail('ERR_REGISTRATION', 'registration is not an object', 'send {"op":"register","registration":{…}}');
  const r = raw as Record<string, unknown>;
  if (typeof r['key'] !== 'string' || !r['key']) fail('ERR_NO_KEY', 'no key given', 'pass --key PREFIX/CLUSTER/SERVICE/INSTANCE');
  checkKey(r['key'], limits.prefix);
  const container = r['container'];
  if (typeof container !== 'string' || !container) fail('ERR_NO_CONTAINER', `no container given for key ${r['key']}`, 'pass --container NAME (the docker container to announce)');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(container)) fail('ERR_CONTAINER', `"${container}" is not a docker container name`, 'names hold letters, digits and _ . -');
  const minTtl = limits.minTtl ?? 5;
  const ttl = r['ttl'];
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < minTtl || ttl > MAX_TTL) {
    fail('ERR_TTL', `TTL ${JSON.stringify(ttl)} for key ${r['key']} must be whole seconds from ${minTtl} to ${MAX_TTL}`, 'e.g. --ttl 60s');
  }
  const port = r['port'];
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    fail('ERR_PORT', `port ${JSON.stringify(port)} for key ${r['key']} is not 1–65535`, 'pass --port with the container port');
  }
  const hostname = r['hostname'] ?? container;
  if (typeof hostname !== 'string' || !LABEL.test(hostname)) {
    fail('ERR_HOSTNAME', `hostname ${JSON.stringify(hostname)} for key ${r['key']} is not an RFC 1123 label`, 'pass --hostname like web-1 (letters, digits, inner dashes)');
  }
  const aliases = r['aliases'];
  if (aliases !== undefined) {
    if (!Array.isArray(aliases) || aliases.length > MAX_ALIASES || !aliases.every((a) => typeof a === 'string' && LABEL.test(a))) {
      fail('ERR_ALIAS', `aliases ${JSON.stringify(aliases).slice(0, 200)} for key ${r['key']} must be up to ${MAX_ALIASES} RFC 1123 labels`, 'pass --alias like db (letters, digits, inner dashes)');
    }
  }
  let extra: Record<string, string> | undefined;
  if (r['extra'] !== undefined) {
    if (typeof r['extra'] !== 'object' || r['extra'] === null) fail('ERR_EXTRA', 'extra must be an object of strings', 'pass --extra NAME=VALUE');
    extra = {};
    for (const [k, v] of Object.entries(r['extra'] as Record<string, unknown>)) {
      if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(k) || RESERVED.has(k) || typeof v !== 'string' || v.length > 1024) {
        fail('ERR_EXTRA', `extra field "${k}" for key ${r['key']} is reserved, malformed or not a string up to 1024 chars`, 'names are letters, digits, _ and -');
      }
      extra[k] = v;
    }
  }
  return { key: r['key'], container, ...(port === undefined ? {} : { port: port as number }), ttl, hostname, ...(aliases?.length ? { aliases: [...new Set(aliases as string[])] } : {}), ...(extra ? { extra } : {}) };
}
