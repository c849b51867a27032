// Where a real fleetd v1.0.0 (3 machines, 2026-12) behaved differently from a naive model, the test server
// behaves like fleetd: the metadata PATCH error text, a global unit's currentState, a launched template, the
// failed state a stopped container unit leaves, the agent's pace (one unload per machine per 5 s reconcile,
// global states republished every 24 s) and a replace of a running unit whose queued stop is replaced by
// its start. Derived from fleet's api/units.go, api/machines.go, engine/reconciler.go and the recorded runs
// in reference/fleet.md.
import t from 'tap';
import { rawRequest } from './raw-request.js';
import { AGENT_RECONCILE_MS, fleetServerPart, type AgentUnit, type FleetServer, type MachineView } from './server.js';
import { REPUBLISH_MS } from './cluster.js';

// A machine's republish phase is its id's last 6 hex digits in ms, modulo 24 s.
const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaa000000'; // republishes at 0 s, 24 s, 48 s … of the server's clock
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbb001388'; // at 5 s, 29 s …
const C = 'cccccccccccccccccccccccccc0055f0'; // at 22 s, 46 s …
const phases: Record<string, number> = { [A]: 0, [B]: 5_000, [C]: 22_000 };
const three = [
  { id: A, primaryIP: '10.0.0.1', metadata: { role: 'web' } },
  { id: B, primaryIP: '10.0.0.2', metadata: { role: 'web' } },
  { id: C, primaryIP: '10.0.0.3', metadata: { role: 'web' } },
];

type Opt = { section: string; name: string; value: string };
const svc = (exec: string, extra: Opt[] = []): Opt[] => [{ section: 'Service', name: 'ExecStart', value: exec }, ...extra];

