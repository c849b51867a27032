/**
 * Healthy includes announced: a container unit with a discovery sidekick (`x-announce`) counts as healthy
 * only once its announcement is in etcd, and only an announcement made for the container that runs now. The
 * sidekick is a oneshot that registers the container with the host's agent (`announce --no-wait`) and is
 * active at once; the agent puts the key later, when the container serves, or never. Pure: the caller reads
 * etcd and the host.
 *
 * What "made for the container that runs now" can be checked against: the record names the container
 * (`--container` of the sidekick) and carries the time the agent made it. It must not be older than the start
 * of the container it announces: the agent's facts say when that container started (fleet), systemd says when
 * the container unit became active. Both clocks are the clock of the machine that made the record. For a unit
 * this run starts anew, the record must also be from after the start jobs were sent, less a slack for another
 * machine's clock. So an old container's record (the one that ran before a replace, or one of another run)
 * never counts; a unit found already running keeps the record made after its container started.
 */
import { isRejection, parseAnnouncement } from '../hosts/parse-announcement.js';
import { valuesOf, type UnitFile } from '../unit/model.js';
import { instanceOf } from '../unit/names.js';
import { announcementKeyOf } from './rolling-facts.js';
import { isPerHostKey, keyTemplatePattern } from '../ops/announcement-keys.js';

/** One announcement a unit's health needs. */
export interface AnnouncementWant {
  /** The etcd key the sidekick announces. */
  readonly key: string;
  /** The container the record must name (`announce --container`), when the sidekick says. */
  readonly container: string | undefined;
  /** The unit that runs the container (the sidekick's `BindsTo=`), whose start the record must follow. */
  readonly containerUnit: string | undefined;
  /** The sidekick that announces it. */
  readonly sidekick: string;
}

/** Slack for the clock of another machine when only the time the start jobs were sent is known. */
export const OTHER_CLOCK_SLACK_MS = 2000;

const expand = (value: string, instance: string): string => value.replace(/%i/g, instance);

/**
 * The announcements the units in `waited` need, by the unit whose health needs it: the container unit when
 * it is waited on (a container with `x-announce` is healthy once announced), else the sidekick itself when it
 * is. `units` may hold sidekicks that are not waited on: they name their container unit's key.
 */
export function announcementWants(units: readonly UnitFile[], waited: readonly string[]): Map<string, AnnouncementWant> {
  const names = new Set(waited);
  const out = new Map<string, AnnouncementWant>();
  for (const u of units) {
    const key = announcementKeyOf(u);
    if (key === undefined) continue;
    const instance = instanceOf(u.name) ?? '';
    const exec = valuesOf(u, 'Service', 'ExecStart').find((v) => /\sannounce\s/.test(v)) ?? '';
    const container = /\s--container[ =](\S+)/.exec(exec)?.[1];
    const bound = valuesOf(u, 'Unit', 'BindsTo').flatMap((v) => v.split(/\s+/)).find(Boolean);
    const want: AnnouncementWant = {
      key, sidekick: u.name,
      container: container === undefined ? undefined : expand(container, instance),
      containerUnit: bound === undefined ? undefined : expand(bound, instance),
    };
    // A sidekick not waited on itself counts for its container unit when that is (start web@1 by name).
    if (want.containerUnit !== undefined && names.has(want.containerUnit)) out.set(want.containerUnit, want);
    else if (names.has(u.name)) out.set(u.name, want);
  }
  return out;
}

/** What is known of the container an announcement must be of. */
export interface ContainerStart {
  /** When the container (or its unit) last started, ms since the epoch, on its machine's clock. */
  readonly at: number | undefined;
  /** The machine it runs on (fleet's machine id), when known. */
  readonly machine: string | undefined;
  /** When the start jobs of this run were sent (ms, this machine's clock). */
  readonly runStart: number;
  /** This run started the container's unit anew: a record from before the run is an old container's. */
  readonly fresh: boolean;
}

/**
 * Why the value at `want.key` is not yet the announcement of the container that runs now (one phrase), or
 * undefined when it is. `value` undefined: there is no key.
 */
export function notAnnouncedYet(want: AnnouncementWant, value: string | undefined, c: ContainerStart): string | undefined {
  if (value === undefined) return `not announced in etcd at ${want.key}`;
  const a = parseAnnouncement(want.key, value);
  if (isRejection(a)) return `the announcement at ${want.key} is not valid (${a.reject})`;
  const r = a.record;
  if (want.container !== undefined && r.container !== want.container) return `${want.key} announces container ${JSON.stringify(r.container)}, not ${want.container}`;
  if (c.machine !== undefined && r.machine !== '' && r.machine !== c.machine) return `${want.key} was announced by machine ${r.machine}, not by ${c.machine} where the container runs`;
  const made = Date.parse(r.time);
  // A unit this run did not start keeps its announcement, whenever made after its container started.
  const since = Math.max(c.at ?? -Infinity, c.fresh ? c.runStart - OTHER_CLOCK_SLACK_MS : -Infinity);
  if (!Number.isFinite(made)) return `the announcement at ${want.key} has no time: it cannot be told from an old one`;
  if (made < since) return `the announcement at ${want.key} (made ${r.time}) is older than its container's start: not announced again yet`;
  return undefined;
}

/**
 * A per-host key (`%H %l %m`: a global sidekick's, each machine announces its own container under its own
 * name): why not every machine of `machines` has announced the container it runs now, or undefined when each
 * has. `values` holds the keys read, by name; a machine's is the one whose record it made. `atOn(m)` is when
 * the container on machine `m` started, when known. `machines` empty (one host, which names no machines):
 * any one key of the pattern that passes.
 */
export function notAnnouncedOnEach(want: AnnouncementWant, values: ReadonlyMap<string, string>, machines: readonly string[], c: Omit<ContainerStart, 'machine' | 'at'>, atOn: (machine: string | undefined) => number | undefined): string | undefined {
  const pattern = keyTemplatePattern(want.key);
  const found = [...values].filter(([k]) => pattern.test(k));
  for (const m of machines.length ? machines : [undefined]) {
    const whys = found.map(([k, v]) => notAnnouncedYet({ ...want, key: k }, v, { ...c, at: atOn(m), machine: m }));
    if (whys.some((w) => w === undefined)) continue;
    const own = m === undefined ? 0 : found.findIndex(([k, v]) => {
      const a = parseAnnouncement(k, v);
      return !isRejection(a) && a.record.machine === m;
    });
    const why = own >= 0 && found.length ? whys[own]! : `not announced in etcd at ${want.key}`;
    return m === undefined || machines.length < 2 ? why : `on machine ${m.slice(0, 8)} (one of ${machines.length}), ${why}`;
  }
  return undefined;
}

/** Whether `want` is a global sidekick's key, one per machine (see notAnnouncedOnEach). */
export const isPerHost = (want: AnnouncementWant): boolean => isPerHostKey(want.key);
