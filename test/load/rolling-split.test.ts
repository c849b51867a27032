/**
 * splitRolling, the pure half of the rolling replace: which running units roll, grouped with their sidekicks
 * (MachineOf=), in instance order; a global unit rolls as one group with the global sidekick bound to it
 * (BindsTo=); new units stay in the ordinary run; a definition several instances share (systemd's template
 * file) is written first, one of their own (fleet's instance) is sent while the instance is down. And
 * notReplacedYet, the facts test of a replaced unit: for a global unit, on every machine that should run it.
 */
import t from 'tap';
import { splitRolling } from '../../src/load/rolling.js';
import { notReplacedYet } from '../../src/load/rolling-facts.js';
import type { ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import type { Step } from '../../src/load/plan.js';
import type { DesiredUnit } from '../../src/load/desired-unit.js';

const unit = (name: string, xfleet: string[] = [], exec = '/usr/bin/docker run --rm --name x local/httpd:latest'): DesiredUnit => ({
  unit: { name, options: [{ section: 'Service', name: 'ExecStart', value: exec }, ...xfleet.map((l) => ({ section: 'X-Fleet', name: l.split('=')[0]!, value: l.slice(l.indexOf('=') + 1) }))] },
  file: name, text: `[Service]\nExecStart=${exec}\n`, start: true,
});
const web = (i: number) => unit(`web@${i}.service`);
const mon = unit('mon.service', ['Global=true'], '/usr/bin/docker run --rm --name mon local/httpd:latest');
// The global sidekick as gen-units renders it: bound to its unit, no MachineOf= (the unit runs everywhere).
const monSide: DesiredUnit = (() => {
  const d = unit('mon-discovery.service', ['Global=true'], '/opt/bin/fleetkit announce --key /services/c/mon/%H --container mon --no-wait');
  return { ...d, unit: { ...d.unit, options: [{ section: 'Unit', name: 'BindsTo', value: 'mon.service' }, { section: 'Unit', name: 'After', value: 'mon.service' }, ...d.unit.options] } };
})();
const side = (i: number) => unit(`web-discovery@${i}.service`, [`MachineOf=web@${i}.service`], `/opt/bin/fleetkit announce --key /services/c/web/%i --container web-%i --no-wait`);
const submit = (d: DesiredUnit, id = d.unit.name): Step => ({ kind: 'submit', id, change: 'replace', desired: d, target: 'launched' });
const start = (name: string, restart: boolean): Step => ({ kind: 'target', name, target: 'launched', restart });

t.test('fleet: each instance with its sidekick, its own definition sent while it is down', async (t) => {
  const desired = [web(10), web(2), side(2), side(10), mon, monSide, unit('new.service')].map((d) => ({ desired: d, id: d.unit.name }));
  const steps: Step[] = [
    submit(web(10)), submit(web(2)), submit(mon), { kind: 'submit', id: 'new.service', change: 'create', desired: unit('new.service'), target: 'launched' },
    start('web@10.service', true), start('web@2.service', true), start('web-discovery@2.service', false), start('web-discovery@10.service', false),
    start('mon.service', true), start('mon-discovery.service', false), start('new.service', false),
  ];
  const { rest, groups } = splitRolling(steps, desired);
  t.same(groups.map((g) => g.members), [['mon.service', 'mon-discovery.service'], ['web@2.service', 'web-discovery@2.service'], ['web@10.service', 'web-discovery@10.service']], 'instance order, each unit first, its unchanged sidekick with it; the global unit with the global sidekick bound to it');
  t.same(groups.map((g) => g.defs.map((d) => d.id)), [['mon.service'], ['web@2.service'], ['web@10.service']], 'the global unit\'s new definition is sent while it is down');
  t.same(groups.map((g) => [...g.changed]), [['mon.service'], ['web@2.service'], ['web@10.service']], 'the sidekicks did not change');
  t.same(groups.map((g) => [...g.global]), [['mon.service', 'mon-discovery.service'], [], []], 'the global members: each machine must run the new container');
  t.equal(groups[0]!.hashes.get('mon.service')?.length, 32, 'the global unit\'s config hash');
  t.same([...groups[1]!.keys], [['web-discovery@2.service', '/services/c/web/2']], 'the key the sidekick announces, its instance filled in');
  t.equal(groups[1]!.hashes.get('web@2.service')?.length, 32, 'the container\'s config hash');
  t.equal(groups[1]!.hashes.has('web-discovery@2.service'), false, 'a sidekick runs no container');
  t.same(rest.map((s) => (s.kind === 'submit' ? `submit ${s.id}` : s.kind === 'target' ? `start ${s.name}` : s.kind)), ['submit new.service', 'start new.service'], 'a new unit goes the ordinary way');
  const sideAlone = splitRolling([start('mon.service', false), start('mon-discovery.service', true)], desired);
  t.same(sideAlone.groups.map((g) => g.members), [['mon-discovery.service']], 'a change of the global sidekick alone leaves its unit up');
  const notBound = splitRolling([start('mon.service', true), start('web-discovery@2.service', false), start('web@2.service', false)], desired);
  t.same(notBound.groups.map((g) => g.members), [['mon.service']], 'a global unit takes down only what is bound to it');
});

t.test('notReplacedYet: a global unit is replaced only when every machine that should run it runs its new container', async (t) => {
  const since = Date.parse('2026-12-03T12:00:00Z');
  const rec = (machine: string, containerId: string, configHash: string, startedAt = '2026-12-03T12:00:05Z', phase: ContainerFactsRecord['phase'] = 'running'): ContainerFactsRecord => ({ v: 1, unit: 'mon.service', machine, phase, containerId, configHash, startedAt, restarts: 0, updatedAt: startedAt });
  const M = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)];
  const old = new Set(['old-a', 'old-b', 'old-c']);
  const all = M.map((m, k) => rec(m, `new-${k}`, 'h2'));
  t.equal(notReplacedYet(all, 'h2', old, since, M), undefined, 'every machine runs a new container with the new hash, started after the replace');
  t.equal(notReplacedYet([all[0]!, rec(M[1]!, 'old-b', 'h1', '2026-12-03T11:00:00Z'), all[2]!], 'h2', old, since), undefined, 'without the machines, one new record is enough (an instance that moved leaves its old record behind)');
  t.equal(notReplacedYet([all[0]!, rec(M[1]!, 'old-b', 'h1', '2026-12-03T11:00:00Z'), all[2]!], 'h2', old, since, M), 'on machine bbbbbbbb (one of 3), the container that ran before the stop still runs', 'a machine still on its old container');
  t.equal(notReplacedYet([all[0]!, all[1]!], 'h2', old, since, M), 'on machine cccccccc (one of 3), no agent has reported its container', 'a machine that should run it and reports nothing');
  t.equal(notReplacedYet([all[0]!, rec(M[1]!, 'new-x', 'h1'), all[2]!], 'h2', old, since, M), 'on machine bbbbbbbb (one of 3), its container carries config hash h1, not the new h2');
  t.equal(notReplacedYet([all[0]!, rec(M[1]!, 'new-x', 'h2', '2026-12-03T11:59:00Z'), all[2]!], 'h2', old, since, M), 'on machine bbbbbbbb (one of 3), its container started before the replace');
  t.equal(notReplacedYet([all[0]!, rec(M[1]!, 'new-1', 'h2', undefined, 'exited'), all[2]!], 'h2', old, since, M), 'on machine bbbbbbbb (one of 3), its container is exited');
});

t.test('systemd: the shared template file is written first; a sidekick change alone leaves its unit up', async (t) => {
  const desired = [web(1), web(2), side(1), side(2)].map((d) => ({ desired: d, id: d.unit.name.replace(/@\d+/, '@') }));
  const tmpl = { ...web(1), unit: { ...web(1).unit, name: 'web@.service' } };
  const sideTmpl = { ...side(1), unit: { ...side(1).unit, name: 'web-discovery@.service' } };
  const steps: Step[] = [submit(tmpl, 'web@.service'), start('web@1.service', true), start('web@2.service', true), start('web-discovery@1.service', false), start('web-discovery@2.service', false)];
  const { rest, groups } = splitRolling(steps, desired);
  t.same(rest, [steps[0]], 'the template file, shared by both instances, is written first');
  t.same(groups.map((g) => g.defs.length), [0, 0]);
  const sideOnly = splitRolling([submit(sideTmpl, 'web-discovery@.service'), start('web@1.service', false), start('web-discovery@1.service', true)], desired);
  t.same(sideOnly.groups.map((g) => g.members), [['web-discovery@1.service']], 'only the sidekick restarts');
  t.same(splitRolling([start('web@1.service', false)], desired).groups, [], 'nothing replaced: nothing rolls');
});
