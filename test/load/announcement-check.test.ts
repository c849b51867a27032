/**
 * Which announcement a unit's health needs (read from the rendered sidekick), and when a value in etcd is
 * the announcement of the container that runs now: not missing, valid, naming that container and machine,
 * and made after that container started (an old container's record never counts). A global service's key
 * names the host: every machine it runs on must have announced its own container under its own key.
 */
import t from 'tap';
import { parseSpec } from '../../src/cluster/load.js';
import { serializeRecord } from '../../src/announce/record.js';
import { renderCluster } from '../../src/render/render.js';
import { announcementWants, isPerHost, notAnnouncedOnEach, notAnnouncedYet, OTHER_CLOCK_SLACK_MS, type AnnouncementWant } from '../../src/load/announcement-check.js';
import { parseUnit } from '../../src/unit/parse.js';
import { instanceName } from '../../src/unit/names.js';

// The units as fleet gets them: instances carry their template's options.
const spec = parseSpec('name: shop\netcd: { prefix: /svc }\nservices:\n  web:\n    image: nginx:1.25\n    deploy: { replicas: 2 }\n    x-announce: { port: 80 }\n  db:\n    image: postgres:16\n', 'cluster.yaml');
const files = renderCluster(spec).files;
const units = ['web@1.service', 'web-discovery@1.service', 'web@2.service', 'web-discovery@2.service', 'db@1.service'].map((name) => {
  const template = files.find((f) => f.name === name.replace(/@\d+\./, '@.'))!;
  return { ...parseUnit(template.name, template.text), name: instanceName(template.name, name.split('@')[1]!.split('.')[0]!) };
});

t.test('the container unit needs its sidekick\'s announcement; a sidekick started alone needs it itself', async (t) => {
  const all = announcementWants(units, units.map((u) => u.name));
  t.same([...all.keys()].sort(), ['web@1.service', 'web@2.service'], 'the containers with x-announce; db has none, the sidekicks are judged on their state');
  t.same(all.get('web@2.service'), { key: '/svc/shop/web/2', container: 'web-2', containerUnit: 'web@2.service', sidekick: 'web-discovery@2.service' });
  const alone = announcementWants(units, ['web-discovery@1.service']);
  t.same([...alone.keys()], ['web-discovery@1.service']);
  t.equal(alone.get('web-discovery@1.service')?.containerUnit, 'web@1.service');
});

const want: AnnouncementWant = { key: '/svc/shop/web/1', container: 'web-1', containerUnit: 'web@1.service', sidekick: 'web-discovery@1.service' };
const M = 'a'.repeat(32);
const value = (o: { time: string; container?: string; machine?: string }) => serializeRecord({ ip: '10.1.2.3', port: 80, hostname: 'web-1', host: 'n1', machine: o.machine ?? M, container: o.container ?? 'web-1', version: 1, time: o.time });
const started = Date.parse('2026-01-01T10:00:00Z');
const c = { at: started, machine: M, runStart: started - 500, fresh: true };

t.test('an announcement of the container that runs now counts', async (t) => {
  t.equal(notAnnouncedYet(want, value({ time: '2026-01-01T10:00:01Z' }), c), undefined);
  t.equal(notAnnouncedYet(want, value({ time: '2026-01-01T10:00:01Z', machine: 'b'.repeat(32) }), { ...c, machine: undefined }), undefined, 'no machine known (systemd): not compared');
});

