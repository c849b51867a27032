/**
 * The unit commands against the local systemd: unit files compared by content (unchanged files are not
 * written), written atomically, one `Reload` per batch, `[Install]` honoured, jobs started in parallel and
 * awaited through `JobRemoved`, then `ActiveState` verified. A failed unit is reported with its `Result` and
 * its last journal lines.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFleetkitError } from '../errors.js';
import { journalTail } from '../journal/journal-tail.js';
import { SystemdManager, type SystemdUnitState } from '../systemd/systemd-manager.js';
import { listUnitFiles, readUnitFileText, removeUnitFile, unitDirFor, writeUnitFile } from '../systemd/unit-dir.js';
import { isTemplate, templateOf } from '../unit/names.js';
import { mapLimit } from './unit-pool.js';
import { clusterOfText } from '../unit/cluster-marker.js';
import { diffLines, findStale, planChanges, type ChangeKind, type DesiredUnit } from './unit-plan.js';
import type { UnitOutcome } from './unit-report.js';
import type { UnitSelection } from './unit-sources.js';
import type { UnitRunOptions, UnitRunResult, UnitVerb } from './unit-run.js';

/** A context shared by the steps of one run. */
interface Ctx {
  readonly mgr: SystemdManager;
  readonly dir: string;
  readonly o: UnitRunOptions;
}

function message(e: unknown): string {
  return isFleetkitError(e) ? e.message : (e as Error)?.message ?? String(e);
}

const hasInstall = (text: string): boolean => /^\[Install\]\s*$/m.test(text);

/** Runs a unit command against systemd (user or system manager). */
export async function runSystemd(sel: UnitSelection, verb: UnitVerb, o: UnitRunOptions): Promise<UnitRunResult> {
  if (sel.kind !== 'names' && sel.desired.some((d) => d.unit.options.some((x) => x.section === 'X-Fleet'))) {
    o.warn('[X-Fleet] schedules units across a fleet cluster and means nothing on one host: systemd ignores that section, the units are loaded here as they are');
  }
  const dir = unitDirFor({ user: o.user, runtime: o.runtime, unitDir: o.unitDir, env: o.env });
  const mgr = await SystemdManager.connect({ user: o.user, env: o.env });
  const ctx: Ctx = { mgr, dir, o };
  try {
    if (verb === 'destroy') return await destroy(ctx, sel);
    if (sel.kind === 'names') return { outcomes: await jobs(ctx, sel.names, verb === 'start' ? 'start' : 'stop', new Set(), verb === 'unload'), stale: [] };
    if (verb === 'stop' || verb === 'unload') return { outcomes: await jobs(ctx, sel.desired.filter((d) => d.start).map((d) => d.unit.name), 'stop', new Set(), verb === 'unload'), stale: [] };
    return await load(ctx, sel, verb === 'start' || o.start);
  } finally {
    mgr.close();
  }
}

async function load(ctx: Ctx, sel: Exclude<UnitSelection, { kind: 'names' }>, start: boolean): Promise<UnitRunResult> {
  const { mgr, dir, o } = ctx;
  const files = new Map<string, string>();
  for (const d of sel.desired) files.set(d.file, d.text);
  const names = [...files.keys()];
  const have = new Map<string, string>();
  for (const n of names) {
    const t = await readUnitFileText(dir, n);
    if (t !== undefined) have.set(n, t);
  }
  const plan = new Map(planChanges(names.map((n) => ({ name: n, key: files.get(n)! })), have, o.replace).map((p) => [p.name, p.kind]));
  const kindOf = (d: DesiredUnit): ChangeKind => plan.get(d.file)!;
  if ([...plan.values()].includes('conflict')) {
    const outcomes = sel.desired.map((d): UnitOutcome => kindOf(d) === 'conflict'
      ? { name: d.unit.name, change: 'conflict', state: undefined, ok: false, error: `${join(dir, d.file)} differs; nothing was changed (use --replace to replace it)`, diff: diffLines(lines(have.get(d.file)!), lines(d.text)) }
      : { name: d.unit.name, change: kindOf(d) === 'create' ? 'none' : 'unchanged', state: undefined, ok: true });
    return { outcomes, stale: [] };
  }
  const written = names.filter((n) => plan.get(n) === 'create' || plan.get(n) === 'replace');
  const paths = await Promise.all(written.map((n) => writeUnitFile(dir, n, files.get(n)!)));

  let stale: string[] = [];
  if (sel.kind === 'spec') {
    const onDisk = await listUnitFiles(dir);
    stale = findStale(onDisk.map((f) => ({ name: f.name, cluster: clusterOfText(f.text) })), sel.cluster, new Set(names));
  }
  const pruned = o.prune && stale.length ? await removeUnits(ctx, stale) : [];
  if (written.length || pruned.length) {
    // Units written outside the manager's search path (--unit-dir) are linked into it.
    if (paths.length && !(await mgr.unitPath()).includes(dir)) await mgr.link(paths, o.runtime);
    await mgr.reload();
  }
  const toEnable = sel.desired.filter((d) => written.includes(d.file) && hasInstall(d.text) && !isTemplate(d.unit.name)).map((d) => d.unit.name);
  await mgr.enable([...new Set(toEnable)], o.runtime);

  const change = (d: DesiredUnit): UnitOutcome['change'] => ({ create: 'created', replace: 'replaced', unchanged: 'unchanged', conflict: 'conflict' } as const)[kindOf(d)];
  const startUnits = sel.desired.filter((d) => d.start);
  const replaced = new Set(startUnits.filter((d) => kindOf(d) === 'replace').map((d) => d.unit.name));
  const ran = start ? await jobs(ctx, startUnits.map((d) => d.unit.name), 'start', replaced, false) : [];
  const ranBy = new Map(ran.map((r) => [r.name, r]));
  const outcomes = sel.desired.map((d): UnitOutcome => {
    const r = ranBy.get(d.unit.name);
    return r ? { ...r, change: change(d) } : { name: d.unit.name, change: change(d), state: undefined, ok: true };
  });
  return { outcomes: [...outcomes, ...pruned], stale };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l, i, a) => !(i === a.length - 1 && l === ''));
}

