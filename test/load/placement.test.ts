/**
 * fleet's placement rules (`src/load/placement.ts`) against the tables of fleet's own tests
 * (machine/machine_test.go TestHasMetadata*, agent/state_test.go TestHasConflicts, TestHasReplaces and
 * TestGlobMatches, fleet v1.0.0), then the engine's choices: least-loaded machine with ties by id, MachineOf,
 * MachineID, Global with metadata, and the sentence for each unit that no machine can take.
 */
import t from 'tap';
import { conflictsWith, hasMetadata, placeUnits, type PlacementMachine, type PlacementUnit } from '../../src/load/placement.js';
import { parseXFleet } from '../../src/unit/xfleet.js';

const M1 = '1'.repeat(32);
const M2 = '2'.repeat(32);
const M3 = '3'.repeat(32);
const machine = (id: string, metadata: Record<string, string> = {}): PlacementMachine => ({ id, metadata });
/** A unit from `[X-Fleet]` lines, as fleet's tests build them (`fleetUnit(t, "Conflicts=bar.service")`). */
function unit(name: string, xfleet: string[] = [], o: { desiredState?: string; machineID?: string } = {}): PlacementUnit {
  const options = xfleet.map((l) => ({ section: 'X-Fleet', name: l.slice(0, l.indexOf('=')), value: l.slice(l.indexOf('=') + 1) }));
  return { name, options, desiredState: o.desiredState ?? 'launched', machineID: o.machineID };
}
const job = (u: PlacementUnit) => ({ name: u.name, x: parseXFleet(u) });

t.test('machine.HasMetadata: the table of machine_test.go', async (t) => {
  const cases: [string, Record<string, string>, Record<string, string[]>, boolean][] = [
    ['SimpleMatch', { region: 'us-east-1' }, { region: ['us-east-1'] }, true],
    ['MultiMatch', { groups: 'ping' }, { groups: ['ping', 'pong'] }, true],
    ['SingleMatchFail', { groups: 'ping' }, { groups: ['pong'] }, false],
    ['PartialMatchFail', { region: 'us-east-1', groups: 'ping' }, { region: ['us-east-1'], groups: ['pong'] }, false],
  ];
  for (const [name, metadata, match, want] of cases) t.equal(hasMetadata(machine(M1, metadata), new Map(Object.entries(match))), want, name);
  t.equal(hasMetadata(machine(M1, { region: 'x' }), new Map()), true, 'no requirement: every machine');
});

t.test('AgentState.hasConflict: the table of state_test.go, and its globs', async (t) => {
  t.equal(conflictsWith(job(unit('foo.service', ['Conflicts=bar.service'])), job(unit('baz.service'))), false, 'empty state: no conflict');
  t.equal(conflictsWith(job(unit('foo.service')), job(unit('bar.service', ['Conflicts=foo.service']))), true, 'existing unit conflicts with the new one');
  t.equal(conflictsWith(job(unit('foo.service', ['Conflicts=bar.service'])), job(unit('bar.service'))), true, 'new unit conflicts with the existing one');
  t.equal(conflictsWith(job(unit('web@1.service', ['Conflicts=web@*.service'])), job(unit('web@1.service', ['Conflicts=web@*.service']))), false, 'never with itself');
  const globs: [string, string, boolean][] = [
    ['*', 'foo.service', true], ['foo.*', 'foo.socket', true], ['foo@*.service', 'foo@12.service', true],
    ['foo@[abc].service', 'foo@a.service', true], ['foo@?.service', 'foo@1.service', true],
    ['foo.service', 'bar.service', false], ['foo@[abc].service', 'foo@d.service', false],
  ];
  for (const [pattern, name, want] of globs) t.equal(conflictsWith(job(unit('x.service', [`Conflicts=${pattern}`])), job(unit(name))), want, `${pattern} ~ ${name}`);
});

t.test('AgentState.hasReplace: a one-way Replaces sends the replaced unit elsewhere, a mutual one is ignored', async (t) => {
  const one = [machine(M1)];
  const oneWay = placeUnits([unit('bar.service', ['Replaces=foo.service'], { machineID: M1 }), unit('foo.service')], one);
  t.same(oneWay.where.get('foo.service'), [], 'bar replaces foo: foo cannot join it');
  const mutual = placeUnits([unit('bar.service', ['Replaces=foo.service'], { machineID: M1 }), unit('foo.service', ['Replaces=bar.service'])], one);
  t.same(mutual.where.get('foo.service'), [M1], 'both replace each other: fleet ignores it');
});

