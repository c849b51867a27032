/**
 * fleet's unit hash: SHA1 of the unit as fleet re-serializes it (sections in first-seen order, `[Section]\n`,
 * `Name=Value\n` per option, a blank line between sections, no trailing blank line). Comments and layout of
 * the original file do not change it; option order does. `fleetctl list-unit-files` shows {@link shortHash}.
 */
import { createHash } from 'node:crypto';
import type { UnitFile } from './model.js';
import { formatOptions } from './serialize.js';

/** The 40-hex SHA1 fleet reports in `/fleet/v1/state` (`hash`). */
export function fleetHash(unit: Pick<UnitFile, 'options'>): string {
  return createHash('sha1').update(formatOptions(unit.options), 'utf8').digest('hex');
}

/** The first 7 hex digits, as `fleetctl list-unit-files` prints them. */
export function shortHash(unit: Pick<UnitFile, 'options'>): string {
  return fleetHash(unit).slice(0, 7);
}
