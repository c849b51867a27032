/**
 * One journal entry as `journalctl -o json` prints it, read into the fields fleetkit shows, and its
 * one-line `short` form (journalctl's own layout). Pure.
 */

/** The fields of a journal entry fleetkit uses. */
export interface JournalEntry {
  /** `__REALTIME_TIMESTAMP`: microseconds since the epoch (fits a double exactly until the year 2255). */
  readonly realtimeUs: number;
  /** `__CURSOR`: where to resume a follow without a gap or a repeat. */
  readonly cursor: string;
  readonly message: string;
  /** `PRIORITY` 0–7, undefined when absent. */
  readonly priority: number | undefined;
  /** `SYSLOG_IDENTIFIER`, else `_COMM`. */
  readonly identifier: string | undefined;
  readonly pid: number | undefined;
  /** `_HOSTNAME`. */
  readonly hostname: string | undefined;
  /** `_SYSTEMD_UNIT` or `_SYSTEMD_USER_UNIT`. */
  readonly unit: string | undefined;
  /**
   * The units the entry is about, in the order journalctl's `-u` (`--user-unit`) matches them: the
   * sender's own unit, then `UNIT=` (`USER_UNIT=`) of the manager's lines about a unit, `OBJECT_SYSTEMD_…`
   * and `COREDUMP_…`. A user unit's own lines carry `_SYSTEMD_UNIT=user@UID.service` too, so the two scopes
   * are kept apart.
   */
  readonly units?: { readonly system: readonly string[]; readonly user: readonly string[] } | undefined;
}

const SYSTEM_UNIT_FIELDS = ['_SYSTEMD_UNIT', 'UNIT', 'OBJECT_SYSTEMD_UNIT', 'COREDUMP_UNIT'];
const USER_UNIT_FIELDS = ['_SYSTEMD_USER_UNIT', 'USER_UNIT', 'OBJECT_SYSTEMD_USER_UNIT', 'COREDUMP_USER_UNIT'];

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  // journald sends non-UTF-8 (or binary) fields as an array of byte values.
  if (Array.isArray(v) && v.every((b) => typeof b === 'number')) return Buffer.from(v as number[]).toString('utf8');
  return undefined;
}

/** Parses one line of `journalctl -o json`; undefined for a line that is not an entry. */
export function parseJournalJson(line: string): JournalEntry | undefined {
  let o: Record<string, unknown>;
  try {
    const v = JSON.parse(line) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    o = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const ts = Number(text(o['__REALTIME_TIMESTAMP']));
  if (!Number.isFinite(ts)) return undefined;
  const num = (k: string): number | undefined => {
    const s = text(o[k]);
    return s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
  };
  return {
    realtimeUs: ts,
    cursor: text(o['__CURSOR']) ?? '',
    message: text(o['MESSAGE']) ?? '',
    priority: num('PRIORITY'),
    identifier: text(o['SYSLOG_IDENTIFIER']) ?? text(o['_COMM']),
    pid: num('_PID'),
    hostname: text(o['_HOSTNAME']),
    unit: text(o['_SYSTEMD_UNIT']) ?? text(o['_SYSTEMD_USER_UNIT']),
    units: {
      system: SYSTEM_UNIT_FIELDS.map((k) => text(o[k])).filter((u): u is string => u !== undefined),
      user: USER_UNIT_FIELDS.map((k) => text(o[k])).filter((u): u is string => u !== undefined),
    },
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** journalctl's short time stamp, `Nov 22 03:40:13`, in local time like journalctl. */
export function shortTime(realtimeUs: number): string {
  const d = new Date(Math.floor(realtimeUs / 1000));
  return `${MONTHS[d.getMonth()]} ${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** journalctl's `short-iso` time stamp, `2026-11-22T03:40:13+0000`, in local time like journalctl 252. */
export function isoTime(realtimeUs: number): string {
  const d = new Date(Math.floor(realtimeUs / 1000));
  const off = -d.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${two(Math.floor(Math.abs(off) / 60))}${two(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}${zone}`;
}

/**
 * journalctl's `short` line, `Nov 22 03:40:13 host ident[pid]: message`, or with `iso` its `short-iso`
 * line. Control characters are escaped.
 */
export function formatShort(e: JournalEntry, iso = false): string {
  const who = `${e.identifier ?? e.unit ?? 'unknown'}${e.pid !== undefined ? `[${e.pid}]` : ''}`;
  return `${iso ? isoTime(e.realtimeUs) : shortTime(e.realtimeUs)} ${e.hostname ?? 'localhost'} ${who}: ${safeText(e.message)}`;
}

/** A message made safe for one terminal line: newlines and other control characters shown escaped. */
export function safeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]|\n/g, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
