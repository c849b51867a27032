import t from 'tap';
import { expandFleetSpecifiers, goPathMatch, isBadGoPattern, parseXFleet, renderXFleet, splitFleetValues, xfleetIgnored, xfleetRejection } from '../../src/unit/xfleet.js';
import type { UnitOption } from '../../src/unit/model.js';
import { parseUnit } from '../../src/unit/parse.js';
import type { FleetPlacement } from '../../src/cluster/types.js';

const x = (name: string, value: string): UnitOption => ({ section: 'X-Fleet', name, value });
const unit = (...options: UnitOption[]) => ({ name: 'web@2.service', options });

t.test('splitFleetValues', async (t) => {
  t.same(splitFleetValues('"a=b" "c=d"'), ['a=b', 'c=d']);
  t.same(splitFleetValues('a=b c=d'), ['a=b c=d']);
  t.same(splitFleetValues('"a=b" c=d'), ['"a=b" c=d']); // does not end with a quote: one value
  t.same(splitFleetValues('"a=x y"'), ['a=x y']);
  t.same(splitFleetValues('"a"  "b"'), ['a', '', 'b']);
  t.same(splitFleetValues('"a=b'), ['"a=b']);
});

t.test('expandFleetSpecifiers', async (t) => {
  t.equal(expandFleetSpecifiers('%n|%N|%p|%i|%H|%%i', 'web@2.service'), 'web@2.service|web@2|web|2|%H|%2');
  t.equal(expandFleetSpecifiers('%p-%i', 'db.service'), 'db-');
});

t.test('parseXFleet', async (t) => {
  const p = parseXFleet(unit(
    x('MachineID', '"aaaa" "bbbb"'), x('MachineID', 'cccc'),
    x('MachineOf', 'db@%i.service'),
    x('MachineMetadata', '"disk=ssd" "disk=hdd"'), x('MachineMetadata', 'region=east'), x('MachineMetadata', 'disk=ssd'),
    x('MachineMetadata', 'bad'), x('MachineMetadata', 'a=b=c'), x('MachineMetadata', '=x'),
    x('Conflicts', '%p@*.service other.service'), x('Global', 'true'), x('Global', 'off'), x('Replaces', 'old@%i.service'),
  ));
  t.equal(p.machineID, 'aaaa');
  t.same(p.machineOf, ['db@2.service']);
  t.same([...p.machineMetadata], [['disk', ['ssd', 'hdd']], ['region', ['east']]]);
  t.same(p.conflicts, ['web@*.service', 'other.service']);
  t.equal(p.global, false);
  t.same(p.replaces, ['old@2.service']);
  for (const v of ['true', 'yes', '1', 'on', 't']) t.equal(parseXFleet(unit(x('Global', v))).global, true, v);
  for (const v of ['True', 'YES', 'On', 'T']) t.equal(parseXFleet(unit(x('Global', v))).global, true, `${v}: fleet lower-cases before comparing`);
  for (const v of ['y', '', 'what', 'false']) t.equal(parseXFleet(unit(x('Global', v))).global, false, v);
  t.same(parseXFleet(unit(x('X-ConditionMachineOf', 'a.service'), x('MachineOf', 'b.service'))).machineOf, ['a.service', 'b.service']);
});

t.test('goPathMatch follows Go path.Match', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['web@*.service', 'web@1.service', true], ['web@*.service', 'web.service', false], ['*', 'a/b', false],
    ['a?c', 'abc', true], ['a?c', 'a/c', false], ['[a-c]x', 'bx', true], ['[^a-c]x', 'bx', false], ['[^a-c]x', 'dx', true],
    ['\\*', '*', true], ['\\*', 'a', false], ['[\\]]', ']', true], ['a*b*c', 'axxbyyc', true], ['a*b', 'a/b', false],
    ['[', 'a', false], ['a[', 'a', false], ['[]a]', ']', false], ['ö?', 'öü', true], ['', '', true], ['*x', 'x', true],
  ];
  for (const [pattern, name, want] of cases) t.equal(goPathMatch(pattern, name), want, `${pattern} ~ ${name}`);
  t.equal(isBadGoPattern('a['), true);
  t.equal(isBadGoPattern('x*[z-a'), true);
  t.equal(isBadGoPattern('web@*.service'), false);
});

