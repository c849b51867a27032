/**
 * A container older than its unit: the host holds the unit's current definition, yet the container its agent
 * reports running carries another config hash (the `fleetkit.config-hash` label, `render/config-hash.ts`).
 * fleet's agent keeps the old process when a running unit's definition is only swapped; an interrupted load, a
 * unit file rewritten without a restart, or a container run by hand leave the same. Calling such a unit
 * unchanged would say it runs what it was given. Judged only from what an agent reported: no report, or a
 * container without the label, is no evidence, and nothing is said. Pure.
 */
import { shortConfigHash } from '../render/config-hash.js';

/** The config hashes a unit's running containers carry (one per machine), and the one its unit gives. */
export interface OutdatedContainer {
  readonly running: readonly string[];
  readonly want: string;
}

/**
 * The containers of a unit whose config is not `want`, or undefined when every reported one runs it (or
 * nothing can be judged: the unit runs no container, or no agent reported a labelled running container).
 */
export function outdatedContainer(want: string | undefined, running: readonly string[] | undefined): OutdatedContainer | undefined {
  if (want === undefined || !running?.length) return undefined;
  const other = [...new Set(running.filter((h) => h !== want))].sort();
  return other.length ? { running: other, want } : undefined;
}

/** The sentence load and status say of it, both hashes shortened. */
export function outdatedMessage(o: OutdatedContainer): string {
  return `its container runs config ${o.running.map(shortConfigHash).join(', ')}, not its unit's ${shortConfigHash(o.want)}`;
}
