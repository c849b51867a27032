/**
 * The containers' hosts file (src/hosts/container-hosts.ts): bare service names and Compose aliases go to
 * the lowest-numbered live instance, instance names win over bare names, hostile aliases never reach a line,
 * and the host's own file never gets a bare name. Pure: records as the agent writes them, read back as the
 * watcher reads them.
 */
import t from 'tap';
import { isRejection, parseAnnouncement, type Announcement } from '../../src/hosts/parse-announcement.js';
import { selectEntries } from '../../src/hosts/select-entries.js';
import { renderEntryLines } from '../../src/hosts/render-hosts.js';
import { assignBareNames, compareKeys, containerLinesOf, renderContainerHosts, renderContainerLines } from '../../src/hosts/container-hosts.js';
import { serializeRecord } from '../../src/announce/record.js';
import { validateRegistration } from '../../src/announce/registration.js';
import { reservedNames } from '../../src/hosts/reserved-names.js';

/** A record as the agent serializes it (src/announce/record.ts), so the reader is tested on the real shape. */
const record = (ip: string, hostname: string, aliases?: string[]): string =>
  serializeRecord({ ip, hostname, host: 'core-01', machine: 'm', container: hostname, version: 1, time: '2026-12-03T00:00:00.000Z', ...(aliases ? { aliases } : {}) });
const ann = (key: string, value: string): Announcement => {
  const a = parseAnnouncement(key, value);
  if (isRejection(a)) throw new Error(a.reject);
  return a;
};
const noFlannel = { config: undefined, leases: new Map() };
const linesOf = (anns: Announcement[]): string => renderContainerLines(selectEntries(anns, noFlannel).entries, 'shop');
const BASE = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

t.test('keys sort with numbers as numbers', async (t) => {
  const keys = ['/s/shop/web/10', '/s/shop/web/2', '/s/shop/web/1', '/s/shop/web/02', '/s/shop/db/1', '/s/shop/web/99999999999999999999'];
  t.strictSame([...keys].sort(compareKeys), ['/s/shop/db/1', '/s/shop/web/1', '/s/shop/web/02', '/s/shop/web/2', '/s/shop/web/10', '/s/shop/web/99999999999999999999']);
  t.equal(compareKeys('/a/9', '/a/10'), -1 * Math.abs(compareKeys('/a/9', '/a/10')), '9 before 10');
  t.ok(compareKeys('/a/b', '/a/b') === 0);
});

t.test('the bare name goes to the lowest-numbered live instance, with the aliases', async (t) => {
  const web = [3, 1, 2, 10].map((i) => ann(`/services/shop/web/${i}`, record(`10.1.0.${i}`, `web-${i}`, ['web', 'www'])));
  const db = ann('/services/shop/db/1', record('10.1.9.1', 'db-1', ['db']));
  t.equal(
    linesOf([...web, db]),
    BASE +
      '10.1.9.1\tdb-1 db-1.shop db\n' +
      '10.1.0.1\tweb-1 web-1.shop web www\n' +
      '10.1.0.10\tweb-10 web-10.shop\n' +
      '10.1.0.2\tweb-2 web-2.shop\n' +
      '10.1.0.3\tweb-3 web-3.shop\n',
  );
  // Instance 1 goes (stopped, unhealthy): the name moves to instance 2, not 10 (numbers, not text).
  t.match(linesOf([web[0]!, web[2]!, web[3]!, db]), /^10\.1\.0\.2\tweb-2 web-2\.shop web www$/m);
  t.notMatch(linesOf([web[0]!, web[2]!, web[3]!, db]), /web-10 web-10\.shop web/);
  // The IP of instance 1 changes (it restarted elsewhere): the bare name follows it.
  const moved = ann('/services/shop/web/1', record('10.1.77.7', 'web-1', ['web', 'www']));
  t.match(linesOf([moved, ...web.slice(1), db]), /^10\.1\.77\.7\tweb-1 web-1\.shop web www$/m);
});

