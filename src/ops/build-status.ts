/**
 * `buildStatus`: joins the scheduler's view (fleet units and unit states, or systemd's), what etcd announces
 * and what this host's hosts file lists, into one row per instance, and flags where they disagree. Pure:
 * the clock comes in with the inputs.
 */
import { managedEntryLines } from '../hosts/render-hosts.js';
import { isRejection, parseAnnouncement } from '../hosts/parse-announcement.js';
import { serviceNames } from '../render/plan-container.js';
import { parseXFleet } from '../unit/xfleet.js';
import { keyOwnerResolver, type KeyOwner } from './announcement-keys.js';
import type {
  AnnouncementStatus, InstanceStatus, MachineStatus, ServiceStatus, StatusFlag, StatusInputs, StatusKeyValue, StatusModel, StatusUnit,
} from './status-model.js';
import { compareInstances, hostUnitNames, sidekickName, sidekickOf, unitParts } from '../unit/names.js';
import { CRASH_LOOP_RESTARTS } from '../load/health.js';
import { unscheduledReason } from './unscheduled-reason.js';
import type { ContainerFactsRecord } from '../etcd/container-facts.js';
import { waitingFor } from '../cluster/dependency-wait.js';
import { globalRowFlags, globalSpread, placeGlobals } from './global-spread.js';
import { expectsFacts, factsIndex, factsOverdue, factsUnknownMessage, oldConfigMessage, unkeptFactsMessages, type FactsOf } from './status-facts.js';

interface Group {
  readonly name: string;
  global: boolean;
  readonly ttl: number | null;
  announces: boolean;
  readonly expected: string[];
  readonly rows: Row[];
}

type Row = { -readonly [K in keyof InstanceStatus]: InstanceStatus[K] } & { flags: StatusFlag[] };

