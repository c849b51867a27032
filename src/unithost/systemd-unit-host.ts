/**
 * The UnitHost of one machine: systemd over D-Bus. Definitions are unit files in a unit directory (compared
 * by content, written atomically, one `Reload` per batch, `[Install]` honoured); target states are jobs
 * started in parallel and awaited through `JobRemoved`, then `ActiveState` verified; states come from one
 * `ListUnitsByNames`, with NRestarts and timestamps for the units that restart.
 */
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFleetkitError } from '../errors.js';
import type { DesiredUnit } from '../load/desired-unit.js';
import { mapLimit } from '../load/pool.js';
import { SystemdManager, type SystemdUnitState } from '../systemd/systemd-manager.js';
import { listUnitFiles, readUnitFileText, removeUnitFile, unitDirFor, writeUnitFile } from '../systemd/unit-dir.js';
import { clusterOfText } from '../unit/cluster-marker.js';
import type { UnitOption } from '../unit/model.js';
import { instancesPattern, isTemplate, templateOf } from '../unit/names.js';
import { instantiate } from '../fleet/instantiate.js';
import { parseUnit } from '../unit/parse.js';
import type { UnitFile } from '../unit/model.js';
import type { BatchOptions, DefinitionRef, HostDefinition, HostView, JournalRef, SubmitItem, TargetItem, UnitChange, UnitHost, UnitResult, UnitState } from './unit-host.js';

export interface SystemdHostOptions {
  /** The user manager (DBUS_SESSION_BUS_ADDRESS) instead of the system manager. */
  readonly user: boolean;
  /** /run instead of /etc. */
  readonly runtime: boolean;
  readonly unitDir: string | undefined;
  /** Journal directory for failure reports (`journalctl -D`). */
  readonly journalDir: string | undefined;
  /** An extra look this long after the last start job, for units whose command may fail at once. Default 0. */
  readonly settleMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly connectTimeoutMs?: number;
}

function message(e: unknown): string {
  return isFleetkitError(e) ? e.message : (e as Error)?.message ?? String(e);
}

const hasInstall = (text: string): boolean => /^\[Install\]\s*$/m.test(text);
const lines = (text: string): string[] => text.split('\n').filter((l, i, a) => !(i === a.length - 1 && l === ''));

export class SystemdUnitHost implements UnitHost {
  readonly endpoint: string;
  private readonly dir: string;

  private constructor(private readonly mgr: SystemdManager, private readonly o: SystemdHostOptions) {
    this.dir = unitDirFor({ user: o.user, runtime: o.runtime, unitDir: o.unitDir, env: o.env });
    this.endpoint = `systemd (${mgr.scope} manager)`;
  }

  static async open(o: SystemdHostOptions): Promise<SystemdUnitHost> {
    const mgr = await SystemdManager.connect({ user: o.user, env: o.env, ...(o.connectTimeoutMs ? { connectTimeoutMs: o.connectTimeoutMs } : {}) });
    return new SystemdUnitHost(mgr, o);
  }

  definitionOf(d: DesiredUnit): DefinitionRef {
    return { id: d.file, key: d.text, lines: lines(d.text) };
  }

  async definitions(ids?: readonly string[]): Promise<Map<string, HostDefinition>> {
    const out = new Map<string, HostDefinition>();
    const add = (name: string, text: string): void => void out.set(name, { id: name, key: text, cluster: clusterOfText(text), target: undefined, lines: lines(text), differs: `${join(this.dir, name)} differs` });
    if (ids === undefined) {
      for (const f of await listUnitFiles(this.dir)) add(f.name, f.text);
      return out;
    }
    for (const id of new Set(ids)) {
      const text = await readUnitFileText(this.dir, id);
      if (text !== undefined) add(id, text);
    }
    return out;
  }

  async units(names: readonly string[]): Promise<Map<string, UnitFile>> {
    const out = new Map<string, UnitFile>();
    for (const name of new Set(names)) {
      // An instance has no file of its own: its template's file is its definition.
      const own = await readUnitFileText(this.dir, name);
      const t = own === undefined ? templateOf(name) : undefined;
      const text = own ?? (t !== undefined && t !== name ? await readUnitFileText(this.dir, t) : undefined);
      if (text === undefined) continue;
      try {
        out.set(name, instantiate(parseUnit(own === undefined ? t! : name, text), name));
      } catch {
        // A file systemd may read but fleetkit cannot parse tells nothing fleetkit can use: left out.
      }
    }
    return out;
  }

  async submit(items: readonly SubmitItem[], _o: BatchOptions): Promise<UnitResult[]> {
    const files = new Map<string, string>();
    for (const { desired: d } of items) files.set(d.file, d.text);
    const paths = await Promise.all([...files].map(([n, text]) => writeUnitFile(this.dir, n, text)));
    // Units written outside the manager's search path (--unit-dir) are linked into it.
    if (paths.length && !(await this.mgr.unitPath()).includes(this.dir)) await this.mgr.link(paths, this.o.runtime);
    await this.mgr.reload();
    const toEnable = items.map((i) => i.desired).filter((d) => hasInstall(d.text) && !isTemplate(d.unit.name)).map((d) => d.unit.name);
    await this.mgr.enable([...new Set(toEnable)], this.o.runtime);
    return [...files.keys()].map((name) => ({ name, ok: true, state: undefined }));
  }

