/**
 * The status model as text (one table per service, then the machines) and as the `--json` document. Pure.
 */
import { formatAge } from './build-status.js';
import type { GlobalSpread, InstanceStatus, ServiceStatus, StatusModel } from './status-model.js';
import { paint, renderTable, type Cell, type Tint } from './text-table.js';
import { shortId } from './unscheduled-reason.js';

/** Options of renderStatusTable. */
export interface RenderStatusOptions {
  /** ANSI colours (a terminal without NO_COLOR). */
  readonly color: boolean;
}

const dash = (s: string | null | undefined): string => (s === null || s === undefined || s === '' ? '-' : s);

function activeTint(active: string | null): Tint | undefined {
  if (active === 'active') return 'green';
  if (active === 'failed') return 'red';
  if (active === 'activating' || active === 'deactivating') return 'yellow';
  return undefined;
}

/** `mon.service  global  2/3 machines active (1 failed, 1 unknown)`: a global unit is up only on all of them. */
function spreadLine(g: GlobalSpread, color: boolean): string {
  const rest = [g.failed ? `${g.failed} failed` : '', g.unknown ? `${g.unknown} unknown` : ''].filter(Boolean).join(', ');
  const text = `${g.active}/${g.expected} machine${g.expected === 1 ? '' : 's'} active${rest ? ` (${rest})` : ''}`;
  const up = g.expected > 0 && g.active === g.expected;
  return `${g.unit}  global  ${paint(text, up ? 'green' : g.failed ? 'red' : 'yellow', color)}\n`;
}

/** Whether a global unit's per-machine lines add nothing: every machine that should run it runs it, nothing flagged. */
function allUp(s: ServiceStatus): boolean {
  const g = s.spread;
  return g !== undefined && g.expected > 0 && g.active === g.expected && s.instances.length === g.expected && s.instances.every((i) => i.flags.length === 0);
}

function instanceCells(i: InstanceStatus): Cell[] {
  const ann = i.announcement;
  const addr = !ann ? '-' : ann.error ? 'invalid' : `${ann.ip}${ann.port !== null ? `:${ann.port}` : ''}`;
  const annTint: Tint | undefined = !ann ? undefined : ann.error || ann.stale ? 'yellow' : undefined;
  return [
    { text: i.unit.replace(/\.service$/, '') },
    { text: i.machine ? `${shortId(i.machine.id)}${i.machine.ip ? `/${i.machine.ip}` : ''}` : '-', tint: i.machine ? undefined : 'dim' },
    { text: dash(i.desired) },
    { text: dash(i.current) },
    // A machine that should run a global unit and has published nothing for it: unknown, never a blank.
    i.active === null && i.machine && i.flags.some((f) => f.code === 'not-reported') ? { text: 'unknown', tint: 'yellow' } : { text: dash(i.active), tint: activeTint(i.active) },
    { text: dash(i.sub) },
    { text: addr, tint: annTint },
    { text: ann && ann.ageSeconds !== null ? formatAge(ann.ageSeconds) : '-', tint: ann?.stale ? 'yellow' : undefined },
    { text: i.hosts === null ? '-' : i.hosts ? 'yes' : 'no', tint: i.hosts === false ? 'yellow' : undefined },
  ];
}

/** Renders the tables. Disagreements follow each service's table, one `!` line each. */
export function renderStatusTable(model: StatusModel, options: RenderStatusOptions): string {
  const { color } = options;
  const out: string[] = [];
  const where = model.source === 'fleet' ? 'fleet' : 'systemd';
  out.push(`${paint(`cluster ${model.cluster ?? '-'}`, 'bold', color)} · units from ${where} · ${model.time}\n`);
  if (model.services.length === 0) out.push('\nno services found\n');
  for (const s of model.services) {
    const ttl = s.ttl !== null ? `, announced with TTL ${formatAge(s.ttl)}` : '';
    out.push(`\n${paint(`SERVICE ${s.name}`, 'bold', color)}${s.global ? ' (global)' : ''}${ttl}\n`);
    if (s.spread) out.push(spreadLine(s.spread, color));
    if (allUp(s)) continue;
    const header = ['INSTANCE', 'MACHINE', 'DESIRED', 'CURRENT', 'ACTIVE', 'SUB', 'ANNOUNCED', 'AGE', 'HOSTS'];
    out.push(renderTable(header, s.instances.map(instanceCells), color));
    for (const i of s.instances) {
      for (const f of i.flags) {
        out.push(`  ${paint('!', f.severity === 'ERROR' ? 'red' : 'yellow', color)} ${i.unit}${i.machine && s.global ? ` on ${shortId(i.machine.id)}` : ''}: ${f.message}\n`);
      }
    }
  }
  out.push(`\n${paint('MACHINES', 'bold', color)}\n`);
  const rows = model.machines.map((m): Cell[] => [
    { text: shortId(m.id) },
    { text: dash(m.ip) },
    { text: Object.keys(m.metadata).length ? Object.entries(m.metadata).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',') : '-' },
    { text: m.on ? 'yes' : 'no', tint: m.on ? 'green' : 'red' },
    { text: String(m.units) },
  ]);
  out.push(renderTable(['MACHINE', 'IP', 'METADATA', 'ON', 'UNITS'], rows, color));
  for (const w of model.warnings) out.push(`\n${paint('warning:', 'yellow', color)} ${w}\n`);
  // Never "everything agrees" about what could not be seen.
  const problems = model.problems === 0 ? '' : `${model.problems} problem${model.problems === 1 ? '' : 's'}`;
  const unseen = model.warnings.length === 0 ? '' : `${model.warnings.length} part${model.warnings.length === 1 ? '' : 's'} could not be seen`;
  const summary = [problems, unseen].filter(Boolean).join('; ') || 'everything agrees';
  out.push(`\n${paint(summary, summary === 'everything agrees' ? 'green' : 'yellow', color)}\n`);
  return out.join('');
}

/** The `--json` document: the model itself, pretty-printed, one trailing newline. */
export function statusJson(model: StatusModel): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}
