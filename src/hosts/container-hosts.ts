/**
 * The containers' hosts file of a cluster, pure: the whole file that every container of the cluster mounts
 * read-only as its /etc/hosts (`watch-hosts --containers-file`). It holds what docker's own /etc/hosts would
 * (localhost and the IPv6 names, as moby's libnetwork/etchosts writes them), then one line per live
 * announcement: `IP HOSTNAME HOSTNAME.CLUSTER` followed by the bare names that instance answers to.
 *
 * Bare names are the service name and its Compose `aliases`, carried by each record (`aliases`). They are
 * shared by every instance of a service, but a name gets one line only: glibc's gethostbyname() returns the
 * first matching line, its getaddrinfo() and musl's every matching line, reordered by RFC 6724 address
 * selection; several lines would give each client some instance, neither stable nor balanced. So a bare name
 * goes to the live instance whose key sorts first (numbers compared as numbers: `web/2` before `web/10`), the
 * lowest-numbered announced instance: stable while it lives, and it moves to the next when its announcement
 * goes (stopped, crashed or unhealthy).
 *
 * Never here: bare names in the host's file. A host resolves `db-1` and `db-1.CLUSTER`; a bare `db` could
 * shadow a name of the host's own network, and two clusters on one host would fight over it.
 */
import type { HostEntry } from './parse-announcement.js';

/** What docker writes into a container's /etc/hosts besides the container's own line (moby etchosts.go). */
export const CONTAINER_BASE_LINES: readonly (readonly [ip: string, names: string])[] = [
  ['127.0.0.1', 'localhost'],
  ['::1', 'localhost ip6-localhost ip6-loopback'],
  ['fe00::0', 'ip6-localnet'],
  ['ff00::0', 'ip6-mcastprefix'],
  ['ff02::1', 'ip6-allnodes'],
  ['ff02::2', 'ip6-allrouters'],
];

/** Names the base lines hold: no bare name may take one. */
const BASE_NAMES = new Set(CONTAINER_BASE_LINES.flatMap(([, names]) => names.split(' ')));

/** Text order with digit runs compared as numbers (`2` before `10`). Locale-free. */
function compareNatural(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      // As numbers without Number(): a key may hold more digits than a double keeps exact.
      const tx = x.replace(/^0+(?=\d)/, '');
      const ty = y.replace(/^0+(?=\d)/, '');
      if (tx.length !== ty.length) return tx.length < ty.length ? -1 : 1;
      if (tx !== ty) return tx < ty ? -1 : 1;
      continue; // same number, other zeros: the plain comparison at the end settles it
    }
    return x < y ? -1 : 1;
  }
  if (pa.length !== pb.length) return pa.length < pb.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Key order, segment by segment, digit runs as numbers: `…/web/2` before `…/web/10`, and `…/db/1` before
 * `…/db-1/1` (a segment before its longer relatives).
 */
export function compareKeys(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const c = compareNatural(sa[i]!, sb[i]!);
    if (c !== 0) return c;
  }
  return sa.length === sb.length ? 0 : sa.length < sb.length ? -1 : 1;
}

/** Which bare names each entry gets, and why the names left out were left out (per record key). */
export interface BareNames {
  /** entry key → its bare names, in the record's order. */
  readonly names: ReadonlyMap<string, readonly string[]>;
  /** record key → one line per name refused. */
  readonly refused: ReadonlyMap<string, string>;
}

/**
 * Assigns bare names. `entries` are the selected ones (valid, unique host names, reserved names refused):
 * - a bare name that is some entry's host name is left to that entry (an instance name is exact; a service
 *   named `db-1` does not take the line of `db`'s instance 1), and one the base lines hold is refused;
 * - otherwise the entry whose key sorts first (compareKeys) among those carrying the name gets it. Names are
 *   compared case-insensitively, as DNS does.
 */
export function assignBareNames(entries: readonly HostEntry[]): BareNames {
  const hostnames = new Map(entries.map((e) => [e.hostname.toLowerCase(), e] as const));
  const owner = new Map<string, HostEntry>();
  const refused = new Map<string, string[]>();
  const refuse = (e: HostEntry, line: string): void => {
    const list = refused.get(e.key);
    if (list) list.push(line);
    else refused.set(e.key, [line]);
  };
  for (const e of entries) {
    for (const alias of e.aliases ?? []) {
      const n = alias.toLowerCase();
      if (BASE_NAMES.has(n)) {
        refuse(e, `alias "${alias}" is a name every container's hosts file already has`);
        continue;
      }
      const inst = hostnames.get(n);
      if (inst !== undefined) {
        if (inst !== e) refuse(e, `alias "${alias}" is the host name of ${JSON.stringify(inst.key)}, which keeps it`);
        continue;
      }
      const o = owner.get(n);
      if (o === undefined || compareKeys(e.key, o.key) < 0) owner.set(n, e);
    }
  }
  const names = new Map<string, string[]>();
  for (const e of entries) {
    for (const alias of e.aliases ?? []) {
      const n = alias.toLowerCase();
      if (owner.get(n) !== e) continue;
      const list = names.get(e.key) ?? [];
      if (!list.some((x) => x.toLowerCase() === n)) list.push(alias);
      names.set(e.key, list);
    }
  }
  return { names, refused: new Map([...refused].map(([k, v]) => [k, v.join('; ')])) };
}

/** What the header names. */
export interface ContainerHostsOptions {
  readonly cluster: string;
  readonly revision: number;
}

/** The lines after the header: base lines and entries (what decides whether the file must change). */
export function renderContainerLines(entries: readonly HostEntry[], cluster: string, bare: BareNames = assignBareNames(entries)): string {
  let text = '';
  for (const [ip, names] of CONTAINER_BASE_LINES) text += `${ip}\t${names}\n`;
  for (const e of entries) {
    const extra = bare.names.get(e.key);
    text += `${e.ip}\t${e.hostname} ${e.hostname}.${cluster}${extra?.length ? ` ${extra.join(' ')}` : ''}\n`;
  }
  return text;
}

/** The first line of the file: names the cluster and the revision, and says who owns the file. */
export function containerHostsHeader(opts: ContainerHostsOptions, count: number): string {
  return `# Managed by fleetkit watch-hosts: cluster ${opts.cluster}, etcd revision ${opts.revision}, ${count} entries. The cluster's containers mount this file as /etc/hosts; edits are overwritten.\n`;
}

/** The whole file. */
export function renderContainerHosts(entries: readonly HostEntry[], opts: ContainerHostsOptions, lines = renderContainerLines(entries, opts.cluster)): string {
  return containerHostsHeader(opts, entries.length) + lines;
}

/** The part of an existing file after its header line (to compare with renderContainerLines). */
export function containerLinesOf(existing: string): string {
  return existing.startsWith('# Managed by fleetkit watch-hosts:') ? existing.slice(existing.indexOf('\n') + 1) : existing;
}
