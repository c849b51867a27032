/**
 * Reading container facts (container-facts.ts) for a set of units, in one range read of `<prefix>/_facts/`:
 * the one reader that status, load's health wait and a rolling replace call, for fleet and systemd alike.
 * The client is the caller's (connect.ts loads etcd3 lazily); this module imports only its type.
 *
 * A record is kept only when it decodes and names the machine and unit of the key it is stored under: a value
 * copied to another key, or written by hand, is not evidence about that key's unit. Whatever is left out is
 * "no facts" for the caller, which must then say unknown, never healthy.
 */
import type { Etcd3 } from 'etcd3';
import { decodeFacts, type ContainerFactsRecord } from './container-facts.js';
import { factsDir, parseFactsKey } from './key-layout.js';

/** Options for readContainerFacts. */
export interface ReadFactsOptions {
  /** Called once per key under the facts dir whose value was left out (unreadable, or naming another key). */
  readonly onInvalid?: (key: string, reason: string) => void;
  /** Read only what this machine's agent published (`<prefix>/_facts/<machine>/`). */
  readonly machine?: string;
}

/**
 * The record stored at one facts key, or why it is left out: the one check every reader of facts keys makes
 * (this module's range read, and status's single read of the whole prefix).
 */
export function factsAtKey(prefix: string, key: string, value: string): { readonly record: ContainerFactsRecord } | { readonly invalid: string } {
  const where = parseFactsKey(prefix, key);
  if (!where) return { invalid: 'not a facts key (<prefix>/_facts/<machine>/<unit>)' };
  const record = decodeFacts(value);
  if (!record) return { invalid: 'not a well-formed container facts record' };
  if (record.unit !== where.unit || record.machine !== where.machine) return { invalid: `the record names ${record.machine}/${record.unit}, not its key` };
  return { record };
}

/**
 * The facts of `units` (full names: `web@2.service`; every unit when undefined), by unit: one record per
 * machine whose agent published one, ordered by machine id. A unit no agent reported is absent from the map.
 */
export async function readContainerFacts(
  client: Pick<Etcd3, 'getAll'>,
  prefix: string,
  units?: Iterable<string>,
  options: ReadFactsOptions = {},
): Promise<Map<string, ContainerFactsRecord[]>> {
  const wanted = units === undefined ? undefined : new Set(units);
  const dir = options.machine === undefined ? factsDir(prefix) : `${factsDir(prefix)}${options.machine}/`;
  const kv = await client.getAll().prefix(dir).strings();
  const out = new Map<string, ContainerFactsRecord[]>();
  for (const key of Object.keys(kv).sort()) {
    const where = parseFactsKey(prefix, key);
    if (wanted && where && !wanted.has(where.unit)) continue;
    const fact = factsAtKey(prefix, key, kv[key]!);
    if ('invalid' in fact) {
      options.onInvalid?.(key, fact.invalid);
      continue;
    }
    const record = fact.record;
    let list = out.get(record.unit);
    if (!list) out.set(record.unit, (list = []));
    list.push(record);
  }
  return out;
}
