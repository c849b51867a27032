/**
 * The cluster marker: `[X-Fleetkit] Cluster=NAME` closes every unit fleetkit renders. fleet and systemd both
 * ignore `X-` sections; fleetkit reads it to find the units of a cluster that have left the spec (reported,
 * and destroyed with `--prune`). It is part of fleet's unit hash, which is why the renderer writes it and
 * the loaders never add it: a unit started with `gen-units | xargs fleetctl start` and the same unit loaded
 * by `fleetkit load` are one and the same.
 */
import type { UnitFile } from './model.js';

/** The section of the marker. */
export const MARKER_SECTION = 'X-Fleetkit';
/** The key naming the cluster. */
export const MARKER_KEY = 'Cluster';

/** The cluster a unit belongs to (its marker), or undefined. */
export function clusterOf(unit: Pick<UnitFile, 'options'>): string | undefined {
  return unit.options.find((o) => o.section === MARKER_SECTION && o.name === MARKER_KEY)?.value;
}

/** The cluster named by a marker in unit file text, without a full parse (used to scan unit dirs quickly). */
export function clusterOfText(text: string): string | undefined {
  const at = text.indexOf(`[${MARKER_SECTION}]`);
  if (at < 0) return undefined;
  const m = new RegExp(`^${MARKER_KEY}=(.*)$`, 'm').exec(text.slice(at));
  return m?.[1]?.trim();
}