t.test('the engine: least-loaded machine, ties by id, units already in fleet stay', async (t) => {
  const ms = [machine(M3), machine(M1), machine(M2)];
  const p = placeUnits([unit('a.service'), unit('b.service'), unit('c.service'), unit('d.service'), unit('old.service', [], { machineID: M2 })], ms);
  t.same(['a', 'b', 'c', 'd', 'old'].map((n) => p.where.get(`${n}.service`)), [[M1], [M3], [M1], [M2], [M2]], 'a→M1 (tie, lowest id), b→M3 (M2 holds old), c→M1, d→M2');
  const inactive = placeUnits([unit('x.service', [], { desiredState: 'inactive', machineID: M1 })], ms);
  t.equal(inactive.where.has('x.service'), false, 'an inactive unit is never placed');
});

t.test('Conflicts: more instances than machines, counting units already in fleet', async (t) => {
  const ms = [machine(M1), machine(M2)];
  const web = (i: number, on?: string) => unit(`web@${i}.service`, ['Conflicts=web@*.service'], on ? { machineID: on } : {});
  const p = placeUnits([web(1), web(2), web(3)], ms);
  t.same([1, 2].map((i) => p.where.get(`web@${i}.service`)![0]).sort(), [M1, M2]);
  t.same([...p.unplaced.keys()], ['web@3.service']);
  t.equal(p.unplaced.get('web@3.service'), 'conflicts with web@1.service on 11111111 and web@2.service on 22222222: every machine that qualifies has a conflicting unit');
  const legacy = placeUnits([unit('legacy.service', ['Conflicts=web@*.service'], { machineID: M2 }), web(1), web(2)], ms);
  t.same([...legacy.unplaced.keys()], ['web@2.service'], 'a unit in fleet that conflicts the other way round takes a machine');
  t.match(legacy.unplaced.get('web@2.service'), /^conflicts with web@1.service on 11111111 and legacy.service on 22222222:/);
});

t.test('MachineMetadata, MachineOf, MachineID and Global', async (t) => {
  const ms = [machine(M1, { role: 'web', disk: 'ssd' }), machine(M2, { role: 'web', disk: 'hdd' }), machine(M3, { role: 'edge' })];
  const p = placeUnits([
    unit('db.service', ['MachineMetadata=role=db']),
    unit('fast.service', ['MachineMetadata="disk=nvme" "disk=ssd"', 'MachineMetadata=role=web']),
    unit('side.service', ['MachineOf=fast.service']),
    unit('orphan.service', ['MachineOf=db.service']),
    unit('pinned.service', [`MachineID=${M3}`]),
    unit('gone.service', [`MachineID=${'4'.repeat(32)}`]),
    unit('mon.service', ['Global=true', 'MachineMetadata=role=web']),
    unit('lb.service', ['Global=true', 'MachineMetadata=role=lb']),
  ], ms);
  t.equal(p.unplaced.get('db.service'), 'no machine has metadata role=db');
  t.same(p.where.get('fast.service'), [M1], 'OR within a key, AND across keys');
  t.same(p.where.get('side.service'), [M1], 'MachineOf follows its target');
  t.equal(p.unplaced.get('orphan.service'), 'MachineOf target db.service is not scheduled');
  t.same(p.where.get('pinned.service'), [M3]);
  t.equal(p.unplaced.get('gone.service'), `MachineID ${'4'.repeat(32)} is not an online machine`);
  t.same(p.where.get('mon.service'), [M1, M2], 'a global unit on every machine whose metadata matches');
  t.equal(p.unplaced.get('lb.service'), 'no machine has metadata role=lb');
  const two = [machine(M1), machine(M2)];
  const a = unit('a.service', [], { machineID: M1 });
  t.same(placeUnits([a, unit('g.service', ['Global=true', 'Conflicts=a.service'])], two).where.get('g.service'), [M2], 'a global unit skips a machine holding a unit it conflicts with');
  const all = placeUnits([a, unit('b.service', [], { machineID: M2 }), unit('g.service', ['Global=true', 'Conflicts=*'])], two);
  t.equal(all.unplaced.get('g.service'), 'conflicts with a.service on 11111111 and b.service on 22222222: every machine that qualifies has a conflicting unit');
  const first = placeUnits([unit('g.service', ['Global=true', 'Conflicts=*']), unit('c.service')], two);
  t.same(first.where.get('g.service'), [M1, M2], 'a global unit that runs first…');
  t.equal(first.unplaced.get('c.service'), 'conflicts with g.service on 11111111 and g.service on 22222222: every machine that qualifies has a conflicting unit', '…keeps a new unit it conflicts with off every machine');
  t.equal(placeUnits([unit('a.service')], []).unplaced.get('a.service'), 'no machine is online');
});
