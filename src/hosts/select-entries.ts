/**
 * Which announcements become hosts lines: the pure decision, from the mirrored etcd state. Kept apart from
 * rendering so the watcher can log why a well-formed record was left out (duplicate name, outside its
 * host's flannel subnet, lease gone).
 */
import { ipInSubnet, ipKey } from '../net/ip-address.js';
import type { FlannelConfig, FlannelLease } from '../flannel/flannel-etcd.js';
import type { Announcement, HostEntry } from './parse-announcement.js';
import type { ReservedNames } from './reserved-names.js';


/** flannel's state as mirrored from etcd; `config` undefined means flannel is not configured. */
export interface FlannelState {
  readonly config: FlannelConfig | undefined;
  readonly leases: ReadonlyMap<string, FlannelLease>;
}

/** The entries, and for each left-out key the reason (for the log). */
export interface Selection {
  readonly entries: readonly HostEntry[];
  readonly excluded: ReadonlyMap<string, string>;
}

/** Byte order of UTF-16 code units: locale-independent, so every host sorts the same way. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Selects the entries. A name in `reserved` (src/hosts/reserved-names.ts) is refused. With flannel configured, a record counts only when its `hostIP` is a PublicIP of a
 * live lease and its `ip` lies in the subnet of one of that host's leases (a host briefly holds two while an
 * old lease expires). Host names are unique case-insensitively (DNS is); on a clash the record with the
 * lowest key wins — deterministic on every host, whatever the event order. Entries are sorted by host name.
 *
 * Runs on every write, over every announcement (10,000 in the bench), so it is linear apart from the one
 * sort: no sort by key (the lowest key is kept while scanning), and leases are indexed by public address.
 */
export function selectEntries(announcements: Iterable<Announcement>, flannel: FlannelState, reserved: ReservedNames = new Map()): Selection {
  const excluded = new Map<string, string>();
  const leasesByIp = new Map<string, FlannelLease[]>();
  if (flannel.config) {
    for (const l of flannel.leases.values()) {
      for (const p of l.publicIPs) {
        const k = ipKey(p);
        const list = leasesByIp.get(k);
        if (list) list.push(l);
        else leasesByIp.set(k, [l]);
      }
    }
  }
  /** Lower-cased host name → the record holding it so far (the lowest key seen). */
  const owners = new Map<string, Announcement>();
  const losers: Announcement[] = [];
  for (const a of announcements) {
    const why = reserved.get(a.nameKey);
    if (why !== undefined) {
      excluded.set(a.key, `hostname "${a.record.hostname}" would shadow a name this host already has: ${why}`);
      continue;
    }
    if (flannel.config) {
      if (!a.hostIP) {
        excluded.set(a.key, 'flannel is configured and the record has no "hostIP"');
        continue;
      }
      const leases = leasesByIp.get(ipKey(a.hostIP));
      if (!leases) {
        excluded.set(a.key, `no flannel lease for host ${a.record.hostIP}`);
        continue;
      }
      if (!leases.some((l) => l.subnets.some((s) => ipInSubnet(a.ip, s)))) {
        excluded.set(a.key, `ip ${a.record.ip} is outside the subnet leased to ${a.record.hostIP} (${leases.map((l) => l.key).join(', ')})`);
        continue;
      }
    }
    const owner = owners.get(a.nameKey);
    if (owner === undefined) owners.set(a.nameKey, a);
    else if (compare(a.key, owner.key) < 0) (owners.set(a.nameKey, a), losers.push(owner));
    else losers.push(a);
  }
  for (const a of losers) {
    excluded.set(a.key, `duplicate hostname "${a.record.hostname}": ${JSON.stringify(owners.get(a.nameKey)!.key)} has it (lowest key wins)`);
  }
  // Names are unique among the winners, so the name alone orders them.
  const winners = [...owners.values()].sort((x, y) => compare(x.nameKey, y.nameKey));
  return { entries: winners.map((a) => a.entry), excluded };
}
