/**
 * Questions the renderer asks about a target, answered from the feature table so that a version lives in
 * one place. Pure.
 */
import { directiveRow } from './feature-table.js';
import type { Target } from './targets.js';

/** True when the target's systemd has `Upholds=` (249). */
export function hasUpholds(target: Target): boolean {
  return (directiveRow('Unit', 'Upholds')?.since ?? Infinity) <= target.systemd;
}
