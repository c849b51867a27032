/**
 * Which service and instance (or host, or machine) an announcement key belongs to, from the spec's key
 * templates: what `fleetkit status` joins announcements to units by.
 */
import t from 'tap';
import { keyOwnerResolver } from '../../src/ops/announcement-keys.js';
import { parseSpec } from '../../src/cluster/load.js';

const spec = parseSpec(`name: shop
services:
  web:
    image: nginx
    deploy: { replicas: 2 }
    x-announce: { port: 80, key: /services/shop/web/%i/node-%i }
  mon:
    image: nginx
    deploy: { mode: global }
    x-announce: { port: 9100, key: /services/shop/mon/%l }
  agent:
    image: nginx
    deploy: { mode: global }
    x-announce: { port: 9100 }
`, 'cluster.yaml');
const owner = keyOwnerResolver(spec, '/services');

t.test('instances, short and full host names, from the templates', async (t) => {
  t.match(owner('/services/shop/web/2/node-2'), { service: 'web', instance: '2', cluster: 'shop' });
  t.equal(owner('/services/shop/web/2/node-1'), undefined, 'a specifier used twice must match the same text twice');
  t.match(owner('/services/shop/mon/core-01'), { service: 'mon', host: 'core-01', instance: undefined });
  t.match(owner('/services/shop/agent/ip-10-0-0-1.ec2.internal'), { service: 'agent', host: 'ip-10-0-0-1.ec2.internal' }, 'the default key of a global service holds the full host name');
  t.equal(owner('/services/other/web/1'), undefined, 'keys of no service in the spec belong to none');
});

t.test("a global service's hosts-file name is the short host name", async (t) => {
  t.equal(spec.services.find((s) => s.name === 'agent')?.announce?.hostname, 'agent-%l');
  t.equal(spec.services.find((s) => s.name === 'agent')?.announce?.key, '/services/shop/agent/%H');
});