t.test('xfleetRejection: fleet API messages in fleet order', async (t) => {
  const cases: Array<[UnitOption[], string | undefined]> = [
    [[x('MachineOf', 'db.service'), x('Conflicts', 'd*.service')], 'unresolvable requirements: peer "db.service" matches conflict "d*.service"'],
    [[x('MachineOf', 'db.service'), x('Replaces', 'db.service')], 'unresolvable requirements: peer "db.service" matches replace "db.service"'],
    [[x('MachineOf', 'db.service'), x('Conflicts', 'd*.service'), x('MachineID', 'a')], 'unresolvable requirements: peer "db.service" matches conflict "d*.service"'],
    [[x('MachineID', 'a'), x('MachineOf', 'db.service')], 'MachineID cannot be used with Peers'],
    [[x('MachineID', 'a'), x('Conflicts', 'x*')], 'MachineID cannot be used with Conflicts'],
    [[x('MachineID', 'a'), x('Global', 'yes')], 'MachineID cannot be used with Global'],
    [[x('MachineID', 'a'), x('Replaces', 'y')], 'MachineID cannot be used with Replaces'],
    [[x('Global', 'true'), x('MachineOf', 'db.service')], 'Global cannot be used with Peers'],
    [[x('Global', 'true'), x('Replaces', 'old.service')], 'Global cannot be used with Replaces'],
    [[x('Conflicts', 'a*'), x('Replaces', 'old.service')], 'Conflicts cannot be used with Replaces'],
    [[x('Global', 'true'), x('Conflicts', 'a*'), x('MachineMetadata', 'r=e')], undefined],
    [[x('Global', 'false'), x('MachineOf', 'db.service')], undefined],
    // fleet's API does not expand specifiers before this check.
    [[x('MachineOf', '%p.service'), x('Conflicts', 'web.service')], undefined],
    [[x('MachineOf', 'a"b.service'.replace('"', 'é')), x('Conflicts', '*')], 'unresolvable requirements: peer "aéb.service" matches conflict "*"'],
  ];
  for (const [options, want] of cases) t.equal(xfleetRejection({ options }), want, JSON.stringify(options.map((o) => `${o.name}=${o.value}`)));
});

// fleet's own table for Unit.IsGlobal (coreos/fleet job/job_test.go, TestUnitIsGlobal), read through parseUnit.
t.test('Global= as fleet reads it: the cases of fleet\'s TestUnitIsGlobal', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['', false],
    ['foobarbaz', false],
    ['[Service]\nExecStart=/bin/true', false],
    ['[X-Fleet]\nMachineOf=bar', false],
    ['Global=true', false],
    ['[Service]\nGlobal=true', false],
    ['[X-Fleet]\nMachineOf=bar\nGlobal=false', false],
    ['[X-Fleet]\nMachineOf=bar\nGlobal=what', false],
    ['[X-Fleet]\nX-Global=true', false],
    ['[X-Fleet]\nX-ConditionGlobal=true', false],
    ['[X-Fleet]\nMachineOf=foo\nGlobal=true', true],
    ['[X-Fleet]\nMachineOf=foo\nGlobal=True', true],
    ['[X-Fleet]\nGlobal=true\nGlobal=false', false],
    ['[X-Fleet]\nGlobal=false\nGlobal=true', true],
  ];
  for (const [text, want] of cases) {
    t.equal(parseXFleet(parseUnit('echo.service', text)).global, want, JSON.stringify(text));
  }
  // Multi-value lines count as several values; the last one wins.
  t.equal(parseXFleet(parseUnit('g.service', '[X-Fleet]\nGlobal="false" "True"\n')).global, true);
});