/** Seconds as `42s`, `5m3s`, `2h5m`, `3d4h`: short enough for a table column. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

/** Builds the status model. */
export function buildStatus(inputs: StatusInputs): StatusModel {
  const { spec, now } = inputs;
  const ipOf = new Map(inputs.machines.map((m) => [m.id, m.primaryIP ?? null]));
  const unitsByName = new Map(inputs.units.map((u) => [u.name, u]));
  const groups = new Map<string, Group>();
  const group = (name: string, init: Omit<Group, 'name' | 'rows' | 'expected'> & { expected?: string[] }): Group => {
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { name, rows: [], expected: init.expected ?? [], global: init.global, ttl: init.ttl, announces: init.announces }));
    return g;
  };
  if (spec) {
    for (const s of spec.services) {
      group(s.name, { global: s.fleet.global, ttl: s.announce?.ttl ?? null, announces: s.announce !== undefined, expected: [...serviceNames(s).instances] });
    }
  }
  const serviceSet = new Set([...groups.keys(), ...inputs.units.map((u) => unitParts(u.name).service)]);
  const isGlobal = (u: StatusUnit | undefined): boolean => (u ? parseXFleet({ name: u.name, options: u.options }).global : false);
  const factsOf = factsIndex(inputs);
  const globals = placeGlobals(inputs, isGlobal);

  // Units → groups (templates are not instances; sidekicks are shown through their service's announcement).
  for (const u of inputs.units) {
    const p = unitParts(u.name);
    if (p.template) continue;
    const owner = sidekickOf(u.name);
    if (owner !== undefined && serviceSet.has(owner)) {
      if (!spec) group(owner, { global: false, ttl: null, announces: true }).announces = true;
      continue;
    }
    if (spec && !groups.has(p.service) && !hostUnitNames(spec.name).includes(u.name)) continue; // not this cluster's
    const g = group(p.service, { global: isGlobal(u), ttl: null, announces: false });
    if (!g.expected.includes(u.name)) g.expected.push(u.name);
  }

  for (const g of groups.values()) {
    for (const name of g.expected) {
      const u = unitsByName.get(name);
      const states = inputs.states.filter((s) => s.name === name);
      const global = g.global || isGlobal(u);
      const base = (machineID: string | undefined): Row => ({
        unit: name,
        instance: unitParts(name).instance,
        machine: machineID ? { id: machineID, ip: ipOf.get(machineID) ?? null } : null,
        desired: u?.desiredState ?? null,
        current: global ? null : u?.currentState ?? null, // fleet says `inactive` for a global unit wherever it runs
        load: null, active: null, sub: null, announcement: null, hosts: null, flags: [],
      });
      const withState = (row: Row, s: (typeof states)[number] | undefined): Row => {
        if (s) {
          Object.assign(row, { load: s.loadState ?? null, active: s.activeState ?? null, sub: s.subState ?? null });
          // Only hosts that count restarts add these fields: the JSON document only ever grows.
          if (s.restarts !== undefined) Object.assign(row, { restarts: s.restarts, lastExit: s.lastExit ?? null });
        }
        // A host without a restart count (fleet): the agent's container facts say it, when it published them.
        const f = row.restarts === undefined && row.machine ? factsOf(row.machine.id, row.unit).record : undefined;
        if (f) Object.assign(row, { restarts: f.restarts, lastExit: f.lastExit ?? null });
        return row;
      };
      const expected = global && u ? globals?.on.get(name) ?? [] : undefined;
      if (expected && globals) {
        // One row per machine that should run it or reports it; one that should and has not reported is unknown.
        const ids = [...new Set([...expected, ...states.flatMap((s) => (s.machineID ? [s.machineID] : []))])].sort();
        for (const id of ids) g.rows.push(withState(base(id), states.find((s) => s.machineID === id)));
        if (!ids.length) g.rows.push(withState(base(undefined), undefined));
      } else if (global && states.length > 0) {
        for (const s of states) g.rows.push(withState(base(s.machineID), s));
      } else {
        const machineID = u?.machineID ?? (inputs.source === 'systemd' ? states[0]?.machineID : undefined);
        g.rows.push(withState(base(machineID), states.find((s) => s.machineID === machineID) ?? (global ? undefined : states[0])));
      }
    }
  }

  // Announcements → rows.
  const ownerOf = keyOwnerResolver(spec, inputs.prefix);
  let cluster: string | null = spec?.name ?? null;
  for (const kv of inputs.announcements) {
    const owner = ownerOf(kv.key);
    if (!owner) continue;
    cluster ??= owner.cluster ?? null;
    const g = spec ? groups.get(owner.service) : group(owner.service, { global: owner.instance === undefined, ttl: null, announces: true });
    if (!g) continue;
    g.announces = true;
    const ann = readAnnouncement(kv, now, g.ttl);
    const row = findRow(g, owner, ann.machine) ?? newRow(g, owner, ann.machine, ipOf);
    if (!row.announcement) row.announcement = ann.status;
  }

  const hostLines = hostsLines(inputs, cluster);
  for (const g of groups.values()) {
    g.rows.sort((a, b) => compareInstances(a.instance, b.instance) || (a.machine?.id ?? '').localeCompare(b.machine?.id ?? ''));
    for (const row of g.rows) {
      flagRow(row, g, inputs, hostLines, cluster, factsOf);
      const u = unitsByName.get(row.unit);
      if (globals && isGlobal(u)) row.flags.push(...globalRowFlags(row, u, globals));
    }
  }

  const services: ServiceStatus[] = [...groups.values()].map((g) => {
    const unit = g.expected.length === 1 ? g.expected[0]! : undefined;
    const on = unit !== undefined && isGlobal(unitsByName.get(unit)) ? globals?.on.get(unit) : undefined;
    return { name: g.name, global: g.global, ...(on ? { spread: globalSpread(unit!, on, g.rows) } : {}), ttl: g.ttl, instances: g.rows };
  });
  return {
    version: 1,
    time: now.toISOString(),
    source: inputs.source,
    cluster,
    hostsFile: inputs.hosts?.file ?? null,
    services,
    machines: machineRows(inputs),
    problems: services.reduce((n, s) => n + s.instances.reduce((m, i) => m + i.flags.length, 0), 0),
    warnings: [
      ...(inputs.unitsError === undefined ? [] : [`units unknown: ${inputs.unitsError}`]),
      ...(inputs.announcementsError === undefined ? [] : [`announcements unknown: ${inputs.announcementsError}`]),
    ],
  };
}

function readAnnouncement(kv: StatusKeyValue, now: Date, ttl: number | null): { status: AnnouncementStatus; machine: string | undefined } {
  const leased = kv.lease !== '0' && kv.lease !== '';
  const parsed = parseAnnouncement(kv.key, kv.value);
  if (isRejection(parsed)) {
    return { status: { key: kv.key, ip: null, port: null, hostname: null, time: null, ageSeconds: null, leased, stale: false, error: parsed.reject }, machine: undefined };
  }
  const r = parsed.record;
  const at = Date.parse(r.time);
  const ageSeconds = Number.isNaN(at) ? null : Math.max(0, Math.floor((now.getTime() - at) / 1000));
  // The agent keeps its lease alive without rewriting `time`: a leased key is live however old its time
  // is. A key without a lease never expires, so past the TTL nothing vouches for it any more.
  const stale = !leased && ttl !== null && ageSeconds !== null && ageSeconds > ttl;
  return {
    status: { key: kv.key, ip: r.ip, port: r.port ?? null, hostname: r.hostname, time: r.time || null, ageSeconds, leased, stale, error: null },
    machine: r.machine || undefined,
  };
}