async function put(s: FleetServer, name: string, body: object): Promise<{ status: number; body: string }> {
  const res = await rawRequest(s, 'tcp', { method: 'PUT', path: `/fleet/v1/units/${name}`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (res.crashed) throw new Error(`PUT ${name}: connection dropped`);
  return { status: res.status, body: res.body };
}
async function get(s: FleetServer, path: string): Promise<string> {
  const res = await rawRequest(s, 'tcp', { method: 'GET', path });
  if (res.crashed) throw new Error(`GET ${path}: connection dropped`);
  return res.body;
}
/** Resolves once `pred` holds, checking after every transition the server applies (bounded). */
async function until(pred: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`not reached within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('PATCH /machines with a string value: the Go decoder error names the anonymous struct with its tag', async (t) => {
  const s = await fleetServerPart(t, { machines: three });
  const res = await rawRequest(s, 'tcp', {
    method: 'PATCH',
    path: '/fleet/v1/machines',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ op: 'add', path: `/${A}/metadata/zone`, value: 'z1' }]),
  });
  t.same(res.crashed ? null : [res.status, JSON.parse(res.body)], [400, {
    error: { code: 400, message: 'json: cannot unmarshal string into Go struct field machineMetadataOp.Value of type struct { Value string "json:\\"value\\"" }' },
  }]);
  t.same(s.machines().find((m) => m.id === A)?.metadata, { role: 'web' }, 'nothing changed');
});

t.test('a global unit that runs everywhere is listed inactive, without machineID; /state holds the truth', async (t) => {
  const s = await fleetServerPart(t, { machines: three });
  t.equal((await put(s, 'agent.service', { desiredState: 'launched', options: svc('/bin/sleep 1', [{ section: 'X-Fleet', name: 'Global', value: 'true' }]) })).status, 201);
  t.equal(s.states().filter((x) => x.state.activeState === 'active').length, 3, 'active on all three machines');
  const listed = JSON.parse(await get(s, '/fleet/v1/units')) as { units: Record<string, unknown>[] };
  t.same([listed.units[0]?.['currentState'], 'machineID' in (listed.units[0] ?? {})], ['inactive', false]);
  t.match(await get(s, '/fleet/v1/units/agent.service'), /"currentState":"inactive","desiredState":"launched","name":"agent.service"/);
});

t.test('a template created launched is scheduled like any unit but never runs; activating it later is refused', async (t) => {
  const loads: string[] = [];
  const s = await fleetServerPart(t, { machines: three, agent: { onLoad: (u) => void loads.push(u.name) } });
  t.equal((await put(s, 't@.service', { desiredState: 'launched', options: svc('/bin/true') })).status, 201);
  const tpl = s.units().find((u) => u.name === 't@.service');
  t.same([tpl?.desiredState, tpl?.currentState], ['launched', 'inactive']);
  t.equal(tpl?.machineID, A, 'the engine placed it (least loaded, lowest id)');
  t.same([s.states(), loads], [[], []], 'no agent loads it and no state is published');
  // It counts as load for the scheduler: the next unit goes elsewhere.
  await put(s, 'next.service', { desiredState: 'launched', options: svc('/bin/true') });
  t.equal(s.units().find((u) => u.name === 'next.service')?.machineID, B);
  const again = await put(s, 't@.service', { desiredState: 'launched' });
  t.same([again.status, JSON.parse(again.body).error.message], [400, 'cannot activate template "t@.service"']);
});

t.test('stopping a unit whose main process is docker run leaves it failed (exit 143) unless 143 is a success', async (t) => {
  const s = await fleetServerPart(t, { machines: three.slice(0, 1) });
  const docker = '/usr/bin/docker run --rm --name web-1 nginx:1.25';
  await put(s, 'web@1.service', { desiredState: 'launched', options: svc(docker, [{ section: 'Service', name: 'ExecStop', value: '/usr/bin/docker stop web-1' }]) });
  await put(s, 'web@2.service', { desiredState: 'launched', options: svc(docker.replace(/1/g, '2'), [{ section: 'Service', name: 'SuccessExitStatus', value: '143' }]) });
  await put(s, 'plain.service', { desiredState: 'launched', options: svc('/bin/sleep 1000') });
  t.same(s.states().map((x) => x.state.activeState), ['active', 'active', 'active']);
  for (const n of ['web@1.service', 'web@2.service', 'plain.service']) await put(s, n, { desiredState: 'loaded' });
  const after = Object.fromEntries(s.states().map((x) => [x.name, `${x.state.activeState}/${x.state.subState}`]));
  t.same(after, { 'plain.service': 'inactive/dead', 'web@1.service': 'failed/failed', 'web@2.service': 'inactive/dead' });
  t.same(s.units().map((u) => u.currentState), ['loaded', 'loaded', 'loaded'], 'fleet says loaded all the same');
});

t.test('replacing a running unit with a running sidekick bound to it: new hash published, old process stays', async (t) => {
  const calls: string[] = [];
  const rec = (what: string) => (u: AgentUnit): void => void calls.push(`${what} ${u.name} ${u.hash.slice(0, 7)}`);
  const s = await fleetServerPart(t, { machines: three.slice(0, 1), agent: { onLoad: rec('load'), onLaunch: rec('launch'), onStop: rec('stop'), onUnload: rec('unload') } });
  const sidekick = [
    { section: 'Unit', name: 'BindsTo', value: 'web@%i.service' },
    { section: 'Unit', name: 'After', value: 'web@%i.service' },
    { section: 'Service', name: 'ExecStart', value: '/usr/bin/fleetkit announce --key web/1' },
    { section: 'X-Fleet', name: 'MachineOf', value: 'web@1.service' },
  ];
  await put(s, 'web@1.service', { desiredState: 'launched', options: svc('/usr/bin/docker run --rm web:1') });
  await put(s, 'web-discovery@1.service', { desiredState: 'launched', options: sidekick });
  await put(s, 'solo.service', { desiredState: 'launched', options: svc('/usr/bin/docker run --rm solo:1') });
  calls.length = 0;
  await put(s, 'web@1.service', { desiredState: 'launched', options: svc('/usr/bin/docker run --rm web:2') });
  const newHash = s.units().find((u) => u.name === 'web@1.service')!.hash;
  t.same(calls.map((c) => c.split(' ').slice(0, 2).join(' ')), ['load web@1.service', 'stop web-discovery@1.service', 'launch web-discovery@1.service'],
    'the file is rewritten and only the sidekick restarts: no unload or launch of web@1');
  t.same(s.states().filter((x) => x.name === 'web@1.service').map((x) => [x.hash, x.state.activeState]), [[newHash, 'active']], 'fleet reports the new hash running');
  calls.length = 0;
  await put(s, 'solo.service', { desiredState: 'launched', options: svc('/usr/bin/docker run --rm solo:2') });
  t.same(calls.map((c) => c.split(' ').slice(0, 2).join(' ')), ['unload solo.service', 'load solo.service', 'launch solo.service'], 'nothing bound to it: a real restart');
});

t.test('fleet pace, scaled: one unload per machine per reconcile; a global unit appears per machine at its republish', async (t) => {
  const timeScale = 0.01; // 5 s → 50 ms, 24 s → 240 ms
  const tick = AGENT_RECONCILE_MS * timeScale;
  const launchedAt = new Map<string, number>();
  const unloads: { at: number; left: number }[] = [];
  let s: FleetServer | undefined;
  s = await fleetServerPart(t, {
    machines: three,
    agent: {
      fleetPace: { timeScale },
      onLaunch: (u: AgentUnit, m: MachineView) => void (u.name === 'g.service' && launchedAt.set(m.id, s!.clock())),
      onUnload: (u: AgentUnit) => void (u.name.startsWith('u') && unloads.push({ at: s!.clock(), left: s!.states().filter((x) => x.name.startsWith('u')).length })),
    },
  });
  const server = s;
  await put(server, 'g.service', { desiredState: 'launched', options: svc('/bin/sleep 1000', [{ section: 'X-Fleet', name: 'Global', value: 'true' }]) });
  const seenAt = new Map<string, number>();
  await until(() => {
    for (const x of server.states()) if (x.name === 'g.service' && !seenAt.has(x.machineID)) seenAt.set(x.machineID, server.clock());
    return seenAt.size === 3;
  }, 'g.service published by all three machines');
  const period = REPUBLISH_MS * timeScale;
  for (const m of [A, B, C]) {
    const phase = phases[m]! * timeScale;
    const started = launchedAt.get(m)!;
    const due = phase + (Math.floor((started - phase) / period) + 1) * period;
    t.ok(seenAt.get(m)! >= due, `machine ${m.slice(0, 1)}: started at ${Math.round(started)}, published at ${Math.round(seenAt.get(m)!)}, not before its republish at ${Math.round(due)}`);
  }

  for (const n of ['u1', 'u2', 'u3']) await put(server, `${n}.service`, { desiredState: 'launched', options: svc('/bin/sleep 1000', [{ section: 'X-Fleet', name: 'MachineID', value: A }]) });
  await until(() => server.states().filter((x) => x.name.startsWith('u') && x.state.activeState === 'active').length === 3, 'u1..u3 active on A');
  for (const n of ['u1', 'u2', 'u3']) await put(server, `${n}.service`, { desiredState: 'inactive' });
  await until(() => unloads.length === 3, 'three unloads');
  t.same(unloads.map((u) => u.left), [2, 1, 0], 'one at a time (each hook runs once its unit left /state)');
  for (let i = 1; i < unloads.length; i++) t.ok(unloads[i]!.at - unloads[i - 1]!.at >= tick * 0.9, `unload ${i + 1} came a reconcile after unload ${i}`);
});

t.test('fleet pace at real time: two unloads on one machine are a reconcile (5 s) apart', async (t) => {
  const unloads: number[] = [];
  let s: FleetServer | undefined;
  s = await fleetServerPart(t, { machines: three.slice(0, 1), agent: { fleetPace: { timeScale: 1 }, onUnload: () => void unloads.push(s!.clock()) } });
  for (const n of ['a', 'b']) await put(s, `${n}.service`, { desiredState: 'loaded', options: svc('/bin/sleep 1000') });
  await until(() => s.states().length === 2, 'both loaded', 15_000);
  for (const n of ['a', 'b']) await put(s, `${n}.service`, { desiredState: 'inactive' });
  await until(() => unloads.length === 2, 'both unloaded', 15_000);
  t.ok(unloads[1]! - unloads[0]! >= AGENT_RECONCILE_MS * 0.95, `second unload ${Math.round(unloads[1]! - unloads[0]!)} ms after the first`);
});

t.test('fleet pace: a changed unit is unloaded, loaded and started in one reconcile, as fleet\'s agent queues them', async (t) => {
  // agent/reconcile.go, calculateTasksForUnit: a hash that differs queues UnloadUnit, LoadUnit and StartUnit at once.
  const timeScale = 0.2; // a reconcile every second
  const at: Record<string, number> = {};
  let s: FleetServer | undefined;
  const rec = (what: string) => (u: AgentUnit): void => void (u.name === 'w.service' && (at[what] = s!.clock()));
  s = await fleetServerPart(t, { machines: three.slice(0, 1), agent: { fleetPace: { timeScale }, onUnload: rec('unload'), onLoad: rec('load'), onLaunch: rec('launch') } });
  const server = s;
  await put(server, 'w.service', { desiredState: 'launched', options: svc('/bin/sleep 1000') });
  await until(() => server.states().some((x) => x.name === 'w.service' && x.state.activeState === 'active'), 'w.service active', 15_000);
  t.ok(at['launch']! - at['load']! < AGENT_RECONCILE_MS * timeScale, 'a new unit is loaded and started in the same reconcile');
  await put(server, 'w.service', { desiredState: 'launched', options: svc('/bin/sleep 2000') });
  const hash = server.units()[0]!.hash;
  await until(() => server.states().some((x) => x.name === 'w.service' && x.hash === hash && x.state.activeState === 'active'), 'the new version active', 15_000);
  t.ok(at['unload']! <= at['load']! && at['load']! <= at['launch']!, 'unload, load, start in that order');
  t.ok(at['launch']! - at['unload']! < AGENT_RECONCILE_MS * timeScale, `unload to start ${Math.round(at['launch']! - at['unload']!)} ms: one reconcile, not three`);
});
