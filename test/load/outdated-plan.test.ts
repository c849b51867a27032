/**
 * A container older than its unit, in the pure planner: the facts' running config hashes are an input, and a
 * unit whose definition stays but whose container carries another hash is a difference (listed, nothing sent)
 * without --replace, and a restart through the rolling path with it. No facts is no evidence: nothing is said.
 * The same sentence in status (`oldConfigMessage`), and the one facts reduction that yields the hashes.
 */
import t from 'tap';
import { describePlan, plan, type PlanInput, type Step } from '../../src/load/plan.js';
import { splitRolling } from '../../src/load/rolling.js';
import { factsOfRecords } from '../../src/load/facts-source.js';
import { oldConfigMessage } from '../../src/ops/status-facts.js';
import { configHashOfUnit } from '../../src/render/config-hash.js';
import type { DesiredUnit } from '../../src/load/desired-unit.js';
import type { ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import type { HostDefinition } from '../../src/unithost/unit-host.js';

const text = (cmd: string): string => `[Service]\nExecStart=/usr/bin/docker run --rm --name web-%i --label fleetkit.unit=%n local/busybox ${cmd}\n`;
const V2 = text('sleep 2');
const want = configHashOfUnit(V2, 'web@.service')!;
const old = configHashOfUnit(text('sleep 1'), 'web@.service')!;
const unit = (name: string, body: string): DesiredUnit => ({ unit: { name, options: [{ section: 'Service', name: 'ExecStart', value: body.split('ExecStart=')[1]!.trim() }] }, file: 'web@.service', text: body, start: true });
const desired = ['web@1.service', 'web@2.service'].map((n) => unit(n, V2)).map((d) => ({ desired: d, def: { id: d.file, key: d.text, lines: [d.text] } }));
const current = new Map<string, HostDefinition>([['web@.service', { id: 'web@.service', key: V2, cluster: undefined, target: undefined, lines: [V2], differs: 'web@.service differs' }]]);
const input = (o: Partial<PlanInput>): PlanInput => ({ verb: 'load', start: true, replace: false, prune: false, cluster: undefined, desired, names: [], current, removeLast: new Set(), ...o });
const kinds = (steps: Step[]) => steps.map((s) => `${s.kind}:${'name' in s ? s.name : s.id}${s.kind === 'target' ? `=${s.target}${s.restart ? '!' : ''}` : ''}`);

t.test('without --replace: the unit whose container is old is listed, nothing is sent', async (t) => {
  const steps = plan(input({ running: new Map([['web@1.service', [old]], ['web@2.service', [want]]]) }));
  t.same(kinds(steps), ['unchanged:web@.service', 'outdated:web@1.service']);
  t.same(describePlan(steps).at(-1), `differs  web@1.service (its container runs config ${old.slice(0, 12)}, not its unit's ${want.slice(0, 12)}; nothing would be changed without --replace)`);
});

t.test('with --replace: a restart, rolled like a replaced definition, counted as restarted', async (t) => {
  const steps = plan(input({ replace: true, running: new Map([['web@1.service', [old]], ['web@2.service', [want]]]) }));
  t.same(kinds(steps), ['unchanged:web@.service', 'target:web@1.service=launched!', 'target:web@2.service=launched']);
  t.match(describePlan(steps)[1], /^restart  web@1\.service \(its container runs config [0-9a-f]{12}, not its unit's [0-9a-f]{12}\)$/);
  const { groups } = splitRolling(steps, desired.map((x) => ({ desired: x.desired, id: x.def.id })));
  t.same(groups.map((g) => [g.main, [...g.restarted], g.hashes.get(g.main)]), [['web@1.service', ['web@1.service'], want]], 'the roll waits for a container with the unit\'s hash');
});

t.test('no evidence, no difference: no facts, no label, the same hash, --no-start, a stop', async (t) => {
  const plain = ['unchanged:web@.service', 'target:web@1.service=launched', 'target:web@2.service=launched'];
  t.same(kinds(plan(input({}))), plain, 'no facts read');
  t.same(kinds(plan(input({ running: new Map() }))), plain, 'no agent reported a labelled running container');
  t.same(kinds(plan(input({ running: new Map([['web@1.service', [want]]]) }))), plain, 'the running container is current');
  t.same(kinds(plan(input({ start: false, running: new Map([['web@1.service', [old]]]) }))), ['unchanged:web@.service'], '--no-start judges nothing it would not start');
  t.same(kinds(plan(input({ verb: 'stop', running: new Map([['web@1.service', [old]]]) }))), ['target:web@1.service=loaded', 'target:web@2.service=loaded']);
});

t.test('a definition that differs is said as such, not also as an old container', async (t) => {
  const changed = new Map<string, HostDefinition>([['web@.service', { ...current.get('web@.service')!, key: 'other', lines: ['other'] }]]);
  t.same(kinds(plan(input({ current: changed, running: new Map([['web@1.service', [old]]]) }))), ['conflict:web@.service']);
});

const rec = (machine: string, o: Partial<ContainerFactsRecord>): ContainerFactsRecord => ({ v: 1, unit: 'web@1.service', machine, phase: 'running', restarts: 0, updatedAt: '2026-12-03T10:00:00.000Z', ...o });

t.test('the facts reduction gives the config of every running container, one per machine, and none of a stopped one', async (t) => {
  t.same(factsOfRecords([rec('m1', { configHash: 'b' }), rec('m2', { configHash: 'a' }), rec('m3', { phase: 'exited', configHash: 'c' })])?.configHashes, ['a', 'b']);
  t.equal(factsOfRecords([rec('m1', {})])?.configHashes, undefined, 'a container without the label: unknown');
});

t.test('status: the same sentence, only for a running labelled container of a unit that runs one', async (t) => {
  const u = { name: 'web@1.service', desiredState: 'launched', currentState: 'launched', machineID: 'm1', options: desired[0]!.desired.unit.options };
  t.equal(oldConfigMessage(u, rec('m1', { configHash: old })), `its container runs config ${old.slice(0, 12)}, not its unit's ${want.slice(0, 12)}: it was not restarted since its unit changed (fleetkit load --replace restarts it)`);
  t.equal(oldConfigMessage(u, rec('m1', { configHash: want })), undefined, 'current');
  t.equal(oldConfigMessage(u, rec('m1', { configHash: old, phase: 'exited' })), undefined, 'not running');
  t.equal(oldConfigMessage(u, rec('m1', {})), undefined, 'no label');
  t.equal(oldConfigMessage({ ...u, options: [] }, rec('m1', { configHash: old })), undefined, 'the unit\'s options unknown');
});