  async setTargets(items: readonly TargetItem[], o: BatchOptions): Promise<UnitResult[]> {
    const out = new Map<string, UnitResult>();
    const groups: Array<[TargetItem['target'], TargetItem[]]> = [['launched', []], ['loaded', []], ['inactive', []]];
    for (const i of items) groups.find((g) => g[0] === i.target)![1].push(i);
    for (const [target, group] of groups) {
      if (!group.length) continue;
      const restart = new Set(group.filter((g) => g.restart).map((g) => g.name));
      for (const r of await this.jobs(group.map((g) => g.name), target === 'launched' ? 'start' : 'stop', restart, target === 'inactive', o)) out.set(r.name, r);
    }
    return items.map((i) => out.get(i.name)!);
  }

  /** Starts (restarting `restart` ones) or stops units in parallel, waits for their jobs, then verifies ActiveState. */
  private async jobs(names: readonly string[], what: 'start' | 'stop', restart: ReadonlySet<string>, disable: boolean, o: BatchOptions): Promise<UnitResult[]> {
    let lastDone = Date.now();
    const results = await mapLimit(names, o.parallel, async (name) => {
      const method = what === 'stop' ? 'StopUnit' : restart.has(name) ? 'RestartUnit' : 'StartUnit';
      const result = await this.mgr.job(method, name, o.wait ? o.timeoutMs : 0, o.wait);
      lastDone = Date.now();
      if (disable && (await readUnitFileText(this.dir, name)) !== undefined) await this.mgr.disable([name], this.o.runtime);
      return result;
    });
    const jobResult = new Map<string, string>();
    const out = new Map<string, UnitResult>();
    results.forEach((r, i) => {
      const name = names[i]!;
      if (r.status === 'rejected') {
        out.set(name, { name, ok: false, state: undefined, error: message(r.reason) });
        o.onSettled?.(out.get(name)!);
      } else jobResult.set(name, r.value);
    });
    if (!o.wait) return names.map((n) => out.get(n) ?? { name: n, ok: true, state: what === 'start' ? 'starting' : 'stopping' });

    const pending = [...jobResult.keys()];
    let states = await this.verify(pending, what, o.timeoutMs);
    if (what === 'start' && this.o.settleMs > 0 && pending.some((n) => states.get(n)?.activeState === 'active')) {
      // --settle: one more look once the last job is settleMs old, for units whose command fails at once.
      await sleep(Math.max(0, lastDone + this.o.settleMs - Date.now()));
      states = new Map([...states, ...(await this.mgr.states(pending))]);
    }
    await Promise.all(pending.map(async (name) => {
      const s = states.get(name);
      const active = s?.activeState ?? 'unknown';
      // A unit in auto-restart is on its way back: the health wait decides about it.
      const ok = what === 'start' ? active === 'active' || s?.subState === 'auto-restart' : active === 'inactive' || active === 'failed' || s?.loadState === 'not-found';
      let r: UnitResult = { name, ok, state: ok && what === 'stop' ? 'inactive' : active };
      if (!ok) {
        const job = jobResult.get(name)!;
        const result = s ? await this.mgr.serviceResult(s.path) : undefined;
        r = { ...r, error: `${what === 'start' ? 'did not start' : 'did not stop'}: ${job !== 'done' ? `job ${job}` : `now ${active}/${s?.subState ?? '?'}`}`, ...(result ? { result } : {}) };
      }
      out.set(name, r);
      o.onSettled?.(r);
    }));
    return names.map((n) => out.get(n)!);
  }

  /** All states in one call; units still `activating`/`deactivating` are polled until they leave that state or the timeout passes. */
  private async verify(names: readonly string[], what: 'start' | 'stop', timeoutMs: number): Promise<Map<string, SystemdUnitState>> {
    const deadline = Date.now() + timeoutMs;
    let states = await this.mgr.states(names);
    // A unit in auto-restart is `activating` until its next try: the health wait judges it, not this loop.
    const moving = (s: SystemdUnitState | undefined): boolean => (s?.activeState === (what === 'start' ? 'activating' : 'deactivating') && s.subState !== 'auto-restart') || s?.activeState === 'reloading';
    while (names.some((n) => moving(states.get(n))) && Date.now() < deadline) {
      await sleep(100);
      states = new Map([...states, ...(await this.mgr.states(names.filter((n) => moving(states.get(n)))))]);
    }
    return states;
  }