/**
 * Starts (restarting `restart` ones) or stops units in parallel and waits for their jobs, then verifies
 * their ActiveState. `disable` (unload) also removes their enablement.
 */
async function jobs(ctx: Ctx, names: readonly string[], what: 'start' | 'stop', restart: ReadonlySet<string>, disable: boolean): Promise<UnitOutcome[]> {
  const { mgr, o } = ctx;
  const progress = o.wait ? o.progress(names.length, what === 'start' ? 'started' : 'stopped') : undefined;
  let lastDone = Date.now();
  const results = await mapLimit(names, o.parallel, async (name) => {
    const method = what === 'stop' ? 'StopUnit' : restart.has(name) ? 'RestartUnit' : 'StartUnit';
    const result = await mgr.job(method, name, o.wait ? o.timeoutMs : 0, o.wait);
    lastDone = Date.now();
    if (disable) {
      const file = (await readUnitFileText(ctx.dir, name)) !== undefined ? name : undefined;
      if (file) await mgr.disable([file], o.runtime);
    }
    return result;
  });
  const jobResult = new Map<string, string>();
  const outcomes = new Map<string, UnitOutcome>();
  results.forEach((r, i) => {
    const name = names[i]!;
    if (r.status === 'rejected') {
      outcomes.set(name, { name, change: 'none', state: undefined, ok: false, error: message(r.reason) });
      progress?.settled(name, 'failed', false, message(r.reason));
    } else {
      jobResult.set(name, r.value);
    }
  });
  if (!o.wait) return names.map((n) => outcomes.get(n) ?? { name: n, change: 'none', state: what === 'start' ? 'starting' : 'stopping', ok: true });

  const pending = [...jobResult.keys()];
  let states = await verify(ctx, pending, what);
  if (what === 'start' && o.settleMs > 0 && pending.some((n) => states.get(n)?.activeState === 'active')) {
    // A Type=simple service is `active` as soon as it is forked: one whose command fails at once (a bad
    // binary, a container that exits) turns `failed` a moment later. Look again once the last job is
    // `settleMs` old (earlier ones are older still).
    // Guarantee: a unit reported started was `active` in one ListUnitsByNames read taken at least
    // `settleMs` after its start job ended; one that exits within that time is reported failed (unless
    // Restart= has brought it back to `active` by the read: this is a look, not a watch). The wait is the
    // guarantee itself, not overhead: watching PropertiesChanged instead could only report failures sooner,
    // never end the window for the units that stay up, and needs `Subscribe`, which makes systemd emit
    // signals for every unit and slows the starts themselves (see systemd-manager.ts).
    await sleep(Math.max(0, lastDone + o.settleMs - Date.now()));
    states = new Map([...states, ...(await ctx.mgr.states(pending))]);
  }
  await Promise.all(pending.map(async (name) => {
    const s = states.get(name);
    const active = s?.activeState ?? 'unknown';
    const ok = what === 'start' ? active === 'active' : active === 'inactive' || active === 'failed' || s?.loadState === 'not-found';
    let out: UnitOutcome = { name, change: 'none', state: ok && what === 'stop' ? 'inactive' : active, ok };
    if (!ok) {
      const job = jobResult.get(name)!;
      const result = s ? await mgr.serviceResult(s.path) : undefined;
      const journal = await tail(ctx, name);
      out = {
        ...out,
        error: `${what === 'start' ? 'did not start' : 'did not stop'}: ${job !== 'done' ? `job ${job}` : `now ${active}/${s?.subState ?? '?'}`}`,
        ...(result ? { result } : {}),
        journal,
      };
    }
    outcomes.set(name, out);
    progress?.settled(name, out.state ?? '', ok, out.error);
  }));
  progress?.finish();
  return names.map((n) => outcomes.get(n)!);
}

/**
 * Reads all states in one call; units still `activating`/`deactivating` (start-up commands, Type=notify)
 * are polled until they leave that state or the timeout passes.
 */
