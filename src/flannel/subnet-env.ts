/**
 * flannel's `/run/flannel/subnet.env` (FLANNEL_NETWORK, FLANNEL_SUBNET, …). Addresses are parsed by the one
 * home for IP text, `src/net/ip-address.ts`.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { parseSubnet } from '../net/ip-address.js';

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
    if (typeof v !== 'string' || parseSubnet(v)?.family !== 4) {
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
