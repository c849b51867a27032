/**
 * flannel's `/run/flannel/subnet.env` (FLANNEL_NETWORK, FLANNEL_SUBNET, …) and the IPv4 arithmetic the agent
 * needs to check that a container's address lies on this host's flannel subnet.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** The parts of subnet.env the agent uses. */
export interface FlannelEnv {
  /** The whole overlay, e.g. `10.1.0.0/16`. */
  readonly network: string;
  /** This host's subnet as flannel writes it (first address + length), e.g. `10.1.42.1/24`. */
  readonly subnet: string;
}

/** Parses subnet.env text (KEY=VALUE lines) with `ini`. `source` names the file in errors. */
export async function parseFlannelEnv(text: string, source: string): Promise<FlannelEnv> {
  const { parse } = await import('ini');
  const values = parse(text) as Record<string, unknown>;
  const get = (k: string): string => {
    const v = values[k];
    if (typeof v !== 'string' || parseCidr(v) === undefined) {
      throw new UsageError(`${source}: ${k} is ${v === undefined ? 'missing' : `not an IPv4 CIDR ("${String(v)}")`}`,
        'is flanneld running on this host? it writes this file once it has a subnet lease');
    }
    return v;
  };
  return { network: get('FLANNEL_NETWORK'), subnet: get('FLANNEL_SUBNET') };
}

/** Reads and parses subnet.env; undefined when the file does not exist (flannel not in use). */
export async function loadFlannelEnv(path: string): Promise<FlannelEnv | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`, 'check --flannel-env');
  }
  return parseFlannelEnv(text, path);
}

/** IPv4 dotted quad → 32-bit unsigned number; undefined when not an IPv4 address. */
export function parseIPv4(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** `a.b.c.d/len` → base (masked) and mask; undefined when malformed. */
export function parseCidr(cidr: string): { readonly base: number; readonly mask: number } | undefined {
  const [ip, len, ...rest] = cidr.split('/');
  const addr = ip === undefined ? undefined : parseIPv4(ip);
  if (addr === undefined || len === undefined || rest.length || !/^\d{1,2}$/.test(len) || Number(len) > 32) return undefined;
  const mask = Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0;
  return { base: (addr & mask) >>> 0, mask };
}

/** True when `ip` lies inside `cidr`. */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseIPv4(ip);
  return c !== undefined && a !== undefined && ((a & c.mask) >>> 0) === c.base;
}
