// readContainerFacts on real etcd: one record per machine for each asked unit, and whatever an agent could not
// have written (junk, a record copied under another key, a key of another shape) is left out and reported.
import t from 'tap';
import { etcdPart } from '../env/parts.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { encodeFacts, type ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';
import { factsKeeper, factsKeepers, readContainerFacts } from '../../src/etcd/read-facts.js';
import { isLeaseRenewed, RENEWAL_MARGIN_S } from '../../src/etcd/lease-pool.js';

const prefix = `/rf${process.pid}`;
const rec = (machine: string, unit: string, over: Partial<ContainerFactsRecord> = {}): ContainerFactsRecord => ({
  v: 1, unit, machine, phase: 'running', restarts: 0, updatedAt: '2026-12-03T13:00:00Z', configHash: '0123456789abcdef0123456789abcdef', ...over,
});

t.test('facts by unit, per machine; malformed or misplaced values left out', async (t) => {
  const etcd = await etcdPart(t);
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  const put = (k: string, v: string) => client.put(k).value(v).exec();
  await put(factsKey(prefix, 'm2', 'web@1.service'), encodeFacts(rec('m2', 'web@1.service', { phase: 'exited', lastExit: 1, restarts: 3 })));
  await put(factsKey(prefix, 'm1', 'web@1.service'), encodeFacts(rec('m1', 'web@1.service')));
  await put(factsKey(prefix, 'm1', 'web@2.service'), encodeFacts(rec('m1', 'web@2.service')));
  await put(factsKey(prefix, 'm1', 'db@1.service'), encodeFacts(rec('m1', 'db@1.service')));
  // Copied from web@2 to web@3: evidence about web@2, not about web@3.
  await put(factsKey(prefix, 'm1', 'web@3.service'), encodeFacts(rec('m1', 'web@2.service')));
  await put(factsKey(prefix, 'm3', 'web@2.service'), '{"v":1,"unit":"web@2.service"');
  await put(`${prefix}/_facts/m1/web@1.service/extra`, encodeFacts(rec('m1', 'web@1.service')));
  // Announcements beside the facts are not facts.
  await put(`${prefix}/shop/web/1`, '{"ip":"10.0.0.1"}');

  const invalid: string[] = [];
  const got = await readContainerFacts(client, prefix, ['web@1.service', 'web@2.service', 'web@3.service', 'web@9.service'], {
    onInvalid: (key) => invalid.push(key),
  });
  t.strictSame([...got.keys()].sort(), ['web@1.service', 'web@2.service'], 'only asked units with facts; web@3 holds no valid record');
  t.strictSame(got.get('web@1.service')!.map((r) => r.machine), ['m1', 'm2'], 'one record per machine, by machine');
  t.equal(got.get('web@1.service')![1]!.lastExit, 1);
  t.equal(got.get('web@1.service')![1]!.restarts, 3);
  t.strictSame(got.get('web@2.service')!.map((r) => r.machine), ['m1']);
  t.strictSame(invalid.sort(), [
    `${prefix}/_facts/m1/web@1.service/extra`, `${prefix}/_facts/m1/web@3.service`, `${prefix}/_facts/m3/web@2.service`,
  ].sort(), 'each left-out key reported');

  const all = await readContainerFacts(client, prefix);
  t.ok(all.has('db@1.service'), 'no unit list: every unit');
  t.equal((await readContainerFacts(client, `${prefix}-empty`, ['web@1.service'])).size, 0, 'nothing published: an empty map');
});

t.test('factsKeepers: a record counts as kept up only on a lease its writer renews', async (t) => {
  const etcd = await etcdPart(t);
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  const p = `${prefix}-keep`;
  const kept = client.lease(30);
  t.teardown(() => kept.revoke().catch(() => undefined));
  await kept.put(factsKey(p, 'm1', 'web@1.service')).value(encodeFacts(rec('m1', 'web@1.service'))).exec();
  // Written by hand (or by a tool): nobody keeps it up.
  await client.put(factsKey(p, 'm2', 'web@1.service')).value(encodeFacts(rec('m2', 'web@1.service'))).exec();
  const got = await factsKeepers(client, p, [rec('m1', 'web@1.service'), rec('m2', 'web@1.service'), rec('m3', 'web@1.service')]);
  t.strictSame(got.get(factsKey(p, 'm1', 'web@1.service')), { kept: true }, 'on a lease that is renewed');
  t.match(got.get(factsKey(p, 'm2', 'web@1.service')), { kept: false, why: /no etcd lease/ }, 'without a lease');
  t.notOk(got.has(factsKey(p, 'm3', 'web@1.service')), 'a record no longer in etcd is left out');
});

t.test('isLeaseRenewed: etcd3 renews every TTL/3; past that and a margin, nobody renews it', async (t) => {
  t.ok(isLeaseRenewed(60, 60), 'just renewed');
  t.ok(isLeaseRenewed(40, 60), 'due for renewal');
  t.ok(isLeaseRenewed(35, 60), `late by less than the margin (${RENEWAL_MARGIN_S} s): an agent restarting takes it over`);
  t.notOk(isLeaseRenewed(34, 60), 'late by more: its keeper is gone');
  t.notOk(isLeaseRenewed(0, 60), 'expired');
  t.notOk(isLeaseRenewed(-1, 60), 'not found');
  t.ok(isLeaseRenewed(1, 7), 'a short lease (7 s or less) is never judged before it expires');
  t.notOk(isLeaseRenewed(1, 10), 'a 10 s lease is, with 1 s left');
});

t.test('factsKeeper: the one rule, from the lease and from the host\'s word on the agent unit', async (t) => {
  t.strictSame(factsKeeper({}), { kept: true }, 'no evidence against it: the record stands');
  t.strictSame(factsKeeper({ lease: { leftS: 50, grantedS: 60 } }), { kept: true });
  t.strictSame(factsKeeper({ lease: { leftS: 20, grantedS: 60 } }), { kept: false, why: 'its etcd lease (TTL 60 s) has not been renewed for 40 s' });
  t.match(factsKeeper({ lease: { none: true } }), { kept: false, why: /no etcd lease/ });
  t.match(factsKeeper({ lease: { expired: true } }), { kept: false, why: /expired/ });
  t.strictSame(factsKeeper({ lease: { leftS: 50, grantedS: 60 }, agent: { unit: 'fleetkit-agent-shop.service', activeState: 'failed', subState: 'failed' } }),
    { kept: false, agentDown: true, why: 'fleetkit-agent-shop.service is failed/failed there' }, 'the host says its agent is down: at once, before the lease says so');
  t.match(factsKeeper({ lease: { leftS: 20, grantedS: 60 }, agent: { unit: 'fleetkit-agent-shop.service', activeState: 'active', subState: 'running' } }),
    { kept: false, why: /not been renewed/ }, 'the unit active, the lease not renewed: hung or cut off from etcd');
});
