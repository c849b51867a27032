/**
 * Questions the renderer asks about a target, answered from the feature table so that a version lives in
 * one place. Pure.
 */
import { VALUES } from './feature-table.js';
import type { Target } from './targets.js';

/**
 * The discovery sidekick's form on a target: `discovery` (BindsTo= its container unit, Restart=on-failure
 * while the agent is not up) needs a systemd that allows Restart= in a oneshot (244); before that,
 * `discovery-legacy` (Requires=, `announce --agent-wait`).
 */
export function discoveryForm(target: Target): 'discovery' | 'discovery-legacy' {
  const row = VALUES.find((v) => v.section === 'Service' && v.name === 'Restart' && v.with?.name === 'Type' && v.with.value === 'oneshot');
  return (row?.since ?? Infinity) <= target.systemd ? 'discovery' : 'discovery-legacy';
}
