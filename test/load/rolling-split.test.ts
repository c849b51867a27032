/**
 * splitRolling, the pure half of the rolling replace: which running units roll, grouped with their sidekicks
 * (MachineOf=), in instance order; global units and new units stay in the ordinary run; a definition several
 * instances share (systemd's template file) is written first, one of their own (fleet's instance) is sent
 * while the instance is down.
 */
import t from 'tap';
import { splitRolling } from '../../src/load/rolling.js';
import type { Step } from '../../src/load/plan.js';
import type { DesiredUnit } from '../../src/load/desired-unit.js';

const unit = (name: string, xfleet: string[] = [], exec = '/usr/bin/docker run --rm --name x local/httpd:latest'): DesiredUnit => ({
  unit: { name, options: [{ section: 'Service', name: 'ExecStart', value: exec }, ...xfleet.map((l) => ({ section: 'X-Fleet', name: l.split('=')[0]!, value: l.slice(l.indexOf('=') + 1) }))] },
  file: name, text: `[Service]\nExecStart=${exec}\n`, start: true,
});
const web = (i: number) => unit(`web@${i}.service`);
const side = (i: number) => unit(`web-discovery@${i}.service`, [`MachineOf=web@${i}.service`], `/opt/bin/fleetkit announce --key /services/c/web/%i --container web-%i --no-wait`);
const submit = (d: DesiredUnit, id = d.unit.name): Step => ({ kind: 'submit', id, change: 'replace', desired: d, target: 'launched' });
const start = (name: string, restart: boolean): Step => ({ kind: 'target', name, target: 'launched', restart });

t.test('fleet: each instance with its sidekick, its own definition sent while it is down', async (t) => {
  const desired = [web(10), web(2), side(2), side(10), unit('mon.service', ['Global=true']), unit('new.service')].map((d) => ({ desired: d, id: d.unit.name }));
  const steps: Step[] = [
    submit(web(10)), submit(web(2)), submit(unit('mon.service', ['Global=true'])), { kind: 'submit', id: 'new.service', change: 'create', desired: unit('new.service'), target: 'launched' },
    start('web@10.service', true), start('web@2.service', true), start('web-discovery@2.service', false), start('web-discovery@10.service', false),
    start('mon.service', true), start('new.service', false),
  ];
  const { rest, groups } = splitRolling(steps, desired);
  t.same(groups.map((g) => g.members), [['web@2.service', 'web-discovery@2.service'], ['web@10.service', 'web-discovery@10.service']], 'instance order, each unit first, its unchanged sidekick with it');
  t.same(groups.map((g) => g.defs.map((d) => d.id)), [['web@2.service'], ['web@10.service']]);
  t.same(groups.map((g) => [...g.changed]), [['web@2.service'], ['web@10.service']], 'the sidekick did not change');
  t.same([...groups[0]!.keys], [['web-discovery@2.service', '/services/c/web/2']], 'the key the sidekick announces, its instance filled in');
  t.equal(groups[0]!.hashes.get('web@2.service')?.length, 32, 'the container\'s config hash');
  t.equal(groups[0]!.hashes.has('web-discovery@2.service'), false, 'a sidekick runs no container');
  t.same(rest.map((s) => (s.kind === 'submit' ? `submit ${s.id}` : s.kind === 'target' ? `start ${s.name}` : s.kind)), ['submit mon.service', 'submit new.service', 'start mon.service', 'start new.service'], 'a global unit and a new unit go the ordinary way');
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
