/**
 * The pure parts of logs and events: journalctl and ssh command lines (quoting included), journal JSON
 * parsing, merging instances by time, log and event line formats (golden files, colour on and off), the
 * fleet poll diff and the announcement tracker.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { journalctlArgs, shellQuote, sshArgv } from '../../src/journal/journal-command.js';
import { formatShort, parseJournalJson, type JournalEntry } from '../../src/journal/journal-entry.js';
import { AnnouncementTracker } from '../../src/ops/announcement-events.js';
import { diffFleet, EMPTY_FLEET_SNAPSHOT, stateKey, type FleetSnapshot } from '../../src/ops/fleet-diff.js';
import { formatLogLine, mergeEntries, type LabelledEntry } from '../../src/ops/log-lines.js';
import { globRegExp, parseLines, parseLogName, parsePriority } from '../../src/ops/log-names.js';
import { eventJson, formatEventLine, unitStateAction, type OpsEvent } from '../../src/ops/ops-event.js';
import { unitNameFromPath } from '../../src/systemd/watch-unit-states.js';
import { matchGolden } from '../support/golden.js';

const golden = (name: string): string => fileURLToPath(new URL(`./golden/${name}`, import.meta.url));

t.test('journalctl arguments and the ssh command line', async (t) => {
  t.same(journalctlArgs({ units: ['web@1.service'], user: false, lines: 10, follow: false }),
    ['-u', 'web@1.service', '--no-pager', '-q', '-o', 'json', '-n', '10']);
  t.same(journalctlArgs({ units: ['w.service', 'w@*.service'], user: true, dir: '/j', since: '-1h', afterCursor: 's=1;i=2', follow: true }),
    ['-D', '/j', '--user-unit', 'w.service', '--user-unit', 'w@*.service', '--no-pager', '-q', '-o', 'json', '--since', '-1h', '--after-cursor', 's=1;i=2', '-f']);
  t.same(journalctlArgs({ units: ['a.service'], user: false, lines: 'all', priority: 'warning..err', until: 'yesterday', reverse: true, follow: false }),
    ['-u', 'a.service', '--no-pager', '-q', '-o', 'json', '-n', 'all', '-p', 'warning..err', '--until', 'yesterday', '-r']);
  const argv = sshArgv({ host: '10.0.0.2', user: 'core', options: ['Port=2222'] },
    journalctlArgs({ units: ['web@1.service'], user: false, since: "2024-05-01 10:00'; rm -rf /", follow: false }));
  t.same(argv.slice(0, 9), ['-o', 'Port=2222', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'ServerAliveInterval=10', '-l']);
  t.same(argv.slice(9, 12), ['core', '--', '10.0.0.2'], '"--" before the host: a host can never be read as an option');
  t.equal(argv[12], `journalctl -u web@1.service --no-pager -q -o json --since '2024-05-01 10:00'\\''; rm -rf /'`, 'the remote shell gets every word quoted');
  t.equal(shellQuote('$(id)'), `'$(id)'`);
  t.equal(shellQuote('web@1.service'), 'web@1.service');
});

t.test('journal JSON entries', async (t) => {
  const e = parseJournalJson(JSON.stringify({ __REALTIME_TIMESTAMP: '1700000000123456', __CURSOR: 'c1', MESSAGE: [104, 105, 0xff], PRIORITY: '3', _PID: '42', SYSLOG_IDENTIFIER: 'web', _HOSTNAME: 'h1', _SYSTEMD_USER_UNIT: 'w.service' }));
  t.match(e, { realtimeUs: 1700000000123456, cursor: 'c1', message: 'hi\ufffd', priority: 3, pid: 42, identifier: 'web', hostname: 'h1', unit: 'w.service' });
  t.equal(parseJournalJson('not json'), undefined);
  t.equal(parseJournalJson('{"MESSAGE":"no time"}'), undefined);
  t.equal(parseJournalJson('[1]'), undefined);
  t.match(formatShort({ ...e!, message: 'a\nb\x1b[31m' }), /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d h1 web\[42\]: a\\nb\\x1b\[31m$/, 'control characters never reach the terminal');
});

const entry = (us: number, message: string, priority = 6): JournalEntry =>
  ({ realtimeUs: us, cursor: `c${us}`, message, priority, identifier: 'sh', pid: 7, hostname: 'h', unit: undefined });
const from = (label: string, ...es: JournalEntry[]): LabelledEntry[] => es.map((e) => ({ entry: e, label, unit: `${label}.service`, machine: undefined }));

t.test('merging instances by time', async (t) => {
  const a = from('web@1', entry(10, 'a1'), entry(30, 'a2'), entry(30, 'a3'));
  const b = from('web@10', entry(20, 'b1'), entry(30, 'b2'));
  t.same(mergeEntries([a, b]).map((e) => e.entry.message), ['a1', 'b1', 'a2', 'a3', 'b2'], 'ties keep instance order, then journal order');
  t.same(mergeEntries([a, b], 2).map((e) => e.entry.message), ['a3', 'b2']);
  t.same(mergeEntries([a, b], 0), []);
  const lines = mergeEntries([a, b]).map((e) => formatLogLine(e, { output: 'cat', labelWidth: 6, color: false }));
  t.same(lines.slice(0, 2), ['web@1  | a1', 'web@10 | b1']);
  t.equal(formatLogLine(from('w', entry(1, 'oops', 3))[0]!, { output: 'cat', labelWidth: undefined, color: true }), '\x1b[31moops\x1b[0m', 'errors red on a terminal');
  t.equal(formatLogLine(from('w', entry(1_700_000_000_123_456, 'x'))[0]!, { output: 'json', labelWidth: undefined, color: true }),
    '{"time":"2023-11-14T22:13:20.123Z","timestampUs":"1700000000123456","instance":"w","unit":"w.service","machine":null,"hostname":"h","identifier":"sh","pid":7,"priority":6,"message":"x"}');
});

t.test('merging newest first (-r): -n keeps the newest, in reverse', async (t) => {
  const a = from('web@1', entry(30, 'a2'), entry(10, 'a1'));
  const b = from('web@2', entry(40, 'b2'), entry(20, 'b1'));
  t.same(mergeEntries([a, b], 'all', true).map((e) => e.entry.message), ['b2', 'a2', 'b1', 'a1']);
  t.same(mergeEntries([a, b], 3, true).map((e) => e.entry.message), ['b2', 'a2', 'b1']);
  t.same(mergeEntries([from('w', entry(10, 'x'), entry(20, 'y'))], 1).map((e) => e.entry.message), ['y'], 'without -r the newest is last');
});

t.test('names as journalctl -u reads them, and the service form', async (t) => {
  const pick = (name: string, units: string[]): string[] => units.filter(parseLogName(name).matches);
  const units = ['web.service', 'web@1.service', 'web@10.service', 'web-discovery@1.service', 'webapp@1.service', 'db.service', 'mon.timer'];
  t.same(parseLogName('web').patterns, ['web.service', 'web@*.service'], 'a service: the plain unit and every instance');
  t.same(pick('web', units), ['web.service', 'web@1.service', 'web@10.service']);
  t.same(parseLogName('web@2').patterns, ['web@2.service'], '.service added, as journalctl mangles a name');
  t.same(parseLogName('mon.timer').patterns, ['mon.timer']);
  t.same(parseLogName('web@*').patterns, ['web@*'], 'a glob is passed on as given (journalctl matches it against whole unit names)');
  t.same(pick('web@*', units), ['web@1.service', 'web@10.service']);
  t.same(pick('web*', units), ['web.service', 'web@1.service', 'web@10.service', 'web-discovery@1.service', 'webapp@1.service']);
  t.same(pick('web@?.service', units), ['web@1.service']);
  t.same(pick('web@[!1]*', ['web@1.service', 'web@2.service']), ['web@2.service'], 'fnmatch negation');
  t.same(pick('web@[0-1]*', ['web@1.service', 'web@2.service']), ['web@1.service']);
  t.ok(globRegExp('a\\x2d[b').test('a\\x2d[b'), 'a backslash is itself and an unclosed [ literal (FNM_NOESCAPE)');
  t.equal(parseLogName('web').several, true);
  t.equal(parseLogName('web@1').several, false);
  for (const bad of ['', '-x', 'web service', 'a/b', "x'y"]) t.throws(() => parseLogName(bad), { code: 'ERR_USAGE' }, bad);
});

t.test('-p as journalctl reads it: names, numbers, ranges in either order', async (t) => {
  t.same(parsePriority('err'), [0, 1, 2, 3], 'a level includes the more important ones');
  t.same(parsePriority('3'), [0, 1, 2, 3]);
  t.same(parsePriority('warning..err'), [3, 4]);
  t.same(parsePriority('2..5'), [2, 3, 4, 5]);
  t.same(parsePriority('debug..emerg'), [0, 1, 2, 3, 4, 5, 6, 7]);
  for (const bad of ['warn', '8', 'ERR', '..', 'err..', '-1']) t.throws(() => parsePriority(bad), { code: 'ERR_USAGE', message: `-p "${bad}" is not a priority` }, bad);
  t.equal(parseLines('all'), 'all');
  t.equal(parseLines('0'), 0);
  t.throws(() => parseLines('-3'), { code: 'ERR_USAGE' });
});

const T = new Date('2026-01-02T03:04:05.678Z');
const M1 = '1'.repeat(32);
const M2 = '2'.repeat(32);

t.test('unit state changes → actions', async (t) => {
  t.same(unitStateAction('activating', 'active'), { action: 'start', severity: 'INFO' });
  t.same(unitStateAction('active', 'failed'), { action: 'die', severity: 'ERROR' });
  t.same(unitStateAction(undefined, 'failed'), { action: 'die', severity: 'ERROR' });
  t.same(unitStateAction('deactivating', 'inactive'), { action: 'stop', severity: 'INFO' });
  t.same(unitStateAction('active', 'activating', 'auto-restart'), { action: 'die', severity: 'ERROR' }, 'Restart=: exited and waiting to restart is a death');
  t.equal(unitStateAction('inactive', 'activating', 'start'), undefined, 'an ordinary start is reported when it is active');
  t.equal(unitStateAction('activating', 'inactive'), undefined, 'a start that never ran is no stop');
  t.equal(unitStateAction('active', 'active'), undefined, 'systemd resends unchanged states');
  t.equal(unitStateAction('active', 'deactivating'), undefined);
  t.equal(unitNameFromPath('/org/freedesktop/systemd1/unit/web_402_2eservice'), 'web@2.service');
  t.equal(unitNameFromPath('/org/freedesktop/systemd1/job/12'), undefined);
});

t.test('fleet polls → events', async (t) => {
  const snap = (o: Partial<Record<keyof FleetSnapshot, Map<string, unknown>>>): FleetSnapshot => ({ ...EMPTY_FLEET_SNAPSHOT, ...o } as FleetSnapshot);
  const a = snap({
    machines: new Map([[M1, '10.0.0.1'], [M2, '10.0.0.2']]),
    units: new Map([['web@1.service', { desired: 'launched', machineID: M1 }], ['old.service', { desired: 'loaded', machineID: M2 }]]),
    states: new Map([[stateKey('web@1.service', M1), { active: 'active', sub: 'running' }], [stateKey('old.service', M2), { active: 'active', sub: 'running' }]]),
  });
  const b = snap({
    machines: new Map([[M1, '10.0.0.1']]),
    units: new Map([['web@1.service', { desired: 'launched', machineID: M1 }], ['web@2.service', { desired: 'launched', machineID: undefined }]]),
    states: new Map([[stateKey('web@1.service', M1), { active: 'failed', sub: 'failed' }]]),
  });
  const events = diffFleet(a, b, T);
  t.same(events.map((e) => `${e.source}/${e.action}/${e.severity} ${e.subject.slice(0, 14)}`), [
    'machine/offline/WARNING 22222222222222',
    'unit/create/INFO web@2.service',
    'unit/delete/INFO old.service',
    'unit/die/ERROR web@1.service',
  ], 'no stop for a unit whose machine went away');
  t.same(diffFleet(a, a, T), [], 'no change, no event');
  t.same(diffFleet(a, b, T, (u) => u !== 'web@1.service').map((e) => e.subject), [M2, 'web@2.service', 'old.service'], 'filtered by unit');
  matchGolden(t, golden('events.txt'), events.map((e) => formatEventLine(e, false)).join('\n') + '\n');
  matchGolden(t, golden('events-color.txt'), events.map((e) => formatEventLine(e, true)).join('\n') + '\n');
  matchGolden(t, golden('events.jsonl'), events.map(eventJson).join('\n') + '\n');
  t.equal(formatEventLine(events[3]!, false), 'Jan 02 03:04:05.678 unit/die ERROR web@1.service [11111111]: failed (failed/failed, was active)');
});

t.test('announcements: create, update, delete; a resync gives exactly the differences', async (t) => {
  const tr = new AnnouncementTracker();
  const rec = (ip: string) => Buffer.from(JSON.stringify({ ip, hostname: 'web-1', machine: M1, container: 'web-1', time: 'x' }));
  t.same(tr.snapshot([{ key: '/s/c/web/1', value: rec('10.0.0.5') }], T), [], 'the first read is the baseline');
  const ch = tr.changes([
    { type: 'put', key: '/s/c/web/1', value: rec('10.0.0.6') },
    { type: 'put', key: '/s/c/web/2', value: Buffer.from('{bad') },
    { type: 'delete', key: '/s/c/web/9', value: Buffer.alloc(0) },
  ], T);
  t.same(ch.map((e: OpsEvent) => [e.action, e.severity]), [['update', 'INFO'], ['create', 'WARNING']], 'a delete of a key never seen is no event');
  t.equal(ch[0]!.message, 'updated: web-1 at 10.0.0.6 (container web-1)');
  t.match(ch[1]!.message, /^announced: unusable value: value is not JSON \(/);
  const resync = tr.snapshot([{ key: '/s/c/web/2', value: Buffer.from('{bad') }, { key: '/s/c/web/3', value: rec('10.0.0.7') }], T);
  t.same(resync.map((e) => [e.action, e.subject]), [['create', '/s/c/web/3'], ['delete', '/s/c/web/1']]);
  t.equal(resync[1]!.message, 'withdrawn: was web-1 at 10.0.0.6 (container web-1)');
});
