/**
 * plan(desired, current) → steps, without any server: what is created, replaced, kept, refused, started,
 * restarted, pruned and destroyed, for definitions stored per unit (fleet) and per file (systemd).
 */
import t from 'tap';
import { describePlan, plan, type PlanInput, type Step } from '../../src/load/plan.js';
import type { DesiredUnit } from '../../src/load/desired-unit.js';
import type { HostDefinition, TargetState } from '../../src/unithost/unit-host.js';

const unit = (name: string, file: string, text: string, start = true): DesiredUnit => ({ unit: { name, options: [{ section: 'Service', name: 'ExecStart', value: text }] }, file, text, start });
/** fleet stores each unit; systemd stores each file. */
const byUnit = (d: DesiredUnit) => ({ desired: d, def: { id: d.unit.name, key: d.text, lines: [d.text] } });
const byFile = (d: DesiredUnit) => ({ desired: d, def: { id: d.file, key: d.text, lines: [d.text] } });
const have = (id: string, key: string, target?: TargetState, cluster?: string): [string, HostDefinition] => [id, { id, key, cluster, target, lines: [key], differs: `${id} differs` }];
const input = (o: Partial<PlanInput>): PlanInput => ({ verb: 'load', start: true, replace: false, prune: false, cluster: undefined, desired: undefined, names: [], current: new Map(), removeLast: new Set(), ...o });
const kinds = (steps: Step[]) => steps.map((s) => `${s.kind}:${'id' in s ? s.id : s.name}${s.kind === 'target' ? `=${s.target}${s.restart ? '!' : ''}` : ''}`);

t.test('per-unit definitions: create, keep, replace with --replace; every started unit gets its target', async (t) => {
  const desired = [unit('a.service', 'a.service', 'x'), unit('b.service', 'b.service', 'y'), unit('c.service', 'c.service', 'z')].map(byUnit);
  const current = new Map([have('a.service', 'x', 'launched'), have('b.service', 'old', 'launched')]);
  t.same(kinds(plan(input({ desired, current, replace: true }))), ['unchanged:a.service', 'submit:b.service', 'submit:c.service', 'target:a.service=launched', 'target:b.service=launched!', 'target:c.service=launched']);
});

t.test('a difference without --replace: only conflicts and unchanged, nothing submitted or started', async (t) => {
  const desired = [unit('a.service', 'a.service', 'x'), unit('b.service', 'b.service', 'new')].map(byUnit);
  const steps = plan(input({ desired, current: new Map([have('a.service', 'x'), have('b.service', 'old')]) }));
  t.same(kinds(steps), ['unchanged:a.service', 'conflict:b.service']);
  const c = steps[1] as Extract<Step, { kind: 'conflict' }>;
  t.same(c.diff, ['- old', '+ new']);
  t.equal(c.differs, 'b.service differs');
});

t.test('per-file definitions: instances share their template file, submitted once; a replaced template restarts its instances', async (t) => {
  const desired = [unit('web@1.service', 'web@.service', 'v2'), unit('web@2.service', 'web@.service', 'v2')].map(byFile);
  t.same(kinds(plan(input({ desired }))), ['submit:web@.service', 'target:web@1.service=launched', 'target:web@2.service=launched']);
  t.same(kinds(plan(input({ desired, replace: true, current: new Map([have('web@.service', 'v1')]) }))), ['submit:web@.service', 'target:web@1.service=launched!', 'target:web@2.service=launched!']);
});

t.test('templates and units only submitted are stored inactive and never started', async (t) => {
  const steps = plan(input({ desired: [unit('web@.service', 'web@.service', 't', false), unit('side.service', 'side.service', 's', false)].map(byUnit) }));
  t.same(steps.map((s) => (s.kind === 'submit' ? s.target : s.kind)), ['inactive', 'inactive']);
});

t.test('--no-start: new units are stored loaded; a kept unit moves only when the host holds another target', async (t) => {
  const desired = [unit('a.service', 'a.service', 'x'), unit('b.service', 'b.service', 'y'), unit('n.service', 'n.service', 'n')].map(byUnit);
  const steps = plan(input({ desired, start: false, current: new Map([have('a.service', 'x', 'launched'), have('b.service', 'y')]) }));
  t.same(kinds(steps), ['unchanged:a.service', 'unchanged:b.service', 'submit:n.service', 'target:a.service=loaded']);
  t.equal((steps[2] as Extract<Step, { kind: 'submit' }>).target, 'loaded');
});

