/**
 * The configuration hash of a container unit: one value that changes exactly when what defines the running
 * container changes (image, every `docker run` word: flags, `-e` environment, mounts, command). The renderer
 * puts it on the container as the `fleetkit.config-hash` label (LABEL_CONFIG_HASH), the agent publishes the
 * label of the container it sees, and a rolling replace compares it with {@link configHashOfUnit} of the
 * desired unit to tell a container that must be replaced from one that is current. Pure.
 *
 * It is taken over the template's words with specifiers left unexpanded (`web-%i`, `%n`), so every instance of
 * a template has the same hash, and a re-render of an unchanged spec gives the same hash. fleetkit's own
 * labels (`fleetkit.*`) are left out: the hash cannot cover itself, and the unit/cluster labels differ per
 * instance or name nothing of the container's behaviour. The docker binary and the daemon it reaches
 * (`DOCKER_HOST`) are left out too: they say where the container runs, not what it is.
 */
import { createHash } from 'node:crypto';
import { LABEL_CLUSTER, LABEL_CONFIG_HASH, LABEL_UNIT } from '../etcd/container-facts.js';
import { parseExecLine } from '../unit/parse-command-line.js';
import { unwrapAwait } from '../unit/wrapped-command.js';
import { parseUnit } from '../unit/parse.js';
import { valuesOf } from '../unit/model.js';
import { specifier, type SpecifierLetter } from './exec-line.js';

/** Length of the hash in hex digits (128 bits of SHA-256: a label, not a signature). */
const HEX = 32;

const OWN_LABELS = [LABEL_UNIT, LABEL_CLUSTER, LABEL_CONFIG_HASH];
const isOwnLabel = (value: string): boolean => OWN_LABELS.some((l) => value === l || value.startsWith(`${l}=`));

/**
 * The hash of `docker run` words as the renderer builds them: `run` first, specifiers as `specifier('i')`
 * marks (the form `dockerRunArgs` returns), literal `%` as itself. Words before `run` (the docker binary) and
 * fleetkit's own `--label` pairs are ignored.
 */
export function configHashOfArgv(words: readonly string[]): string {
  const run = words.indexOf('run');
  const rest = run < 0 ? [...words] : words.slice(run);
  const kept: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if ((w === '--label' || w === '-l') && isOwnLabel(rest[i + 1] ?? '')) {
      i++;
      continue;
    }
    if ((w.startsWith('--label=') && isOwnLabel(w.slice('--label='.length))) || (w.startsWith('-l=') && isOwnLabel(w.slice(3)))) continue;
    kept.push(w);
  }
  // JSON keeps word boundaries: ["a b"] and ["a", "b"] hash differently.
  return createHash('sha256').update(JSON.stringify(kept), 'utf8').digest('hex').slice(0, HEX);
}

// Every specifier letter systemd knows (systemd.unit(5)): each is kept as a mark, never expanded, so the words
// read back from a unit are the words the renderer hashed.
const LETTERS = 'aAbBCdEfgGhHiIjJlLmMnNopPsStTuUvVwWyY'.split('');
const MARKED: Readonly<Record<string, string>> = Object.fromEntries(LETTERS.map((l) => [l, specifier(l as SpecifierLetter)]));

/** ExecStart= value → its hash (or undefined), for configHashOfExecStart. */
const hashes = new Map<string, string | undefined>();

/** The hash of an `ExecStart=` value as written in a unit (`/usr/bin/docker run … image`); undefined when systemd could not read it. */
export function configHashOfExecStart(value: string): string | undefined {
  // The instances of a template carry the same ExecStart= (specifiers unexpanded): status and load ask for
  // thousands of units, and the parse and hash are the same each time. Bounded: cleared when full.
  if (hashes.has(value)) return hashes.get(value);
  if (hashes.size >= 1024) hashes.clear();
  let hash: string | undefined;
  try {
    // A service with depends_on runs `fleetkit await … -- docker run …`: the container is what follows `--`.
    const argv = unwrapAwait(parseExecLine(value, { specifiers: MARKED }).argv);
    hash = argv[1] === 'run' ? configHashOfArgv(argv.slice(1)) : undefined;
  } catch {
    hash = undefined;
  }
  hashes.set(value, hash);
  return hash;
}


/**
 * The hash of a container unit's text (a template `web@.service` or an instance carrying its options, as fleet
 * or systemd hold it): the last `[Service] ExecStart=` that runs `docker run`. Undefined for a unit that runs
 * no container or cannot be read; a caller must then treat the container as "unknown", not as current.
 */
export function configHashOfUnit(text: string, name = 'unit.service'): string | undefined {
  let values: string[];
  try {
    values = valuesOf(parseUnit(name, text), 'Service', 'ExecStart');
  } catch {
    return undefined;
  }
  return configHashOfExecStarts(values);
}

/**
 * The hash of a unit given as its options (fleet's API and `status` hold units that way, not as text): the
 * last `[Service] ExecStart=` that runs `docker run`, as {@link configHashOfUnit}.
 */
export function configHashOfOptions(options: ReadonlyArray<{ readonly section: string; readonly name: string; readonly value: string }>): string | undefined {
  return configHashOfExecStarts(options.filter((o) => o.section === 'Service' && o.name === 'ExecStart').map((o) => o.value));
}

function configHashOfExecStarts(values: readonly string[]): string | undefined {
  for (let i = values.length - 1; i >= 0; i--) {
    const h = configHashOfExecStart(values[i]!);
    if (h !== undefined) return h;
  }
  return undefined;
}

/** A hash as messages show it: its first 12 digits, as docker shortens container ids. */
export function shortConfigHash(hash: string): string {
  return hash.slice(0, 12);
}

/** True when `value` has the shape of a hash this module makes (what a label read from docker must match). */
export function isConfigHash(value: string): boolean {
  return new RegExp(`^[0-9a-f]{${HEX}}$`).test(value);
}
