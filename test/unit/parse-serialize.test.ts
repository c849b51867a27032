import t from 'tap';
import { parseUnit } from '../../src/unit/parse.js';
import { serializeUnit } from '../../src/unit/serialize.js';
import { fleetHash, shortHash } from '../../src/unit/hash.js';
import type { UnitOption } from '../../src/unit/model.js';

const o = (section: string, name: string, value: string): UnitOption => ({ section, name, value });

t.test('parseUnit reads as fleet does', async (t) => {
  const text = [
    'junk before any section is skipped',
    '[Unit]',
    '# comment',
    '  ; indented comment \\',
    'still the comment (continued)',
    'Description = web  # not a comment ',
    'After=a.service',
    'After=b.service',
    '',
    '[Service]',
    'ExecStart=/bin/echo a \\',
    '  b \\',
    'c',
    'Environment=',
    'X=a=b',
    '[X-Fleet]\r',
    'Conflicts=web@*.service\r',
  ].join('\n');
  t.same(parseUnit('web.service', text).options, [
    o('Unit', 'Description', 'web  # not a comment'),
    o('Unit', 'After', 'a.service'),
    o('Unit', 'After', 'b.service'),
    o('Service', 'ExecStart', '/bin/echo a \\\n  b \\\nc'),
    o('Service', 'Environment', ''),
    o('Service', 'X', 'a=b'),
    o('X-Fleet', 'Conflicts', 'web@*.service'),
  ]);
  // A blank line ends a continuation; the dangling backslash stays (fleet's behaviour).
  t.same(parseUnit('a.service', '[S]\nA=x \\\n\nB=y\n').options, [o('S', 'A', 'x \\'), o('S', 'B', 'y')]);
});

t.test('parseUnit errors', async (t) => {
  const long = 'x'.repeat(2048);
  t.throws(() => parseUnit('a.service', `[Service]\nExecStart=/bin/echo ${long}\n`), {
    code: 'ERR_UNIT_LINE',
    message: 'a.service: line 2 (ExecStart): line too long (max 2048 bytes)',
  });
  // 2047 bytes and a newline fit; 2048 bytes do not.
  const fits = `A=${'y'.repeat(2045)}`;
  t.equal(parseUnit('a.service', `[S]\n${fits}\n[T]\nB=1\n`).options[0]?.value.length, 2045);
  t.throws(() => parseUnit('a.service', `[S]\n${fits}y\n[T]\nB=1\n`), { code: 'ERR_UNIT_LINE', message: /line 2 /u });
  t.throws(() => parseUnit('a.service', '[Unit\nA=b\n'), { code: 'ERR_UNIT_SYNTAX', message: /end of section/u });
  t.throws(() => parseUnit('a.service', '[Unit] x\n'), { code: 'ERR_UNIT_SYNTAX', message: /garbage/u });
  t.throws(() => parseUnit('a.service', '[Unit]\nNoEquals\nA=b\n'), { code: 'ERR_UNIT_SYNTAX', message: /line 2: unexpected newline/u });
  t.throws(() => parseUnit('a.service', '[Unit]\nNoEquals'), { code: 'ERR_UNIT_SYNTAX', message: /end of file/u });
});