t.test('a spec: units of its cluster no longer in it are stale, removed with --prune; other clusters untouched', async (t) => {
  const desired = [unit('web@1.service', 'web@1.service', 'x')].map(byUnit);
  const current = new Map([have('web@1.service', 'x', 'launched', 'shop'), have('old@1.service', 'o', 'launched', 'shop'), have('else.service', 'e', 'launched', 'other'), have('hand.service', 'h', 'launched')]);
  t.same(kinds(plan(input({ desired, current, cluster: 'shop' }))), ['unchanged:web@1.service', 'stale:old@1.service', 'target:web@1.service=launched']);
  t.same(kinds(plan(input({ desired, current, cluster: 'shop', prune: true }))), ['unchanged:web@1.service', 'remove:old@1.service', 'target:web@1.service=launched']);
});

t.test('stop, unload and names: one target per started unit', async (t) => {
  const desired = [unit('web@.service', 'web@.service', 't', false), unit('web@1.service', 'web@.service', 't')].map(byFile);
  t.same(kinds(plan(input({ verb: 'stop', desired }))), ['target:web@1.service=loaded']);
  t.same(kinds(plan(input({ verb: 'unload', desired }))), ['target:web@1.service=inactive']);
  t.same(kinds(plan(input({ verb: 'start', names: ['a.service', 'b@2.service'] }))), ['target:a.service=launched', 'target:b@2.service=launched']);
});

t.test('destroy: the desired definitions and the cluster\'s leftovers; fleetkit\'s own units in a later phase', async (t) => {
  const desired = [unit('web@1.service', 'web@.service', 'x'), unit('fleetkit-agent.service', 'fleetkit-agent.service', 'a')].map(byFile);
  const current = new Map([have('old.service', 'o', undefined, 'shop'), have('keep.service', 'k', undefined, 'other')]);
  const steps = plan(input({ verb: 'destroy', desired, current, cluster: 'shop', removeLast: new Set(['fleetkit-agent.service']) }));
  t.same(steps.map((s) => (s.kind === 'remove' ? `${s.id}@${s.phase}` : s.kind)), ['web@.service@0', 'fleetkit-agent.service@1', 'old.service@0']);
  t.same(kinds(plan(input({ verb: 'destroy', names: ['x.service'] }))), ['remove:x.service']);
});

t.test('describePlan: one line per step, in order', async (t) => {
  t.same(describePlan([
    { kind: 'submit', id: 'a.service', change: 'create', desired: unit('a.service', 'a.service', 'x'), target: 'launched' },
    { kind: 'unchanged', id: 'b.service' },
    { kind: 'target', name: 'c.service', target: 'launched', restart: true },
    { kind: 'target', name: 'd.service', target: 'loaded', restart: false },
    { kind: 'remove', id: 'e.service', why: 'prune', phase: 0 },
    { kind: 'stale', id: 'f.service' },
  ]), [
    'create   a.service',
    'keep     b.service',
    'restart  c.service',
    'stop     d.service',
    'prune    e.service',
    'stale    f.service (no longer in the spec; --prune removes it)',
  ]);
});

t.test('a unit of another cluster with the same name: load refuses all, stop and destroy leave it alone', async (t) => {
  const desired = [unit('web@1.service', 'web@1.service', 'x'), unit('db.service', 'db.service', 'd')].map(byUnit);
  const current = new Map([have('web@1.service', 'x', 'launched', 'shop'), have('db.service', 'd', 'launched', 'blog')]);
  t.same(kinds(plan(input({ desired, current, cluster: 'blog', replace: true }))), ['foreign:web@1.service'], 'nothing else is planned');
  t.same(kinds(plan(input({ verb: 'stop', desired, current, cluster: 'blog' }))), ['foreign:web@1.service', 'target:db.service=loaded']);
  t.same(kinds(plan(input({ verb: 'destroy', desired, current, cluster: 'blog' }))), ['foreign:web@1.service', 'remove:db.service']);
  t.same(kinds(plan(input({ verb: 'stop', names: ['web@1.service'], current }))), ['target:web@1.service=loaded'], 'a name on the command line is the user\'s choice');
});
