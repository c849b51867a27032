/**
 * Which announcements become hosts lines: the pure decision, from the mirrored etcd state. Kept apart from
 * rendering so the watcher can log why a well-formed record was left out (duplicate name, outside its
 * host's flannel subnet, lease gone).
 */
import { ipInSubnet, sameIp } from './ip-address.js';
import type { FlannelConfig, FlannelLease } from './flannel.js';
import type { Announcement } from './parse-announcement.js';

/** One hosts line: `IP HOSTNAME HOSTNAME.CLUSTER`. */
export interface HostEntry {
  readonly ip: string;
  readonly hostname: string;
  readonly key: string;
}

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
 * Selects the entries. With flannel configured, a record counts only when its `hostIP` is the PublicIP of a
 * live lease and its `ip` lies in that lease's subnet. Host names are unique case-insensitively (DNS is); on
 * a clash the record with the lowest key wins — deterministic on every host, whatever the event order.
 * Entries are sorted by host name, then IP.
 */
export function selectEntries(announcements: Iterable<Announcement>, flannel: FlannelState): Selection {
  const excluded = new Map<string, string>();
  const byKey = [...announcements].sort((a, b) => compare(a.key, b.key));
  const leases = [...flannel.leases.values()];
  const taken = new Map<string, string>();
  const entries: HostEntry[] = [];
  for (const a of byKey) {
    if (flannel.config) {
      if (!a.hostIP) {
        excluded.set(a.key, 'flannel is configured and the record has no "hostIP"');
        continue;
      }
      const lease = leases.find((l) => l.publicIPs.some((p) => sameIp(p, a.hostIP!)));
      if (!lease) {
        excluded.set(a.key, `no flannel lease for host ${a.record.hostIP}`);
        continue;
      }
      if (!lease.subnets.some((s) => ipInSubnet(a.ip, s))) {
        excluded.set(a.key, `ip ${a.record.ip} is outside the subnet leased to ${a.record.hostIP} (${lease.key})`);
        continue;
      }
    }
    const name = a.record.hostname.toLowerCase();
    const owner = taken.get(name);
    if (owner !== undefined) {
      excluded.set(a.key, `duplicate hostname "${a.record.hostname}": ${JSON.stringify(owner)} has it (lowest key wins)`);
      continue;
    }
    taken.set(name, a.key);
    entries.push({ ip: a.record.ip, hostname: a.record.hostname, key: a.key });
  }
  entries.sort((x, y) => compare(x.hostname.toLowerCase(), y.hostname.toLowerCase()) || compare(x.ip, y.ip));
  return { entries, excluded };
}