t.test('serializeUnit', async (t) => {
  const unit = { name: 'web.service', options: [o('Unit', 'Description', 'w'), o('Service', 'ExecStart', '/bin/true'), o('Unit', 'After', 'x.service')] };
  t.equal(serializeUnit(unit), '[Unit]\nDescription=w\nAfter=x.service\n\n[Service]\nExecStart=/bin/true\n');
  t.equal(serializeUnit({ name: 'e.service', options: [] }), '');
  t.same(parseUnit(unit.name, serializeUnit(unit)).options, [unit.options[0], unit.options[2], unit.options[1]]);
  const cont = { name: 'c.service', options: [o('Service', 'ExecStart', '/bin/echo a \\\n  b')] };
  t.same(parseUnit(cont.name, serializeUnit(cont)), cont);

  const refuse: Array<[UnitOption, string, RegExp]> = [
    [o('Unit', 'Description', 'x\nExecStartPre=/bin/evil'), 'ERR_UNIT_VALUE', /\[Unit\] Description: the value contains a newline/u],
    [o('Unit', 'Description', 'x \\\n\nExecStartPre=/bin/evil'), 'ERR_UNIT_VALUE', /newline/u],
    [o('Unit', 'Description', 'x \\\n# hidden'), 'ERR_UNIT_VALUE', /newline/u],
    [o('Unit', 'Description', 'x\r[Service]'), 'ERR_UNIT_VALUE', /carriage return/u],
    [o('Unit', 'Description', 'x\\'), 'ERR_UNIT_VALUE', /join the next line/u],
    [o('Unit', 'Description', ' x'), 'ERR_UNIT_VALUE', /whitespace/u],
    [o('Unit', 'A=B', 'x'), 'ERR_UNIT_SYNTAX', /directive name/u],
    [o('Unit', '#A', 'x'), 'ERR_UNIT_SYNTAX', /directive name/u],
    [o('Un]it', 'A', 'x'), 'ERR_UNIT_SYNTAX', /section name/u],
    [o('Service', 'ExecStart', `/bin/echo ${'z'.repeat(2028)}`), 'ERR_UNIT_LINE', /^big\.service: \[Service\] ExecStart: line too long \(2049 bytes/u],
  ];
  for (const [opt, code, message] of refuse) {
    t.throws(() => serializeUnit({ name: 'big.service', options: [opt] }), { code, message }, JSON.stringify(opt));
  }
  t.doesNotThrow(() => serializeUnit({ name: 'big.service', options: [o('Service', 'ExecStart', `/bin/echo ${'z'.repeat(2027)}`)] }));
});

t.test('fleet hash matches fleetd v1.0.0', async (t) => {
  // api-transcript-paging.txt: units with only [Service] ExecStart=/bin/true list hash 86943ac.
  const pa = parseUnit('pa.service', '[Service]\nExecStart=/bin/true\n');
  t.equal(shortHash(pa), '86943ac');
  t.equal(fleetHash(pa), '86943ac9f3754cb90f8dd38bf6da7b0cad074592');
  // fleetctl-http-proxy.log: nomatch.service, be819de886e95b386f79eaca58a4984c9de83786.
  t.equal(fleetHash({ options: [o('Service', 'ExecStart', '/bin/sleep 1000'), o('X-Fleet', 'MachineMetadata', 'region=mars')] }),
    'be819de886e95b386f79eaca58a4984c9de83786');
  // web.service 95e9059: the transcripts renamed the word "probe" to "worker"; the recorded hash is of the
  // original unit, whose Description was "probe web" (verified: "worker web" gives another hash).
  const web = (desc: string): string => `[Unit]\nDescription=${desc}\n\n[Service]\nExecStart=/bin/sleep 1000\n\n[X-Fleet]\nMachineMetadata=region=local\nConflicts=web*.service\n`;
  t.equal(fleetHash(parseUnit('web.service', web('probe web'))), '95e905931c8a154633006321ad5b908ab7bc720d');
  t.not(shortHash(parseUnit('web.service', web('worker web'))), '95e9059');
  // hello2.service (b239b34…) likewise had MachineMetadata=role=probe.
  t.equal(fleetHash({ options: [o('Unit', 'Description', 'hello2 via fleetctl'), o('Service', 'ExecStart', '/bin/sleep 1000'),
    o('X-Fleet', 'MachineMetadata', 'role=probe'), o('X-Fleet', 'Conflicts', 'hello*.service')] }), 'b239b345fff88576e5e93c778715b93b50f89839');

  // Comments and layout do not change the hash; order does.
  const messy = '# top\n\n[Service]\n  ; c\nExecStart =  /bin/true   \n\n\n';
  t.equal(shortHash(parseUnit('pa.service', messy)), '86943ac');
  t.not(fleetHash({ options: [o('A', 'x', '1'), o('A', 'y', '2')] }), fleetHash({ options: [o('A', 'y', '2'), o('A', 'x', '1')] }));
});