function findRow(g: Group, owner: KeyOwner, machine: string | undefined): Row | undefined {
  if (owner.instance !== undefined) return g.rows.find((r) => r.instance === owner.instance);
  const id = owner.machine ?? machine;
  return g.rows.find((r) => r.machine?.id === id) ?? (g.rows.length === 1 && !g.rows[0]?.machine ? g.rows[0] : undefined);
}

function newRow(g: Group, owner: KeyOwner, machine: string | undefined, ipOf: ReadonlyMap<string, string | null>): Row {
  const id = owner.machine ?? machine;
  const row: Row = {
    unit: owner.instance !== undefined ? `${g.name}@${owner.instance}.service` : `${g.name}.service`,
    instance: owner.instance ?? '',
    machine: owner.instance === undefined && id ? { id, ip: ipOf.get(id) ?? null } : null,
    desired: null, current: null, load: null, active: null, sub: null, announcement: null, hosts: null, flags: [],
  };
  g.rows.push(row);
  return row;
}

function hostsLines(inputs: StatusInputs, cluster: string | null): Set<string> | undefined {
  const text = inputs.hosts?.text;
  if (text === undefined || cluster === null) return undefined;
  try {
    const lines = managedEntryLines(text, cluster);
    return lines === undefined ? undefined : new Set(lines.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).join(' ')));
  } catch {
    return undefined; // a broken block: watch-hosts reports it; status cannot tell what it lists
  }
}

/**
 * Restarts this long ago or more no longer make a crash loop: one read has no history, and a unit up for this
 * long since its last start has stopped looping. (systemd's NRestarts is read as the restarts of the unit's
 * current run, see restartsThisRun in systemd-manager.ts, so a unit restarted by hand does not reach here at all.)
 */
const CRASH_LOOP_WINDOW_MS = 60_000;

/** True when the unit (or, from the agent's facts, its container) has been up for at least `ms`. */
function upFor(inputs: StatusInputs, unit: string, facts: ContainerFactsRecord | undefined, ms: number): boolean {
  const since = inputs.states.find((s) => s.name === unit)?.activeSince ?? (facts?.phase === 'running' && facts.startedAt ? Date.parse(facts.startedAt) : undefined);
  return since !== undefined && !Number.isNaN(since) && inputs.now.getTime() - since >= ms;
}

function flagRow(row: Row, g: Group, inputs: StatusInputs, hostLines: Set<string> | undefined, cluster: string | null, factsOf: FactsOf): void {
  const add = (code: StatusFlag['code'], severity: StatusFlag['severity'], message: string): void => void row.flags.push({ code, severity, message });
  // Units unknown (fleet or systemd could not be read): only what etcd and the hosts file show is judged.
  if (inputs.unitsError === undefined) flagUnit(row, g, inputs, factsOf, cluster, add);
  else for (const m of unkeptFactsMessages(inputs, factsOf, row.unit, row.machine?.id, cluster)) add('facts-unknown', 'WARNING', m);
  const ann = row.announcement;
  if (ann?.error) add('bad-announcement', 'WARNING', `announcement ${ann.key} is unusable: ${ann.error}`);
  if (ann?.stale) {
    add('stale', 'WARNING', `announcement is ${formatAge(ann.ageSeconds ?? 0)} old, older than its TTL of ${formatAge(g.ttl ?? 0)}, and no lease will remove it`);
  }
  if (ann && ann.ip && ann.hostname && hostLines && cluster) {
    row.hosts = hostLines.has(`${ann.ip} ${ann.hostname} ${ann.hostname}.${cluster}`);
    if (!row.hosts) add('not-in-hosts', 'WARNING', `${ann.hostname} is not in the hosts file ${inputs.hosts?.file ?? ''}`.trim());
  }
}