t.test('what does not count, and says why', async (t) => {
  t.match(notAnnouncedYet(want, undefined, c), /^not announced in etcd at \/svc\/shop\/web\/1$/);
  t.match(notAnnouncedYet(want, '{"ip":"10.1.2.3","hostname":"web 1"}', c), /not valid \("hostname"/);
  t.match(notAnnouncedYet(want, 'not json', c), /not valid/);
  t.match(notAnnouncedYet(want, value({ time: '2026-01-01T10:00:01Z', container: 'web-2' }), c), /announces container "web-2", not web-1/);
  t.match(notAnnouncedYet(want, value({ time: '2026-01-01T10:00:01Z', machine: 'b'.repeat(32) }), c), /announced by machine b{32}, not by a{32} where the container runs/);
  t.match(notAnnouncedYet(want, value({ time: '2026-01-01T09:59:59Z' }), c), /older than its container's start/, 'the old container\'s record (a replace): made before the new one started');
  t.match(notAnnouncedYet(want, value({ time: 'yesterday' }), c), /has no time/);
});

t.test('without the container\'s start, the start jobs\' time less the slack for another clock', async (t) => {
  const noStart = { at: undefined, machine: undefined, runStart: started, fresh: true };
  t.equal(notAnnouncedYet(want, value({ time: new Date(started - OTHER_CLOCK_SLACK_MS + 100).toISOString() }), noStart), undefined);
  t.match(notAnnouncedYet(want, value({ time: new Date(started - OTHER_CLOCK_SLACK_MS - 100).toISOString() }), noStart), /older/);
});

t.test('a unit found already running keeps its announcement; one started anew needs one of this run', async (t) => {
  const longAgo = { at: started - 3_600_000, machine: M, runStart: started, fresh: false };
  t.equal(notAnnouncedYet(want, value({ time: new Date(started - 3_000_000).toISOString() }), longAgo), undefined, 'unchanged and up: announced after its container started, long before this run');
  t.match(notAnnouncedYet(want, value({ time: new Date(started - 3_000_000).toISOString() }), { ...longAgo, fresh: true }), /older/, 'started by this run but the facts still show the old container: the old record does not count');
  t.equal(notAnnouncedYet(want, value({ time: new Date(started - 3_000_000).toISOString() }), { ...longAgo, at: undefined }), undefined, 'found running, no facts: its record stands');
});

t.test('a sidekick not started by the command (start web@1 by name) still names its container unit\'s key', async (t) => {
  const wants = announcementWants(units, ['web@1.service', 'db@1.service']);
  t.same([...wants.keys()], ['web@1.service'], 'web-discovery@1 is not waited on, but web@1 needs its key; web@2 is not waited on at all');
  t.equal(wants.get('web@1.service')?.key, '/svc/shop/web/1');
});

t.test('a global service: each machine it runs on announces its own container under its own key', async (t) => {
  const g = parseSpec('name: shop\netcd: { prefix: /svc }\nservices:\n  mon:\n    image: nginx:1.25\n    x-fleet: { global: true }\n    x-announce: { port: 80 }\n', 'cluster.yaml');
  const gu = renderCluster(g).files.filter((f) => f.name.startsWith('mon')).map((f) => parseUnit(f.name, f.text));
  const w = announcementWants(gu, ['mon.service']).get('mon.service')!;
  t.equal(w.key, '/svc/shop/mon/%H', 'the key names the host');
  t.ok(isPerHost(w));
  t.notOk(isPerHost(want), 'an instance\'s key does not');
  const [A, B] = ['a'.repeat(32), 'b'.repeat(32)];
  const rec = (host: string, machine: string, time = '2026-01-01T10:00:01Z') => [`/svc/shop/mon/${host}`, serializeRecord({ ip: '10.1.2.3', port: 80, hostname: `mon-${host}`, host, machine, container: 'mon', version: 1, time })] as const;
  const base = { runStart: started - 500, fresh: true };
  const at = () => started;
  t.equal(notAnnouncedOnEach(w, new Map([rec('n1', A), rec('n2', B), ['/svc/shop/other/n1', 'x']]), [A, B], base, at), undefined, 'both machines announced, each under its host name');
  t.equal(notAnnouncedOnEach(w, new Map([rec('n1', A)]), [A, B], base, at), `on machine bbbbbbbb (one of 2), not announced in etcd at /svc/shop/mon/%H`, 'one machine has not announced');
  t.match(notAnnouncedOnEach(w, new Map([rec('n1', A), rec('n2', B, '2026-01-01T09:00:00Z')]), [A, B], base, at), /^on machine bbbbbbbb \(one of 2\), the announcement at \/svc\/shop\/mon\/n2 \(made 2026-01-01T09:00:00Z\) is older than its container's start/, 'an old container\'s record on one machine');
  t.equal(notAnnouncedOnEach(w, new Map([rec('host', A)]), [], base, at), undefined, 'one host (systemd names no machines): its one key');
  t.equal(notAnnouncedOnEach(w, new Map(), [], base, at), 'not announced in etcd at /svc/shop/mon/%H');
});
