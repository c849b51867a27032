/**
 * Names an announcement may not take, because a hosts line for them would redirect something this host
 * already resolves: `localhost`, the machine's own names, and every name in the static part of the target
 * file (outside fleetkit's block) or of /etc/hosts. Whoever can write to the etcd prefix must not be able
 * to point them elsewhere (a hosts file is read top to bottom, but resolvers and tools differ on which
 * line wins, so a second line for a name is refused rather than trusted to lose). Pure.
 */
import { mergeManagedBlock } from './render-hosts.js';

/** Lower-cased name → why it is reserved (for the log line). */
export type ReservedNames = ReadonlyMap<string, string>;

export interface ReservedNamesInput {
  readonly cluster: string;
  /** The machine's own names (hostname, short name). */
  readonly machineNames: readonly string[];
  /** Static texts to take names from: [what to call it in a log line, its text]. */
  readonly files: readonly (readonly [string, string])[];
}

/** The names of a hosts text (every field after the address of each line), lower-cased; comments dropped. */
export function hostsFileNames(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    names.push(...line.split(/\s+/).slice(1).map((n) => n.toLowerCase()));
  }
  return names;
}

/**
 * The reserved names. An entry is written as `HOST HOST.CLUSTER`, so a static `db.CLUSTER` reserves
 * `db` too.
 */
export function reservedNames(input: ReservedNamesInput): ReservedNames {
  const out = new Map<string, string>();
  const add = (name: string, why: string): void => {
    const n = name.toLowerCase();
    if (n === '' || out.has(n)) return;
    out.set(n, why);
    const suffix = `.${input.cluster.toLowerCase()}`;
    if (n.endsWith(suffix) && n.length > suffix.length) add(n.slice(0, -suffix.length), why);
  };
  for (const n of ['localhost', 'localhost.localdomain']) add(n, 'it is localhost');
  for (const n of input.machineNames) add(n, "it is this machine's own name");
  for (const [what, text] of input.files) {
    // The cluster's own block is ours: only what is outside it is static.
    const outside = mergeManagedBlock(text, '', input.cluster);
    for (const n of hostsFileNames(outside)) add(n, `${what} already names it outside fleetkit's block`);
  }
  return out;
}
