/**
 * fleetkit's layout of etcd keys, the one place they are joined and taken apart. Pure: no etcd client here.
 *
 *   <prefix>/<cluster>/<service>/<instance>     an announcement (the default; x-announce.key may choose another)
 *   <prefix>/_facts/<machine-id>/<unit>         what a host's agent saw of a unit's container (container facts)
 *
 * `_facts` cannot be a cluster name (cluster names are DNS labels, which have no `_`), so the facts never
 * mix with a cluster's announcements, and a hosts watcher reading `<prefix>/<cluster>/` never sees them.
 */

/** The segment under the prefix that holds container facts. */
export const FACTS_SEGMENT = '_facts';

/** A prefix as a directory to read or watch: `/services` → `/services/`; the root `/` stays `/`. */
export function prefixDir(prefix: string): string {
  return prefix === '/' || prefix === '' ? '/' : `${prefix.replace(/\/+$/, '')}/`;
}

/** Where one cluster's announcements live under the default layout: `/services/web/`. */
export function clusterDir(prefix: string, cluster: string): string {
  return `${prefixDir(prefix)}${cluster}/`;
}

/** The default announcement key: `/services/web/apache/2` (instance may be a specifier such as `%i`). */
export function announcementKey(prefix: string, cluster: string, service: string, instance: string): string {
  return `${clusterDir(prefix, cluster)}${service}/${instance}`;
}

/** A default-layout key taken apart. */
export interface AnnouncementKeyParts {
  readonly cluster: string;
  readonly service: string;
  readonly instance: string;
}

/** `/services/web/apache/2` → `{cluster: 'web', service: 'apache', instance: '2'}`; undefined for any other shape (and for facts keys). */
export function parseAnnouncementKey(prefix: string, key: string): AnnouncementKeyParts | undefined {
  const base = prefixDir(prefix);
  if (!key.startsWith(base)) return undefined;
  const segs = key.slice(base.length).split('/');
  if (segs.length !== 3 || segs.some((s) => s === '')) return undefined;
  const [cluster, service, instance] = segs as [string, string, string];
  if (cluster === FACTS_SEGMENT) return undefined;
  return { cluster, service, instance };
}

/** Where every host's container facts live: `/services/_facts/`. */
export function factsDir(prefix: string): string {
  return `${prefixDir(prefix)}${FACTS_SEGMENT}/`;
}

/** The facts of one unit's container as seen by one machine: `/services/_facts/<machine-id>/web@2.service`. */
export function factsKey(prefix: string, machineId: string, unit: string): string {
  return `${factsDir(prefix)}${machineId}/${unit}`;
}

/** `/services/_facts/<machine>/<unit>` → its machine and unit; undefined for any other key. */
export function parseFactsKey(prefix: string, key: string): { readonly machine: string; readonly unit: string } | undefined {
  const base = factsDir(prefix);
  if (!key.startsWith(base)) return undefined;
  const segs = key.slice(base.length).split('/');
  if (segs.length !== 2 || segs.some((s) => s === '')) return undefined;
  return { machine: segs[0]!, unit: segs[1]! };
}

/** True for keys under the prefix that are fleetkit's bookkeeping, not announcements (status must not call them extra). */
export function isFactsKey(prefix: string, key: string): boolean {
  return key.startsWith(factsDir(prefix));
}