async function verify(ctx: Ctx, names: readonly string[], what: 'start' | 'stop'): Promise<Map<string, SystemdUnitState>> {
  const deadline = Date.now() + ctx.o.timeoutMs;
  let states = await ctx.mgr.states(names);
  const moving = (s: SystemdUnitState | undefined): boolean => s?.activeState === (what === 'start' ? 'activating' : 'deactivating') || s?.activeState === 'reloading';
  while (names.some((n) => moving(states.get(n))) && Date.now() < deadline) {
    await sleep(100);
    states = new Map([...states, ...(await ctx.mgr.states(names.filter((n) => moving(states.get(n)))))]);
  }
  return states;
}

/**
 * The last journal lines. journald may lag the failure: systemd's own "Failed with result" line (sent over
 * the native protocol) can be indexed before the service's last stdout lines (a stream). So the journal is
 * read until that line is there, then once more a moment later; never longer than two seconds.
 */
async function tail(ctx: Ctx, name: string): Promise<string[]> {
  const deadline = Date.now() + 2000;
  const read = () => journalTail(name, { user: ctx.o.user, dir: ctx.o.journalDir, lines: 10, env: ctx.o.env });
  for (;;) {
    const lines = await read();
    if (lines.some((l) => /Failed with result/.test(l))) {
      await sleep(200);
      return read();
    }
    if (Date.now() > deadline) return lines;
    await sleep(100);
  }
}

/** Stops, disables and removes units whose files are in the unit dir; instances of removed templates too. */
async function removeUnits(ctx: Ctx, files: readonly string[]): Promise<UnitOutcome[]> {
  const { mgr, dir, o } = ctx;
  const out: UnitOutcome[] = [];
  for (const file of files) {
    if ((await readUnitFileText(dir, file)) === undefined) {
      out.push({ name: file, change: 'absent', state: 'absent', ok: true });
      continue;
    }
    const units = isTemplate(file) ? (await mgr.unitsMatching([file.replace('@.', '@*.')])).map((s) => s.name) : [file];
    const stopped = units.length ? await jobs(ctx, units, 'stop', new Set(), false) : [];
    const failed = stopped.filter((s) => !s.ok);
    if (failed.length) {
      out.push(...failed);
      continue;
    }
    if (!isTemplate(file)) await mgr.disable([file], o.runtime).catch(() => undefined);
    await removeUnitFile(dir, file);
    for (const u of units) await mgr.resetFailed(u);
    out.push({ name: file, change: 'pruned', state: 'removed', ok: true });
  }
  return out;
}

async function destroy(ctx: Ctx, sel: UnitSelection): Promise<UnitRunResult> {
  const { mgr, dir } = ctx;
  let files: string[];
  if (sel.kind === 'names') {
    // Units systemd does not know and that have no file here are already gone: nothing to stop.
    const known = await mgr.states(sel.names);
    const present: string[] = [];
    for (const n of sel.names) {
      const file = (await readUnitFileText(dir, n)) !== undefined || (await readUnitFileText(dir, templateOf(n) ?? n)) !== undefined;
      if (file || known.get(n)?.loadState !== 'not-found') present.push(n);
    }
    const stoppedPresent = await jobs(ctx, present, 'stop', new Set(), false);
    const stopped = sel.names.map((n): UnitOutcome => stoppedPresent.find((s) => s.name === n) ?? { name: n, change: 'absent', state: 'absent', ok: true });
    // An instance's file is its template's: removed only when no other instance of it is still loaded.
    files = [];
    for (const n of sel.names) {
      const t = templateOf(n);
      if (!t) files.push(n);
      else if ((await mgr.unitsMatching([t.replace('@.', '@*.')])).every((s) => sel.names.includes(s.name) || s.activeState !== 'active')) files.push(t);
    }
    const removed = await removeFiles(ctx, files, sel.names);
    return {
      outcomes: stopped.map((s) => (s.change === 'absent' ? s : { ...s, change: s.ok ? (removed.has(s.name) || removed.has(templateOf(s.name) ?? '') || present.includes(s.name) ? 'destroyed' : 'absent') : 'none' })),
      stale: [],
    };
  }
  files = [...new Set(sel.desired.map((d) => d.file))];
  if (sel.kind === 'spec') {
    for (const f of await listUnitFiles(dir)) if (clusterOfText(f.text) === sel.cluster && !files.includes(f.name)) files.push(f.name);
  }
  const outcomes = await removeUnits(ctx, files);
  await mgr.reload();
  return { outcomes: outcomes.map((x) => (x.change === 'pruned' ? { ...x, change: 'destroyed' as const } : x)), stale: [] };
}

async function removeFiles(ctx: Ctx, files: readonly string[], units: readonly string[]): Promise<Set<string>> {
  const removed = new Set<string>();
  for (const f of files) {
    if (!isTemplate(f)) await ctx.mgr.disable([f], ctx.o.runtime).catch(() => undefined);
    if (await removeUnitFile(ctx.dir, f)) removed.add(f);
  }
  await ctx.mgr.reload();
  for (const u of units) await ctx.mgr.resetFailed(u);
  return removed;
}
