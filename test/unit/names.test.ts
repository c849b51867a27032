import t from 'tap';
import { escapeUnitNamePart, instanceName, instanceOf, isTemplate, prefixOf, templateOf, validateUnitName } from '../../src/unit/names.js';

t.test('validateUnitName: fleet messages, fleet order', async (t) => {
  const bad: Array<[string, string]> = [
    ['', 'unit name cannot be empty'],
    ['hello', 'unit name must contain "."'],
    ['hello.', 'unit name cannot end in "."'],
    ['hello.foo', 'invalid unit type: "foo"'],
    ['hello.snapshot', 'invalid unit type: "snapshot"'],
    ['a b.service', "invalid character ' ' in unit name"],
    ['a\nb.service', "invalid character '\\n' in unit name"],
    ['hö.service', "invalid character 'ö' in unit name"],
    ['@x.service', 'unit name cannot start in "@"'],
    ['.service', 'unit name cannot start with "."'],
    ['m@x.mount', 'a mount unit cannot be a template or an instance'],
    [`${'a'.repeat(248)}.service`, 'unit name exceeds maximum length (255 bytes): 256 bytes'],
  ];
  for (const [name, message] of bad) t.throws(() => validateUnitName(name), { code: 'ERR_UNIT_NAME', message }, JSON.stringify(name));
  for (const good of ['web.service', 'web@.service', 'web@1.service', 'a:b_c-d.e\\x2d.timer', 'x@a@b.service', `${'a'.repeat(247)}.service`]) {
    t.doesNotThrow(() => validateUnitName(good), good);
  }
});

t.test('escapeUnitNamePart follows systemd-escape', async (t) => {
  t.equal(escapeUnitNamePart('Hallöchen, Meister'), 'Hall\\xc3\\xb6chen\\x2c\\x20Meister');
  t.equal(escapeUnitNamePart('/var/lib/x-y'), '-var-lib-x\\x2dy');
  t.equal(escapeUnitNamePart('.hidden.x'), '\\x2ehidden.x');
  t.equal(escapeUnitNamePart('a\\b@c:d_e'), 'a\\x5cb\\x40c:d_e');
  t.doesNotThrow(() => validateUnitName(`web@${escapeUnitNamePart('10.0.0.1:80 /x')}.service`));
});

t.test('templates and instances', async (t) => {
  t.equal(isTemplate('web@.service'), true);
  t.equal(isTemplate('web@1.service'), false);
  t.equal(isTemplate('web.service'), false);
  t.equal(templateOf('web@1.service'), 'web@.service');
  t.equal(templateOf('web@.service'), 'web@.service');
  t.equal(templateOf('web.service'), undefined);
  t.equal(instanceOf('web@a@b.service'), 'a@b');
  t.equal(instanceOf('web@.service'), undefined);
  t.equal(prefixOf('web-discovery@3.service'), 'web-discovery');
  t.equal(prefixOf('hosts.service'), 'hosts');
  t.equal(instanceName('web@.service', '2'), 'web@2.service');
  t.throws(() => instanceName('web.service', '2'), { code: 'ERR_UNIT_NAME' });
  t.throws(() => instanceName('web@.service', ''), { code: 'ERR_UNIT_NAME' });
  t.throws(() => instanceName('web@.service', 'a b'), { code: 'ERR_UNIT_NAME', message: "invalid character ' ' in unit name" });
});

t.test('one home for splitting names: parts, instances pattern, sidekicks', async (t) => {
  const n = await import('../../src/unit/names.js');
  t.same(n.splitUnitName('web@2.service'), { prefix: 'web', instance: '2', stem: 'web@2', suffix: '.service' });
  t.same(n.splitUnitName('web@.service'), { prefix: 'web', instance: '', stem: 'web@', suffix: '.service' });
  t.same(n.splitUnitName('mon.timer'), { prefix: 'mon', instance: undefined, stem: 'mon', suffix: '.timer' });
  t.same(n.unitParts('web@2.service'), { service: 'web', instance: '2', template: false, type: 'service' });
  t.same(n.unitParts('web@.service'), { service: 'web', instance: '', template: true, type: 'service' });
  t.equal(n.instancesPattern('web@.service'), 'web@*.service');
  t.equal(n.sidekickName('web', '2'), 'web-discovery@2.service');
  t.equal(n.sidekickName('web', ''), 'web-discovery.service');
  t.equal(n.sidekickTemplate('web'), 'web-discovery@.service');
  t.equal(n.sidekickOf('web-discovery@2.service'), 'web');
  t.equal(n.sidekickOf('-discovery@2.service'), undefined);
  t.equal(n.sidekickOf('web@2.service'), undefined);
  t.ok(n.compareInstances('2', '10') < 0, 'numbers compare as numbers');
  t.ok(n.compareInstances('b', 'a') > 0);
});