t.test('a name that is an instance name stays with that instance; names compare case-insensitively', async (t) => {
  // A service named "db-1" (its instance is db-1-1) must not take the line of db's instance 1, nor duplicate it.
  const db = ann('/services/shop/db/1', record('10.1.9.1', 'db-1', ['db']));
  const odd = ann('/services/shop/db-1/1', record('10.1.9.2', 'db-1-1', ['db-1', 'DB']));
  const bare = assignBareNames(selectEntries([db, odd], noFlannel).entries);
  t.strictSame(bare.names.get('/services/shop/db/1'), ['db']);
  t.notOk(bare.names.has('/services/shop/db-1/1'), 'DB is db, and /db/1 sorts first');
  t.match(bare.refused.get('/services/shop/db-1/1'), /alias "db-1" is the host name of "\/services\/shop\/db\/1"/);
  t.equal(linesOf([db, odd]), `${BASE}10.1.9.1\tdb-1 db-1.shop db\n10.1.9.2\tdb-1-1 db-1-1.shop\n`);
  // localhost and docker's IPv6 names are every container's already.
  const evil = ann('/services/shop/evil/1', record('10.1.6.6', 'evil-1', ['localhost', 'ip6-allnodes', 'evil']));
  const b2 = assignBareNames(selectEntries([evil], noFlannel).entries);
  t.strictSame(b2.names.get('/services/shop/evil/1'), ['evil']);
  t.match(b2.refused.get('/services/shop/evil/1'), /"localhost".*"ip6-allnodes"/);
  t.equal(linesOf([evil]), `${BASE}10.1.6.6\tevil-1 evil-1.shop evil\n`, 'localhost only on the base lines');
});

t.test('hostile aliases in etcd are refused with the record, and never become a line', async (t) => {
  const hostile: Array<[unknown, RegExp]> = [
    [['db\n10.0.0.1 bank'], /not a host name label/],
    [['db 10.0.0.1'], /not a host name label/],
    [['db#x'], /not a host name label/],
    [['-db'], /not a host name label/],
    [['db.evil.com'], /not a host name label/],
    [['a'.repeat(64)], /not a host name label/],
    [[''], /not a host name label/],
    [[7], /not a host name label/],
    ['db', /not a list/],
    [{ 0: 'db' }, /not a list/],
    [Array.from({ length: 33 }, (_, i) => `n${i}`), /not a list of at most 32/],
  ];
  for (const [aliases, why] of hostile) {
    const value = JSON.stringify({ ip: '10.1.0.5', hostname: 'web-1', aliases });
    const a = parseAnnouncement('/services/shop/web/1', value);
    t.ok(isRejection(a), `${JSON.stringify(aliases).slice(0, 40)} refused`);
    if (isRejection(a)) t.match(a.reject, why);
  }
  // The same rule where the alias enters: the agent's socket refuses it before etcd ever sees it.
  t.throws(() => validateRegistration({ key: '/services/shop/web/1', container: 'web-1', ttl: 60, aliases: ['db\nx'] }, { prefix: '/services' }), { code: 'ERR_ALIAS' });
  t.strictSame(validateRegistration({ key: '/services/shop/web/1', container: 'web-1', ttl: 60, aliases: ['web', 'www', 'web'] }, { prefix: '/services' }).aliases, ['web', 'www']);
});

t.test("the host's file never gets a bare name; the containers' file is the whole file", async (t) => {
  const a = ann('/services/shop/web/1', record('10.1.0.1', 'web-1', ['web', 'www']));
  const { entries } = selectEntries([a], noFlannel);
  t.equal(renderEntryLines(entries, 'shop'), '10.1.0.1 web-1 web-1.shop\n', 'host block: instance names only');
  const text = renderContainerHosts(entries, { cluster: 'shop', revision: 42 });
  t.match(text, /^# Managed by fleetkit watch-hosts: cluster shop, etcd revision 42, 1 entries\./);
  t.equal(containerLinesOf(text), renderContainerLines(entries, 'shop'), 'the header is all that is not compared');
  t.equal(text.split('\n').filter((l) => l.startsWith('#')).length, 1);
  t.equal(renderContainerLines([], 'shop'), BASE, 'no entry: what docker itself would write, less the container line');
  // An instance name reserved on the host (its static /etc/hosts names it) is left out of both files.
  const reserved = reservedNames({ cluster: 'shop', machineNames: ['core-01'], files: [['/etc/hosts', '10.0.0.9 web-1\n']] });
  const sel = selectEntries([a], noFlannel, reserved);
  t.equal(sel.entries.length, 0);
  t.equal(renderContainerLines(sel.entries, 'shop'), BASE);
});

t.test('records from agents without aliases still list their instance', async (t) => {
  const old = ann('/services/shop/web/1', JSON.stringify({ ip: '10.1.0.1', hostname: 'web-1', host: 'h', machine: 'm', container: 'web-1', version: 1, time: 't' }));
  t.equal(linesOf([old]), `${BASE}10.1.0.1\tweb-1 web-1.shop\n`);
});
