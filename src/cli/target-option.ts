/**
 * `--target NAME`, shared by the commands that render units: it overrides the spec's `x-fleetkit.target`.
 */
import type { ClusterSpec } from '../cluster/types.js';
import { UsageError } from '../errors.js';
import { TARGET_NAMES, TARGETS, describeTarget, isTargetName, type TargetName } from '../target/targets.js';

/** The value of `--target` for `command`, checked; undefined when not given. */
export function targetOption(option: string | undefined, command: string): TargetName | undefined {
  if (option === undefined) return undefined;
  if (!isTargetName(option)) throw new UsageError(`${command}: unknown --target "${option}"`, `use one of ${TARGET_NAMES.join(', ')}`);
  return option;
}

/** `spec` rendered for `target` when given. */
export function withTarget(spec: ClusterSpec, target: TargetName | undefined): ClusterSpec {
  return target === undefined ? spec : { ...spec, target };
}

/** The targets, one indented line each, for help texts. */
export function targetHelp(): string {
  return TARGET_NAMES.map((n) => `                   ${describeTarget(TARGETS[n])}`).join('\n');
}
