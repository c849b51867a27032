/**
 * fleet's desired states. fleetd does not validate them: an unknown value on an existing unit returns 204 and
 * poisons the unit (it vanishes from the list and every later call on it fails with 500), and on a new unit
 * it returns 500. So every value is checked here, before any request is built.
 */
import { FleetkitError } from '../errors.js';

/** The three states fleet understands. */
export type DesiredState = 'inactive' | 'loaded' | 'launched';

const STATES: ReadonlySet<string> = new Set<DesiredState>(['inactive', 'loaded', 'launched']);

/** True when `s` is one of fleet's desired states. */
export function isDesiredState(s: unknown): s is DesiredState {
  return typeof s === 'string' && STATES.has(s);
}

/** Throws (before anything is sent) unless `s` is a desired state fleet understands. */
export function assertDesiredState(s: unknown, unit: string): asserts s is DesiredState {
  if (!isDesiredState(s)) {
    // A programming error on our side, never a user one: fleet would silently corrupt the unit.
    throw new FleetkitError('ERR_FLEET_DESIRED_STATE', `${unit}: refusing to send desiredState ${JSON.stringify(s)} to fleet (only inactive, loaded, launched)`);
  }
}
