/**
 * `facts unknown`: a running container unit whose machine's agent published no container facts cannot be
 * judged (fleet keeps no restart count), so status flags it, naming the machine and the agent unit, and exits
 * non-zero. A plain unit (no labelled container) expects no facts; systemd's own NRestarts makes them
 * unnecessary; a record older than the unit's current start is not evidence about it. Pure: buildStatus only.
 */
import t from 'tap';
import { buildStatus } from '../../src/ops/build-status.js';
import type { StatusInputs, StatusUnit, StatusUnitState } from '../../src/ops/status-model.js';
import type { ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import { parseSpec } from '../../src/cluster/load.js';
import { FACTS_GRACE_MS } from '../../src/ops/status-facts.js';

const M1 = '1a'.repeat(16);
const M2 = '2b'.repeat(16);
const NOW = new Date('2026-01-02T03:04:05.000Z');
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();
const spec = parseSpec(`name: shop
etcd: { endpoints: [http://127.0.0.1:2379], prefix: /services }
services:
  web:
    image: nginx
`, 'shop.yaml');

// The ExecStart gen-units renders for web (trimmed to the words that matter), and a plain unit's.
const LABELLED = '/usr/bin/docker run --rm --name web-%i --label fleetkit.unit=%n --label fleetkit.cluster=shop nginx';
const unit = (name: string, exec: string | undefined, machineID = M1): StatusUnit => ({
  name, desiredState: 'launched', currentState: 'launched', machineID, options: exec === undefined ? [] : [{ section: 'Service', name: 'ExecStart', value: exec }],
});
const state = (name: string, machineID: string, activeState = 'active', subState = 'running', extra: Partial<StatusUnitState> = {}): StatusUnitState =>
  ({ name, machineID, loadState: 'loaded', activeState, subState, ...extra });
const facts = (unitName: string, machine: string, updatedAt: string, o: Partial<ContainerFactsRecord> = {}): ContainerFactsRecord =>
  ({ v: 1, unit: unitName, machine, phase: 'running', restarts: 0, startedAt: updatedAt, updatedAt, ...o });

function run(o: Partial<StatusInputs>): { flags: string[]; problems: number; restarts: number | null | undefined } {
  const inputs: StatusInputs = {
    source: 'fleet', now: NOW, spec, prefix: '/services', hosts: undefined, announcements: [],
    machines: [{ id: M1, primaryIP: '10.0.0.1', metadata: {} }, { id: M2, primaryIP: '10.0.0.2', metadata: {} }],
    units: [unit('web@1.service', LABELLED)],
    states: [state('web@1.service', M1)],
    facts: [],
    ...o,
  };
  const model = buildStatus(inputs);
  const row = model.services.find((s) => s.name === 'web')!.instances[0]!;
  return { flags: row.flags.map((f) => `${f.code}: ${f.message}`), problems: model.problems, restarts: row.restarts };
}

t.test('fleet, a labelled container unit, no facts: unknown, naming the machine and the agent unit\'s state there', async (t) => {
  const none = run({ states: [state('web@1.service', M1)] });
  t.equal(none.problems, 1, 'a problem: status exits non-zero');
  t.same(none.flags, ['facts-unknown: facts unknown: the agent on 1a1a1a1a/10.0.0.1 published no container facts for it, so restarts and exits cannot be seen; '
    + 'fleetkit-agent-shop.service is not loaded there (check fleetkit-agent-shop.service on that machine and that it reaches etcd)']);
  t.equal(none.restarts, undefined, 'no restart count is made up');

  const stopped = run({ states: [state('web@1.service', M1), state('fleetkit-agent-shop.service', M1, 'inactive', 'dead'), state('fleetkit-agent-shop.service', M2)] });
  t.match(stopped.flags[0], /; fleetkit-agent-shop\.service is inactive\/dead there \(/, 'the agent\'s state on that machine, not on another');
  const runs = run({ states: [state('web@1.service', M1), state('fleetkit-agent-shop.service', M1)] });
  t.match(runs.flags[0], /; fleetkit-agent-shop\.service is active there \(check .* reaches etcd\)/, 'running but publishing nothing: the way to etcd is what to check');
});

t.test('facts from another machine are not this unit\'s (it moved, or another machine ran it before)', async (t) => {
  t.match(run({ facts: [facts('web@1.service', M2, ago(1000))] }).flags, [/^facts-unknown: .* on 1a1a1a1a\//]);
  t.same(run({ facts: [facts('web@1.service', M1, ago(3_600_000))] }).flags, [], 'facts from its machine: judged on them (an old record: no start since)');
});

t.test('a plain unit (no labelled container) expects no facts: judged on its state alone', async (t) => {
  t.same(run({ units: [unit('web@1.service', '/bin/sleep 1000')] }).flags, []);
  // An older rendering without the label: the agent publishes nothing for it, and that is not its fault.
  t.same(run({ units: [unit('web@1.service', '/usr/bin/docker run --rm --name web-%i nginx')] }).flags, []);
});

t.test('a unit that is not running is judged on its state, not on facts', async (t) => {
  t.same(run({ states: [state('web@1.service', M1, 'inactive', 'dead')] }).flags, []);
  t.match(run({ states: [state('web@1.service', M1, 'failed', 'failed')] }).flags, [/^failed: /]);
  t.match(run({ states: [state('web@1.service', M1, 'activating', 'auto-restart')] }).flags, [/^crash-loop: crash loop: waiting to restart, restarted \? times/], 'a crash loop is certain without facts');
});

t.test('etcd unreadable: said once as a warning, not as a flag per unit', async (t) => {
  t.same(run({ announcementsError: 'etcd at http://127.0.0.1:1: connection refused' }).flags, []);
});

t.test('systemd: NRestarts is a count of its own; facts are not needed', async (t) => {
  const r = run({ source: 'systemd', units: [unit('web@1.service', undefined)], states: [state('web@1.service', M1, 'active', 'running', { restarts: 0, activeSince: NOW.getTime() - 60_000 })] });
  t.same(r.flags, []);
  t.equal(r.restarts, 0);
});

t.test('a record older than the unit\'s current start is about an earlier container', async (t) => {
  // A host that counts no restarts but dates the start (systemd before 235 has ActiveEnterTimestamp, not NRestarts).
  const started = NOW.getTime() - 60_000;
  const old = facts('web@1.service', M1, ago(120_000), { phase: 'exited', lastExit: 1, restarts: 4 });
  const r = run({ source: 'systemd', units: [unit('web@1.service', undefined)], states: [state('web@1.service', M1, 'active', 'running', { activeSince: started })], facts: [old] });
  t.same(r.flags, [`facts-unknown: facts unknown: the agent on 1a1a1a1a/10.0.0.1 published nothing since the unit's current start (its last record is from ${old.updatedAt}), so restarts and exits cannot be seen (check fleetkit-agent-shop.service on that machine and that it reaches etcd)`],
    'not "the container exited while the unit is active", and not 4 restarts: the record is of an earlier run');
  t.equal(r.restarts, undefined);

  const fresh = facts('web@1.service', M1, new Date(started + 700).toISOString());
  t.same(run({ source: 'systemd', units: [unit('web@1.service', undefined)], states: [state('web@1.service', M1, 'active', 'running', { activeSince: started })], facts: [fresh] }).flags, [], 'written after the start: used');

  const justStarted = NOW.getTime() - (FACTS_GRACE_MS - 1000);
  t.same(run({ source: 'systemd', units: [unit('web@1.service', undefined)], states: [state('web@1.service', M1, 'active', 'running', { activeSince: justStarted })], facts: [old] }).flags, [],
    'within the grace after a start the agent has not written yet: neither the old record nor a flag');
});

t.test('fleet: a record from a machine whose agent is not running is not kept up, so it is not used', async (t) => {
  // A killed agent (or one stopped without revoking its lease) leaves its keys until the lease expires.
  const left = facts('web@1.service', M1, ago(30_000), { restarts: 0 });
  const down = run({ states: [state('web@1.service', M1), state('fleetkit-agent-shop.service', M1, 'failed', 'failed')], facts: [left] });
  t.same(down.flags, [`facts-unknown: facts unknown: the agent on 1a1a1a1a/10.0.0.1 is not running: its last record (from ${left.updatedAt}) is no longer kept up, so restarts and exits cannot be seen; `
    + 'fleetkit-agent-shop.service is failed/failed there (check fleetkit-agent-shop.service on that machine and that it reaches etcd)']);
  t.equal(down.restarts, undefined, 'its restart count is not shown as current');
  const up = run({ states: [state('web@1.service', M1), state('fleetkit-agent-shop.service', M1)], facts: [left] });
  t.same(up.flags, [], 'the agent runs there: its record stands');
  t.equal(up.restarts, 0);
  const other = run({ states: [state('web@1.service', M1), state('fleetkit-agent-shop.service', M2, 'inactive', 'dead')], facts: [left] });
  t.same(other.flags, [], 'an agent down on another machine says nothing of this one');
});

t.test('a record whose agent no longer renews its lease is not kept up, whatever the host says of the agent unit', async (t) => {
  // The agent unit active (hung, or cut off from etcd) or not shown at all: etcd's clock on the lease decides.
  const left = facts('web@1.service', M1, ago(40_000), { restarts: 0 });
  const lapsed = new Map([[`${M1}/web@1.service`, { leftS: 30, grantedS: 60 }]]);
  const hung = run({ states: [state('web@1.service', M1), state('fleetkit-agent-shop.service', M1)], facts: [left], factsLeases: lapsed });
  t.same(hung.flags, [`facts-unknown: facts unknown: the agent on 1a1a1a1a/10.0.0.1 no longer keeps its last record (running, from ${left.updatedAt}) up: its etcd lease (TTL 60 s) has not been renewed for 30 s, so restarts and exits cannot be seen; `
    + 'fleetkit-agent-shop.service is active there (check fleetkit-agent-shop.service on that machine and that it reaches etcd)'], 'the unit says active; the lease says nobody renews it');
  t.equal(hung.restarts, undefined, 'its restart count is not shown as current');
  t.match(run({ facts: [left], factsLeases: new Map([[`${M1}/web@1.service`, { none: true }]]) }).flags, [/no longer keeps its last record \(running, from .*\) up: it has no etcd lease/], 'no lease at all');
  const renewed = run({ states: [state('web@1.service', M1), state('fleetkit-agent-shop.service', M1)], facts: [left], factsLeases: new Map([[`${M1}/web@1.service`, { leftS: 50, grantedS: 60 }]]) });
  t.same(renewed.flags, [], 'renewed: its record stands');
  t.equal(renewed.restarts, 0);
  t.same(run({ facts: [left], factsLeases: new Map([[`${M1}/web@1.service`, { leftS: 36, grantedS: 60 }]]) }).flags, [], 'late by less than the margin: an agent restarting takes it over');
});

t.test('only etcd could be read: a record whose agent no longer keeps it up is named', async (t) => {
  const left = facts('web@1.service', M1, ago(40_000));
  const lapsed = new Map([[`${M1}/web@1.service`, { leftS: 30, grantedS: 60 }]]);
  const r = run({ unitsError: 'fleet at unix:///x.sock: no such file', units: [], states: [], machines: [], facts: [left], factsLeases: lapsed });
  t.same(r.flags, [`facts-unknown: facts unknown: the agent on 1a1a1a1a last reported its container running (at ${left.updatedAt}) and no longer keeps that record up: its etcd lease (TTL 60 s) has not been renewed for 30 s, so whether it runs is unknown (check fleetkit-agent-shop.service on that machine and that it reaches etcd)`]);
  t.same(run({ unitsError: 'fleet down', units: [], states: [], machines: [], facts: [left], factsLeases: new Map([[`${M1}/web@1.service`, { leftS: 55, grantedS: 60 }]]) }).flags, [], 'kept up: nothing to say without the units');
});
