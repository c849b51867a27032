/**
 * `x-fleetkit.target`: the host generation the units are rendered for (src/target/targets.ts). Default
 * `current`; `gen-units --target` overrides it.
 */
import { DEFAULT_TARGET, TARGET_NAMES, TARGETS, describeTarget, isTargetName, type TargetName } from '../target/targets.js';
import { describeValue, type Problems } from './problems.js';

/** Reads the target from the top-level `x-fleetkit` mapping (anything else there is left to its own reader). */
export function normalizeTarget(xFleetkit: unknown, p: Problems): TargetName {
  if (xFleetkit === null || typeof xFleetkit !== 'object' || Array.isArray(xFleetkit)) return DEFAULT_TARGET;
  const raw = (xFleetkit as Record<string, unknown>)['target'];
  if (raw === undefined) return DEFAULT_TARGET;
  if (isTargetName(raw)) return raw;
  p.add(['x-fleetkit', 'target'], `unknown target ${describeValue(raw)}`, `use one of ${TARGET_NAMES.map((n) => describeTarget(TARGETS[n])).join('; ')}`);
  return DEFAULT_TARGET;
}
