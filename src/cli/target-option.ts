/**
 * `--target NAME`, shared by the commands that render units: it overrides the spec's `x-fleetkit.target`.
 */
import type { ClusterSpec } from '../cluster/types.js';
import { UsageError } from '../errors.js';
import { TARGET_NAMES, TARGETS, describeTarget, isTargetName } from '../target/targets.js';

/** `spec` rendered for `--target` when given. */
export function withTarget(spec: ClusterSpec, option: string | undefined, command: string): ClusterSpec {
  if (option === undefined) return spec;
  if (!isTargetName(option)) throw new UsageError(`${command}: unknown --target "${option}"`, `use one of ${TARGET_NAMES.join(', ')}`);
  return { ...spec, target: option };
}

/** The targets, one indented line each, for help texts. */
export function targetHelp(): string {
  return TARGET_NAMES.map((n) => `                   ${describeTarget(TARGETS[n])}`).join('\n');
}
