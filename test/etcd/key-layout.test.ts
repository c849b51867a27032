import t from 'tap';
import { announcementKey, clusterDir, factsDir, factsKey, isFactsKey, parseAnnouncementKey, parseFactsKey, prefixDir } from '../../src/etcd/key-layout.js';
import { keyOwnerResolver } from '../../src/ops/announcement-keys.js';

t.test('prefix, cluster and announcement keys, the root prefix included', async (t) => {
  t.equal(prefixDir('/services'), '/services/');
  t.equal(prefixDir('/services/'), '/services/');
  t.equal(prefixDir('/'), '/');
  t.equal(clusterDir('/services', 'web'), '/services/web/');
  t.equal(clusterDir('/', 'web'), '/web/');
  t.equal(announcementKey('/services', 'web', 'apache', '%i'), '/services/web/apache/%i');
  t.equal(announcementKey('/', 'web', 'apache', '2'), '/web/apache/2');
});

t.test('announcement keys parse back; other shapes and facts keys do not', async (t) => {
  t.same(parseAnnouncementKey('/services', '/services/web/apache/2'), { cluster: 'web', service: 'apache', instance: '2' });
  t.same(parseAnnouncementKey('/', '/web/apache/2'), { cluster: 'web', service: 'apache', instance: '2' });
  for (const k of ['/services/web/apache', '/services/web/apache/2/x', '/services//apache/2', '/other/web/apache/2', '/servicesX/web/apache/2']) {
    t.equal(parseAnnouncementKey('/services', k), undefined, k);
  }
  const facts = factsKey('/services', '0123456789abcdef0123456789abcdef', 'web@2.service');
  t.equal(facts, '/services/_facts/0123456789abcdef0123456789abcdef/web@2.service');
  t.equal(parseAnnouncementKey('/services', facts), undefined, 'a facts key has three segments too, and is no announcement');
  t.equal(keyOwnerResolver(undefined, '/services')(facts), undefined, 'status does not take it for an extra announcement');
  t.ok(isFactsKey('/services', facts));
  t.notOk(isFactsKey('/services', '/services/web/apache/2'));
  t.same(parseFactsKey('/services', facts), { machine: '0123456789abcdef0123456789abcdef', unit: 'web@2.service' });
  t.equal(parseFactsKey('/services', `${factsDir('/services')}m`), undefined);
});