  async remove(ids: readonly string[], o: BatchOptions): Promise<UnitResult[]> {
    const out = new Map<string, UnitResult>();
    const files: string[] = [];
    const units: string[] = [];
    for (const id of ids) ((await readUnitFileText(this.dir, id)) !== undefined ? files : units).push(id);
    for (const f of files) out.set(f, await this.removeFile(f, o));
    if (units.length) {
      // Units without a file of their own (instances, or units whose file lies elsewhere): stopped together;
      // an instance's template file goes once no other instance of it runs.
      const known = await this.mgr.states(units);
      const templates = new Map<string, boolean>();
      for (const u of units) {
        const t = templateOf(u);
        if (t && t !== u && !templates.has(t)) templates.set(t, (await readUnitFileText(this.dir, t)) !== undefined);
      }
      const present = units.filter((u) => templates.get(templateOf(u) ?? '') || known.get(u)?.loadState !== 'not-found');
      for (const u of units) if (!present.includes(u)) out.set(u, { name: u, ok: true, state: 'absent', removed: false });
      const stopped = present.length ? await this.jobs(present, 'stop', new Set(), false, o) : [];
      for (const r of stopped) out.set(r.name, r.ok ? { name: r.name, ok: true, state: 'absent', removed: true } : r);
      for (const [t, exists] of templates) {
        if (!exists) continue;
        const running = (await this.mgr.unitsMatching([instancesPattern(t)])).filter((s) => !ids.includes(s.name) && s.activeState === 'active');
        if (!running.length) await removeUnitFile(this.dir, t);
      }
      await this.mgr.reload();
      for (const u of present) await this.mgr.resetFailed(u);
    }
    return ids.map((id) => out.get(id)!);
  }

  /** Stops, disables and removes a unit file; a template's instances are stopped first. */
  private async removeFile(file: string, o: BatchOptions): Promise<UnitResult> {
    const units = isTemplate(file) ? (await this.mgr.unitsMatching([instancesPattern(file)])).map((s) => s.name) : [file];
    const stopped = units.length ? await this.jobs(units, 'stop', new Set(), false, o) : [];
    const failed = stopped.find((s) => !s.ok);
    if (failed) return { ...failed, name: file };
    if (!isTemplate(file)) await this.mgr.disable([file], this.o.runtime).catch(() => undefined);
    await removeUnitFile(this.dir, file);
    await this.mgr.reload();
    for (const u of units) await this.mgr.resetFailed(u);
    return { name: file, ok: true, state: 'removed', removed: true };
  }

  async states(names: readonly string[], o?: { readonly history?: boolean }): Promise<Map<string, UnitState>> {
    const raw = await this.mgr.states(names);
    const out = new Map<string, UnitState>();
    await Promise.all(names.map(async (name) => {
      const s = raw.get(name);
      const h = s && s.loadState !== 'not-found' && name.endsWith('.service') && o?.history !== false ? await this.mgr.serviceHistory(s.path, s) : undefined;
      out.set(name, {
        name,
        loadState: s?.loadState,
        activeState: s?.activeState ?? 'inactive',
        subState: s?.subState,
        machines: [],
        restarts: h?.nRestarts,
        activeSince: s?.activeState === 'active' ? h?.activeSince : undefined,
        result: h?.result,
        exitStatus: h?.exitStatus,
        restartPolicy: h?.restart,
      });
    }));
    return out;
  }

  async view(names: readonly string[]): Promise<HostView> {
    // Every name's state (`not-found` included, which is news); units only for those systemd has.
    const [byName, raw] = await Promise.all([this.states(names), this.mgr.states(names)]);
    const states = [...byName.values()];
    const known = states.filter((s) => s.loadState !== undefined && s.loadState !== 'not-found');
    // Each unit's options as systemd loaded them (its fragment: the template's file for an instance), so that
    // status can tell the config its unit gives from the one its container runs.
    const units = await Promise.all(known.map(async (s) => ({ name: s.name, target: undefined, current: undefined, machine: undefined, options: await this.loadedOptions(s.name, raw.get(s.name)?.path) })));
    return { units, states, machines: [] };
  }

  private async loadedOptions(name: string, unitPath: string | undefined): Promise<UnitOption[]> {
    const file = unitPath ? await this.mgr.fragmentPath(unitPath) : undefined;
    const text = file ? await readUnitFileText(dirname(file), basename(file)).catch(() => undefined) : undefined;
    if (text === undefined) return [];
    try {
      return [...parseUnit(name, text).options];
    } catch {
      return []; // a file systemd reads and fleetkit cannot: its options are unknown, as when there is none
    }
  }

  async watch(names: readonly string[], onChange: (c: UnitChange) => void, signal: AbortSignal): Promise<void> {
    const last = new Map<string, string>();
    while (!signal.aborted) {
      const states = await this.states(names);
      for (const [name, s] of states) {
        const k = `${s.activeState}/${s.subState}/${s.restarts}`;
        if (last.get(name) !== k) {
          last.set(name, k);
          onChange({ name, state: s });
        }
      }
      await sleep(500, undefined, { signal }).catch(() => undefined);
    }
  }

  journalOf(name: string): JournalRef {
    return { unit: name, user: this.o.user, dir: this.o.journalDir, machine: undefined };
  }

  close(): void {
    this.mgr.close();
  }
}