/** The flags that need the units' states: scheduling, failures, crash loops, sidekicks, what runs unannounced. */
function flagUnit(row: Row, g: Group, inputs: StatusInputs, factsOf: FactsOf, cluster: string | null, add: (code: StatusFlag['code'], severity: StatusFlag['severity'], message: string) => void): void {
  const u = inputs.units.find((x) => x.name === row.unit);
  const running = row.active === 'active';
  const ann = row.announcement;
  if (!u && row.load === null) {
    add('not-loaded', 'WARNING', inputs.source === 'fleet' ? 'not loaded in fleet' : 'systemd has no such unit');
  } else if (inputs.source === 'systemd' && row.load === 'not-found') {
    add('not-loaded', 'WARNING', 'systemd has no such unit');
  }
  if (u && inputs.source === 'fleet' && !g.global && !u.machineID && u.desiredState !== 'inactive' && !parseXFleet({ name: u.name, options: u.options }).global) {
    add('unscheduled', 'ERROR', `never scheduled: ${unscheduledReason(u, inputs.units, inputs.states, inputs.machines)}`);
  }
  const known = row.machine ? factsOf(row.machine.id, row.unit) : undefined;
  const facts = known?.record;
  const exit = row.lastExit !== null && row.lastExit !== undefined ? `, last exit status ${row.lastExit}` : '';
  // A unit whose container waits inside it for its dependencies (`fleetkit await`) is active yet has no
  // container: say what it waits for, not "running but not announced". With no facts the container is taken
  // as not started only while nothing announces it (the wait starts docker only once every dependency is there).
  const deps = inputs.spec?.services.find((s) => s.name === g.name)?.dependsOn ?? [];
  const waiting = deps.length && inputs.announcementsError === undefined
    ? waitingFor({
      unitActive: running,
      containerRunning: facts ? facts.phase === 'running' : ann ? undefined : false,
      deps,
      announced: new Set(inputs.announcements.map((kv) => kv.key)),
    })
    : undefined;
  if (row.active === 'failed') add('failed', 'ERROR', `failed (systemd ${row.active}/${row.sub ?? '?'}${exit})`);
  // A unit waiting to restart, or one restarted 3 times or more and up for less than a minute, is a crash loop.
  else if (row.sub === 'auto-restart' || ((row.restarts ?? 0) >= CRASH_LOOP_RESTARTS && !upFor(inputs, row.unit, facts, CRASH_LOOP_WINDOW_MS))) {
    add('crash-loop', 'ERROR', `crash loop: ${row.sub === 'auto-restart' ? 'waiting to restart' : `now ${row.active}/${row.sub ?? '?'}`}, restarted ${row.restarts ?? '?'} times${exit}`);
  } else if (waiting) {
    add('waiting', 'WARNING', waiting);
  } else if (running && facts && facts.phase !== 'running') {
    // The unit is up but its agent saw the container exit: the unit's command outlived its container.
    add('crash-loop', 'ERROR', `the container ${facts.phase === 'absent' ? 'is gone' : `exited (status ${facts.lastExit ?? '?'})`} while the unit is ${row.active}/${row.sub ?? '?'}`);
  } else if (running && row.restarts === undefined && !facts && row.machine && expectsFacts(u, inputs.spec?.services.some((s) => s.name === g.name) ?? false) && factsOverdue(inputs, row.machine.id, row.unit)) {
    // No restart count from the host and none from the agent: whether it loops is unknown, and unknown is not healthy.
    add('facts-unknown', 'WARNING', factsUnknownMessage(inputs, row.machine, cluster, known));
  }
  const old = running ? oldConfigMessage(u, facts) : undefined;
  if (old) add('old-config', 'ERROR', old);
  // The sidekick is not a row of its own: its state is said on its container's row.
  const sidekick = sidekickName(g.name, row.instance);
  const sk = g.announces ? inputs.states.find((s) => s.name === sidekick && (s.machineID === row.machine?.id || inputs.source === 'systemd')) : undefined;
  const skFailed = sk !== undefined && (sk.activeState === 'failed' || sk.subState === 'auto-restart');
  if (skFailed && (running || ann)) {
    add('sidekick-failed', 'ERROR', `its sidekick ${sidekick} is ${sk.activeState}/${sk.subState ?? '?'}${ann ? '' : ': the container is not announced'}`);
  } else if (running && g.announces && !ann && facts?.phase === 'running' && facts.refused !== undefined) {
    // Its agent will not announce this container (no usable address): it never will while it runs.
    add('not-announced', 'ERROR', `running but never announced: the agent refuses to announce its container: ${facts.refused}`);
  } else if (running && g.announces && !ann && !waiting && inputs.announcementsError === undefined) {
    add('not-announced', 'WARNING', `running but not announced${sk?.activeState && sk.activeState !== 'active' ? ` (its sidekick ${sidekick} is ${sk.activeState})` : ''}`);
  }
  if (ann && !running) {
    add('not-running', 'WARNING', `announced${ann.ip ? ` as ${ann.ip}` : ''} but not running`);
  }
}

function machineRows(inputs: StatusInputs): MachineStatus[] {
  const out = new Map<string, MachineStatus & { names: Set<string> }>();
  for (const m of inputs.machines) {
    out.set(m.id, { id: m.id, ip: m.primaryIP ?? null, metadata: { ...m.metadata }, on: true, units: 0, names: new Set() });
  }
  const touch = (id: string | undefined, name: string): void => {
    if (!id || unitParts(name).template) return;
    let m = out.get(id);
    if (!m) out.set(id, (m = { id, ip: null, metadata: {}, on: false, units: 0, names: new Set() }));
    m.names.add(name);
  };
  for (const u of inputs.units) touch(u.machineID, u.name);
  for (const s of inputs.states) if (s.loadState !== 'not-found') touch(s.machineID, s.name);
  return [...out.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map(({ names, ...m }) => ({ ...m, units: names.size }));
}

