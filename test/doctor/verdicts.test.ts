/**
 * doctor's pure parts: reading version output as real hosts print it, the clock bounds from dated answers,
 * fleet's need of etcd's v2 API by version, the minimum versions a spec's units raise, and the runner's
 * deadline over a check that never ends.
 */
import t from 'tap';
import { parseDockerVersion, parseSystemdVersion } from '../../src/doctor/check-versions.js';
import { skewBounds, skewVerdict } from '../../src/doctor/check-clock.js';
import { v2Verdict } from '../../src/doctor/check-etcd.js';
import { runChecks, ok } from '../../src/doctor/check.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { requiredVersions } from '../../src/target/required-versions.js';
import { TARGETS } from '../../src/target/targets.js';

t.test('versions as hosts print them', async (t) => {
  // Debian 12's systemctl; Container Linux 1235's (systemd 231) prints the same first line shape.
  t.equal(parseSystemdVersion('systemd 252 (252.39-1~deb12u2)\n+PAM +AUDIT +SELINUX\n'), 252);
  t.equal(parseSystemdVersion('systemd 231\n+PAM +AUDIT +SELINUX +IMA -APPARMOR\n'), 231);
  t.equal(parseSystemdVersion('not systemd\n'), undefined);
  t.same(parseDockerVersion('Docker version 20.10.24+dfsg1, build 297e128\n'), [20, 10]);
  t.same(parseDockerVersion('Docker version 1.12.6, build a82d35e\n'), [1, 12]);
  t.same(parseDockerVersion('Docker version 17.09.1-ce, build 19e2cf6\n'), [17, 9]);
  t.same(parseDockerVersion('28.2.2'), [28, 2], 'the engine API\'s Version field');
  t.equal(parseDockerVersion('podman'), undefined);
});

t.test('clock bounds from dated answers', async (t) => {
  // etcd 30 s behind local: answers dated (local − 30 s) truncated to the second.
  const base = 1_800_000_000_000;
  const answers = [0, 300, 600, 745, 755].map((at) => {
    const local = base + 250 + at;
    return { date: Math.floor((local - 30_000) / 1000) * 1000, sentAt: local - 2, receivedAt: local + 2 };
  });
  const { lo, hi } = skewBounds(answers);
  t.ok(lo <= -30_000 && hi >= -30_000, `the true difference lies within [${lo}, ${hi}]`);
  t.ok(hi - lo <= 30, 'an answer on each side of a second boundary bounds it to a few ms');
  t.match(skewVerdict(lo, hi, 1000, 'http://e'), { status: 'fail', message: /this host's clock is 30 s ± \d+ ms ahead of etcd's \(http:\/\/e\); more than 1 s/ });
  t.match(skewVerdict(1500, 1600, 1000, 'e'), { status: 'fail', message: /behind etcd's/ });
  t.match(skewVerdict(-200, 180, 1000, 'e'), { status: 'ok', message: /within 1 s/ });
  t.match(skewVerdict(-300, 1400, 1000, 'e'), { status: 'unknown' }, 'bounds that straddle the threshold decide nothing');
  // One answer alone bounds the difference to a second and its round trip.
  const one = skewBounds([{ date: base, sentAt: base + 400, receivedAt: base + 410 }]);
  t.same(one, { lo: -410, hi: 600 });
});

t.test('fleet needs the v2 API: etcd 3.6 has none', async (t) => {
  t.match(v2Verdict('3.6.0'), { status: 'fail', message: /etcd 3\.6\.0 has no v2 API \(etcd 3\.6 removed it\)/, hint: /3\.5 with --enable-v2=true/ });
  t.match(v2Verdict('4.0.1'), { status: 'fail' });
  t.equal(v2Verdict('3.5.17'), undefined, '3.5 may serve it: the v2 request decides');
  t.equal(v2Verdict('3.4.23'), undefined);
  t.match(v2Verdict('main'), { status: 'unknown' });
});

t.test('the units raise the minimum above the target', async (t) => {
  const plain = parseSpec('name: t\nservices: { web: { image: nginx } }\n', 'cluster.yaml');
  t.same(requiredVersions(renderCluster({ ...plain, target: 'legacy' }).files, TARGETS.legacy),
    { systemd: { version: 231, why: 'target legacy' }, docker: { version: [1, 12], why: 'target legacy' } });
  const spec = parseSpec(`name: t
x-fleetkit: { target: legacy }
services:
  web:
    image: nginx
    x-systemd: { Unit: { Upholds: [other.service] } }
`, 'cluster.yaml');
  const needs = requiredVersions(renderCluster(spec).files, TARGETS.legacy);
  t.same(needs.systemd, { version: 249, why: 'Upholds= in web@.service' }, 'x-systemd asks for Upholds= (249), a warning at render time');
  t.same(needs.docker, { version: [1, 12], why: 'target legacy' });
  const current = parseSpec('name: t\nservices: { web: { image: nginx } }\n', 'cluster.yaml');
  t.same(requiredVersions(renderCluster(current).files, TARGETS.current).docker, { version: [20, 10], why: 'target current' });
});

t.test('the runner: a check that never ends is unknown at its deadline, order and prerequisites kept', async (t) => {
  const seen: string[] = [];
  const reports = await runChecks([
    { name: 'hangs', run: () => new Promise(() => undefined) },
    { name: 'first', run: async () => ok('fine') },
    { name: 'after', after: ['first'], run: async (ctx) => ok(`saw ${ctx.before.get('first')?.status}`) },
  ], 50, (r) => seen.push(r.check));
  t.same(seen, ['hangs', 'first', 'after'], 'reported in the order given');
  t.match(reports[0], { check: 'hangs', status: 'unknown', message: 'no answer within 50 ms', hint: /raise --timeout/ });
  t.match(reports[2], { status: 'ok', message: 'saw ok' });
  const thrown = await runChecks([{ name: 'throws', run: async () => { throw Object.assign(new Error('boom'), { hint: 'do x' }); } }], 50);
  t.match(thrown[0], { status: 'fail', message: 'boom', hint: 'do x' });
});
