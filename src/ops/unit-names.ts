/**
 * Splitting unit names into service and instance for the operations views (`web@2.service` → `web`, `2`).
 * Pure.
 */

/** The service a unit belongs to, its instance (empty for a plain unit), and whether it is a template. */
export interface UnitParts {
  readonly service: string;
  readonly instance: string;
  readonly template: boolean;
  /** The unit suffix without the dot: `service`, `timer`… */
  readonly type: string;
}

/** Splits a unit name. `web@2.service` → `{service: 'web', instance: '2'}`; `mon.service` → `{service: 'mon', instance: ''}`. */
export function unitParts(name: string): UnitParts {
  const dot = name.lastIndexOf('.');
  const stem = dot < 0 ? name : name.slice(0, dot);
  const type = dot < 0 ? '' : name.slice(dot + 1);
  const at = stem.indexOf('@');
  if (at < 0) return { service: stem, instance: '', template: false, type };
  const instance = stem.slice(at + 1);
  return { service: stem.slice(0, at), instance, template: instance === '', type };
}

/** True for a discovery sidekick (`web-discovery@2.service`), which status shows with its service. */
export function sidekickOf(name: string): string | undefined {
  const m = /^(.+)-discovery$/.exec(unitParts(name).service);
  return m ? m[1] : undefined;
}

/** Compares instances numerically when both are numbers (web@2 before web@10), else as text. */
export function compareInstances(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}