t.test('xfleetIgnored', async (t) => {
  const msgs = xfleetIgnored({ options: [
    x('MachineMetadata', '"disk=ssd" "bad" "a=b=c" "=x"'), x('MachineMetadata', 'region=%H'), x('MachineMetadata', 'role=%i'),
    x('MachineID', 'abc'), x('MachineID', '0123456789abcdef0123456789abcdef'), x('Foo', 'bar'), x('X-Conflicts', 'a*'),
    x('Conflicts', 'a.service b.service'), x('Conflicts', 'x['), x('MachineOf', 'db@*.service'), x('Global', 'True'), x('Global', 'sure'), x('MachineOf', ''),
    x('Conflicts', '100%%'),
    { section: 'Service', name: 'Foo', value: '%z' },
  ] });
  t.same(msgs, [
    '[X-Fleet] MachineMetadata=bad: fleet ignores metadata that is not exactly key=value with both sides non-empty',
    '[X-Fleet] MachineMetadata=a=b=c: fleet ignores metadata that is not exactly key=value with both sides non-empty',
    '[X-Fleet] MachineMetadata==x: fleet ignores metadata that is not exactly key=value with both sides non-empty',
    '[X-Fleet] MachineMetadata=region=%H: "%H" is not expanded by fleet (only %n, %N, %p and %i are, and "%%" is not special)',
    '[X-Fleet] MachineID=abc: not a full machine id (32 lower-case hex digits): it matches no machine',
    '[X-Fleet] MachineID=0123456789abcdef0123456789abcdef: fleet uses only the first MachineID value',
    '[X-Fleet] Foo=bar: unknown key, fleet ignores it (known: MachineID, MachineOf, MachineMetadata, Conflicts, Global, Replaces)',
    '[X-Fleet] X-Conflicts=a*: deprecated spelling; write Conflicts=',
    '[X-Fleet] Conflicts=a.service b.service: contains whitespace: write one Conflicts= line per pattern',
    '[X-Fleet] Conflicts=x[: malformed glob pattern: it never matches',
    '[X-Fleet] MachineOf=db@*.service: MachineOf takes exact unit names, not glob patterns',
    '[X-Fleet] Global=sure: fleet reads this as false (true is one of true, yes, 1, on, t, in any case)',
    '[X-Fleet] MachineOf=: empty value: fleet still counts it as a requirement',
    '[X-Fleet] Conflicts=100%%: "%%" is not expanded by fleet (only %n, %N, %p and %i are, and "%%" is not special)',
  ]);
  t.same(xfleetIgnored({ options: renderXFleet(placement({ machineMetadata: [['disk', ['ssd', 'hdd']], ['rack', ['%i']]] })) }), []);
});

const placement = (p: Partial<FleetPlacement>): FleetPlacement => ({
  conflicts: [], machineOf: [], machineMetadata: [], global: false, machineID: undefined, replaces: undefined, ...p,
});

t.test('renderXFleet', async (t) => {
  const opts = renderXFleet(placement({
    conflicts: ['web@*.service', 'db@*.service'], machineOf: ['db@%i.service'],
    machineMetadata: [['disk', ['ssd', 'hdd']], ['region', ['east']]], global: true, machineID: '0123456789abcdef0123456789abcdef', replaces: 'old.service',
  }));
  t.same(opts.map((o) => `${o.name}=${o.value}`), [
    'Conflicts=web@*.service', 'Conflicts=db@*.service', 'MachineOf=db@%i.service',
    'MachineMetadata="disk=ssd" "disk=hdd"', 'MachineMetadata=region=east', 'Global=true',
    'MachineID=0123456789abcdef0123456789abcdef', 'Replaces=old.service',
  ]);
  t.ok(opts.every((o) => o.section === 'X-Fleet'));
  // What fleet reads back is what was asked for.
  const back = parseXFleet({ name: 'web@3.service', options: opts });
  t.same([...back.machineMetadata], [['disk', ['ssd', 'hdd']], ['region', ['east']]]);
  t.same(back.conflicts, ['web@*.service', 'db@*.service']);
  t.same(back.machineOf, ['db@3.service']);
  // The API checks globs against peers literally (no specifier expansion).
  t.equal(xfleetRejection({ options: opts }), 'unresolvable requirements: peer "db@%i.service" matches conflict "db@*.service"');
  t.same(renderXFleet(placement({})), []);
  for (const bad of [placement({ conflicts: [''] }), placement({ machineOf: ['a\nGlobal=true'] }), placement({ machineMetadata: [['disk', ['s"d']]] }), placement({ replaces: ' x' })]) {
    t.throws(() => renderXFleet(bad), { code: 'ERR_UNIT_XFLEET' });
  }
});
