/**
 * What a command given only unit names reads of their own text: the sidekicks a container unit starts with it,
 * and the etcd the cluster's agent unit runs with (in both forms gen-units renders it).
 */
import t from 'tap';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { agentArgsOf, sidekicksWanted } from '../../src/load/named-units.js';
import { etcdFlagsOf, etcdOptionsFrom } from '../../src/cli/etcd-flags.js';
import { parseUnit } from '../../src/unit/parse.js';
import { instantiate } from '../../src/fleet/instantiate.js';

const render = (runtime: string) => renderCluster(parseSpec(`name: shop
x-fleetkit:
  etcd: { endpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379], prefix: /svc, tls: { ca: /etc/ssl/etcd/ca.pem } }
  runtime: ${runtime}
services:
  web:
    image: nginx:1.25
    x-announce: { port: 80 }
  db:
    image: postgres:16
`, 'cluster.yaml')).files;
const unit = (files: ReturnType<typeof render>, name: string, template = name) => {
  const f = files.find((x) => x.name === template)!;
  return instantiate(parseUnit(f.name, f.text), name);
};

t.test('a container unit names its sidekick in Wants=, with its instance', async (t) => {
  const files = render('{ fleetkit: { binary: /opt/bin/fleetkit } }');
  t.same(sidekicksWanted(unit(files, 'web@3.service', 'web@.service')), ['web-discovery@3.service']);
  t.same(sidekicksWanted(unit(files, 'db@1.service', 'db@.service')), [], 'no x-announce, no sidekick (docker.service is no sidekick)');
});

for (const [form, runtime] of [['binary', '{ fleetkit: { binary: /opt/bin/fleetkit } }'], ['image', '{ fleetkit: { image: "fleetkit:0.1.0" } }']] as const) {
  t.test(`the agent unit (${form} form) names the cluster's etcd, prefix and TLS files`, async (t) => {
    const files = render(runtime);
    const args = agentArgsOf(unit(files, 'fleetkit-agent-shop.service'));
    t.ok(args, 'it runs an agent');
    const o = etcdOptionsFrom(etcdFlagsOf(args!), undefined, {});
    t.same(o.endpoints, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    t.equal(o.prefix, '/svc');
    t.equal(o.tls?.ca, '/etc/ssl/etcd/ca.pem');
  });
}

t.test('a unit that runs no agent has no agent words', async (t) => {
  t.equal(agentArgsOf(unit(render('{ fleetkit: { binary: /opt/bin/fleetkit } }'), 'web@1.service', 'web@.service')), undefined);
});
