/**
 * Events from two polls of fleet: units created, deleted or changed (desired state, machine), unit states
 * that started, stopped or died on a machine, machines that came online or went offline. Pure.
 */
import type { OpsEvent } from './ops-event.js';
import { unitStateEvent } from './ops-event.js';
import { shortId } from './unscheduled-reason.js';

/** What one poll of fleet saw. */
export interface FleetSnapshot {
  /** Unit name → desired state and machine. */
  readonly units: ReadonlyMap<string, { readonly desired: string; readonly machineID: string | undefined }>;
  /** `unit\0machine` → systemd active and sub state. */
  readonly states: ReadonlyMap<string, { readonly active: string; readonly sub: string | undefined }>;
  /** Machine id → IP. */
  readonly machines: ReadonlyMap<string, string | undefined>;
}

/** The empty snapshot (nothing seen yet). */
export const EMPTY_FLEET_SNAPSHOT: FleetSnapshot = { units: new Map(), states: new Map(), machines: new Map() };

/** The key of a unit state in a snapshot. */
export function stateKey(unit: string, machineID: string): string {
  return `${unit}\0${machineID}`;
}

/** The events that lead from `prev` to `next`, machines first, then units, then unit states. */
export function diffFleet(prev: FleetSnapshot, next: FleetSnapshot, time: Date, include: (unit: string) => boolean = () => true): OpsEvent[] {
  const at = time.toISOString();
  const out: OpsEvent[] = [];
  const ev = (e: Omit<OpsEvent, 'time'>): void => void out.push({ time: at, ...e });
  for (const [id, ip] of next.machines) {
    if (!prev.machines.has(id)) ev({ source: 'machine', action: 'online', severity: 'INFO', subject: id, machine: id, message: `machine ${shortId(id)}${ip ? ` (${ip})` : ''} is online` });
  }
  for (const [id, ip] of prev.machines) {
    if (!next.machines.has(id)) ev({ source: 'machine', action: 'offline', severity: 'WARNING', subject: id, machine: id, message: `machine ${shortId(id)}${ip ? ` (${ip})` : ''} is offline: fleet no longer lists it` });
  }
  for (const [name, u] of next.units) {
    if (!include(name)) continue;
    const before = prev.units.get(name);
    const where = u.machineID ? ` on ${shortId(u.machineID)}` : '';
    if (!before) {
      ev({ source: 'unit', action: 'create', severity: 'INFO', subject: name, machine: u.machineID ?? null, message: `submitted, desired ${u.desired}${where}` });
    } else if (before.desired !== u.desired || before.machineID !== u.machineID) {
      const parts: string[] = [];
      if (before.desired !== u.desired) parts.push(`desired ${before.desired} → ${u.desired}`);
      if (before.machineID !== u.machineID) parts.push(u.machineID ? `scheduled on ${shortId(u.machineID)}` : 'unscheduled');
      ev({ source: 'unit', action: 'update', severity: 'INFO', subject: name, machine: u.machineID ?? null, message: parts.join(', ') });
    }
  }
  for (const [name, u] of prev.units) {
    if (include(name) && !next.units.has(name)) ev({ source: 'unit', action: 'delete', severity: 'INFO', subject: name, machine: u.machineID ?? null, message: 'destroyed' });
  }
  for (const [key, s] of next.states) {
    const [name = '', machine = ''] = key.split('\0');
    if (!include(name)) continue;
    const e = unitStateEvent(name, machine, prev.states.get(key)?.active, s.active, s.sub, time);
    if (e) out.push(e);
  }
  for (const [key, s] of prev.states) {
    const [name = '', machine = ''] = key.split('\0');
    // A state that vanished while the unit ran: the agent unloaded it (stop), unless its machine went away.
    if (!include(name) || next.states.has(key) || s.active !== 'active' || !next.machines.has(machine)) continue;
    const e = unitStateEvent(name, machine, s.active, 'inactive', 'unloaded', time);
    if (e) out.push(e);
  }
  return out;
}
