/**
 * Strict validation of announcement values read back from etcd. Anyone who can write under the prefix can
 * put anything there, so every field that reaches the hosts file is checked against a whitelist grammar; a
 * value that fails is rejected with a reason (the caller logs it with the key) and never rendered.
 */
import type { AnnouncementRecord } from '../announce/record.js';
import { parseIp, type IpAddress } from '../net/ip-address.js';

/**
 * Largest value accepted, in bytes. A record is ~250 bytes; 4 KiB leaves room for fields added later while a
 * 1 MB value is refused by its length alone, before any parsing.
 */
export const MAX_ANNOUNCEMENT_BYTES = 4096;

/** A record that passed validation, with its addresses parsed once. */
export interface Announcement {
  readonly key: string;
  readonly record: AnnouncementRecord;
  readonly ip: IpAddress;
  readonly hostIP: IpAddress | undefined;
  /** The host name lower-cased: names clash and sort case-insensitively (DNS does). */
  readonly nameKey: string;
  /** Its hosts line's data, made once per record so that writes can reuse what they rendered of it. */
  readonly entry: HostEntry;
}

/** One hosts line: `IP HOSTNAME HOSTNAME.CLUSTER`. */
export interface HostEntry {
  readonly ip: string;
  readonly hostname: string;
  readonly key: string;
  /** The record's further names (bare service name, Compose aliases), for the containers' file only. */
  readonly aliases?: readonly string[];
}

/** Most aliases a record may carry (the agent accepts as many: src/announce/registration.ts). */
export const MAX_RECORD_ALIASES = 32;

/** Why a value was refused (one line, safe to log). */
export interface Rejection {
  readonly reject: string;
}

/** An RFC 1123 label: letters, digits, inner hyphens, 1–63 characters. */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** True for an RFC 1123 label (what a hosts-file name part may be). */
export function isHostLabel(s: string): boolean {
  return LABEL.test(s);
}

/** True for a dotted name of RFC 1123 labels, ≤ 253 characters (cluster names and machine host names). */
export function isHostName(s: string): boolean {
  return s.length <= 253 && s.split('.').every(isHostLabel);
}

/** Shows a hostile string in a log line without letting it break the line (quotes, escapes, clipped). */
export function quoteForLog(s: string, max = 80): string {
  const q = JSON.stringify(s.length > max ? s.slice(0, max) : s);
  return s.length > max ? `${q}…(${s.length} chars)` : q;
}

function reject(reason: string): Rejection {
  return { reject: reason };
}

/**
 * Parses one announcement value. `value` may be a Buffer (as etcd returns it) or a string. Only the fields
 * the hosts file uses are required to be exact; the others must have the right type when present, so a
 * record from a newer agent (more fields) still counts.
 */
export function parseAnnouncement(key: string, value: Buffer | string): Announcement | Rejection {
  const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (size > MAX_ANNOUNCEMENT_BYTES) return reject(`value is ${size} bytes, more than ${MAX_ANNOUNCEMENT_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (e) {
    return reject(`value is not JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return reject('value is not a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o['ip'] !== 'string') return reject('"ip" is missing or not a string');
  const ip = parseIp(o['ip']);
  if (!ip) return reject(`"ip" ${quoteForLog(o['ip'])} is not an IPv4 or IPv6 address`);
  if (typeof o['hostname'] !== 'string') return reject('"hostname" is missing or not a string');
  if (!isHostLabel(o['hostname'])) {
    return reject(`"hostname" ${quoteForLog(o['hostname'])} is not a host name label (letters, digits, inner hyphens, ≤63)`);
  }
  let hostIP: IpAddress | undefined;
  if (o['hostIP'] !== undefined) {
    if (typeof o['hostIP'] !== 'string' || !(hostIP = parseIp(o['hostIP']))) return reject('"hostIP" is not an IP address');
  }
  if (o['port'] !== undefined && !(Number.isInteger(o['port']) && (o['port'] as number) >= 1 && (o['port'] as number) <= 65535)) {
    return reject('"port" is not a port number');
  }
  for (const f of ['host', 'machine', 'container', 'time'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'string') return reject(`"${f}" is not a string`);
  }
  if (o['version'] !== undefined && typeof o['version'] !== 'number') return reject('"version" is not a number');
  const aliases = o['aliases'];
  if (aliases !== undefined) {
    if (!Array.isArray(aliases) || aliases.length > MAX_RECORD_ALIASES) return reject(`"aliases" is not a list of at most ${MAX_RECORD_ALIASES} names`);
    const bad = aliases.find((a) => typeof a !== 'string' || !isHostLabel(a));
    if (bad !== undefined) return reject(`"aliases" holds ${quoteForLog(typeof bad === 'string' ? bad : JSON.stringify(bad) ?? String(bad))}, not a host name label (letters, digits, inner hyphens, ≤63)`);
  }
  const record = {
    ip: o['ip'],
    ...(o['port'] === undefined ? {} : { port: o['port'] as number }),
    hostname: o['hostname'],
    host: (o['host'] as string | undefined) ?? '',
    ...(o['hostIP'] === undefined ? {} : { hostIP: o['hostIP'] as string }),
    machine: (o['machine'] as string | undefined) ?? '',
    container: (o['container'] as string | undefined) ?? '',
    version: 1,
    time: (o['time'] as string | undefined) ?? '',
    ...(aliases === undefined ? {} : { aliases: aliases as string[] }),
  } as AnnouncementRecord;
  const entry = { ip: record.ip, hostname: record.hostname, key, aliases: (aliases as string[] | undefined) ?? [] };
  return { key, record, ip, hostIP, nameKey: record.hostname.toLowerCase(), entry };
}

/** Type guard for the rejection branch of parseAnnouncement / parseLease. */
export function isRejection(x: object): x is Rejection {
  return 'reject' in x;
}
