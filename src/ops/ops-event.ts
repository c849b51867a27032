/**
 * The events of `fleetkit events`: one shape for unit, announcement and machine changes, printed as a
 * journalctl-style line or as one JSON object per line (`--json`, a documented, stable shape). Also the
 * rule that turns a unit's ActiveState change into an action, shared by fleet's state and D-Bus. Pure.
 */
import { safeText } from '../journal/journal-entry.js';
import { paint } from './text-table.js';

/** What changed. */
export type EventSource = 'unit' | 'announcement' | 'machine';
/** How it changed. */
export type EventAction = 'create' | 'update' | 'delete' | 'start' | 'stop' | 'die' | 'online' | 'offline';
/** How much an operator should care. */
export type EventSeverity = 'INFO' | 'WARNING' | 'ERROR';

/** One change. */
export interface OpsEvent {
  /** When fleetkit saw it (ISO 8601, UTC, milliseconds). */
  readonly time: string;
  readonly source: EventSource;
  readonly action: EventAction;
  readonly severity: EventSeverity;
  /** The unit name, the etcd key, or the machine id. */
  readonly subject: string;
  /** The machine it happened on, when known. */
  readonly machine: string | null;
  /** A sentence for operators. */
  readonly message: string;
}

/**
 * The action for a unit whose ActiveState went from `from` (undefined: not seen before) to `to` (SubState
 * `sub`): `active` is start, `failed` is die (ERROR), and so is `activating/auto-restart`: a unit with
 * `Restart=` that exits is never `failed` between its restarts, so without this a crash loop would show
 * only as starts. `inactive` after running is stop; other transitional states are no event.
 */
export function unitStateAction(from: string | undefined, to: string, sub?: string): { action: EventAction; severity: EventSeverity } | undefined {
  if (from === to) return undefined;
  if (to === 'activating' && sub === 'auto-restart') return { action: 'die', severity: 'ERROR' };
  if (to === 'active') return { action: 'start', severity: 'INFO' };
  if (to === 'failed') return { action: 'die', severity: 'ERROR' };
  if (to === 'inactive' && (from === 'active' || from === 'deactivating' || from === 'reloading')) return { action: 'stop', severity: 'INFO' };
  return undefined;
}

/** A unit state event, or undefined when the change is no event. */
export function unitStateEvent(
  unit: string,
  machine: string | undefined,
  from: string | undefined,
  to: string,
  sub: string | undefined,
  time: Date,
): OpsEvent | undefined {
  const a = unitStateAction(from, to, sub);
  if (!a) return undefined;
  const verb = a.action === 'start' ? 'started' : a.action === 'die' ? (to === 'failed' ? 'failed' : 'exited, restarting') : 'stopped';
  return {
    time: time.toISOString(),
    source: 'unit',
    ...a,
    subject: unit,
    machine: machine ?? null,
    message: `${verb} (${to}${sub ? `/${sub}` : ''}${from ? `, was ${from}` : ''})`,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `Nov 22 03:40:13.123 unit/die ERROR web@1.service [3d1219c7]: failed (failed/failed, was active)`: the
 * layout of journalctl's short-precise output, time in UTC so lines from several hosts compare.
 */
export function formatEventLine(e: OpsEvent, color: boolean): string {
  const d = new Date(e.time);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const ts = `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
  const sev = paint(e.severity, e.severity === 'ERROR' ? 'red' : e.severity === 'WARNING' ? 'yellow' : undefined, color);
  const on = e.machine && e.source !== 'machine' ? ` [${e.machine.slice(0, 8)}]` : '';
  return `${ts} ${e.source}/${e.action} ${sev} ${safeText(e.subject)}${on}: ${safeText(e.message)}`;
}

/** The `--json` line of an event (fixed key order). */
export function eventJson(e: OpsEvent): string {
  return JSON.stringify({ time: e.time, source: e.source, action: e.action, severity: e.severity, subject: e.subject, machine: e.machine, message: e.message });
}
