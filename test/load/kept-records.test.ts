// The facts load's and start's health wait reads (facts-source.ts keptFacts) on real etcd: a record its agent no
// longer keeps up (read-facts.ts factsKeeper) is set aside, saying why, while the baseline read keeps it; the
// leases are checked at most once a second however often the wait polls (kept-records.ts).
import t from 'tap';
import { etcdPart } from '../env/parts.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { encodeFacts, type ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';
import { etcdFacts } from '../../src/load/facts-source.js';
import { KEEPER_CHECK_MS, KeptRecords } from '../../src/load/kept-records.js';

const prefix = `/kr${process.pid}`;
const rec = (machine: string, unit: string, over: Partial<ContainerFactsRecord> = {}): ContainerFactsRecord => ({
  v: 1, unit, machine, phase: 'running', restarts: 0, updatedAt: '2026-12-03T13:00:00Z', ...over,
});

t.test('etcdFacts.keptFacts (load\'s wait): a record its agent no longer keeps up is set aside, saying why; leases checked at most once a second', async (t) => {
  const etcd = await etcdPart(t);
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  const p = prefix;
  const kept = client.lease(30);
  t.teardown(() => kept.revoke().catch(() => undefined));
  await kept.put(factsKey(p, 'm1', 'web@1.service')).value(encodeFacts(rec('m1', 'web@1.service', { restarts: 2 }))).exec();
  await client.put(factsKey(p, 'm2', 'web@2.service')).value(encodeFacts(rec('m2', 'web@2.service'))).exec();
  const source = etcdFacts({ endpoints: etcd.endpoints }, p, 2000);
  t.teardown(() => source.close());
  const got = await source.keptFacts(['web@1.service', 'web@2.service']);
  t.match(got.facts.get('web@1.service'), { restarts: 2, machine: 'm1', running: true }, 'kept up: its facts');
  t.notOk(got.facts.has('web@2.service'), 'not kept up: no facts');
  t.match(got.unkept.get('web@2.service'), [{ machine: 'm2', phase: 'running', why: /no etcd lease/ }]);
  t.strictSame((await source.facts(['web@2.service'])).get('web@2.service')?.running, true, 'the baseline read (before the start jobs) keeps every record');

  let checks = 0;
  const watch = new KeptRecords(async (rs) => {
    checks++;
    return rs.map(() => ({ kept: true }));
  });
  const began = Date.now();
  for (let i = 0; i < 8; i++) {
    await watch.refresh([rec('m1', 'web@1.service')]);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(checks, Date.now() - began < KEEPER_CHECK_MS ? 1 : 2, `8 polls in ${Date.now() - began} ms: the leases read once a second at most (${checks})`);
});
