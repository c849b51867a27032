// The generated etcd member and flannel config on a real etcd (Debian's 3.4): the member's settings from the
// cloud-config drop-in are run as they are (addresses moved to loopback ports, data to a temp dir), the
// flannel config command of the flanneld drop-in is run as the machine would run it, and the config is read
// back through the API each target's flannel reads: v2 for legacy (Container Linux's flanneld), v3 for
// current. etcd keeps the two keyspaces apart, so the other API must not see it.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../env/parts.js';
import { parseSpec } from '../../src/cluster/load.js';
import { ETCD_TAG, planMachine, type BootTarget } from '../../src/cloud-config/plan.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { parseUnit } from '../../src/unit/parse.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';
import { valuesOf } from '../../src/unit/model.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-etcd-stores-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** `NAME=VALUE` (or `"NAME=VALUE"`) of an Environment= line. */
function envPair(line: string): [string, string] {
  const text = line.startsWith('"') ? JSON.parse(line) as string : line;
  const eq = text.indexOf('=');
  return [text.slice(0, eq), text.slice(eq + 1)];
}

const cases: Array<{ target: 'legacy' | 'current'; boot: BootTarget; store: 'v2' | 'v3' }> = [
  { target: 'legacy', boot: 'container-linux', store: 'v2' },
  { target: 'current', boot: 'container-linux', store: 'v3' },
];

for (const c of cases) {
  t.test(`${c.target} on ${c.boot}: flannel's config through etcd ${c.store}`, async (t) => {
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const spec = parseSpec(`name: stores
x-fleetkit: { target: ${c.target} }
etcd: { endpoints: [${url}] }
flannel: { network: 10.7.0.0/16, subnetLen: 24, backend: vxlan }
roles: { etcd: { etcd: true } }
services: { web: { image: local/busybox:latest } }
`, 'cluster.yaml');
    const plan = planMachine(spec, { target: c.boot, role: 'etcd', etcdName: 'm1', initialCluster: `m1=http://127.0.0.1:${peer}`, ip: '127.0.0.1', fleetkitUnits: [] });

    // The member: the drop-in's settings, on loopback ports and a temp data dir.
    const dropIn = plan.units.find((u) => u.name === 'etcd-member.service')!.dropIns[0]!;
    const env = Object.fromEntries(valuesOf(parseUnit('20-fleetkit.conf', dropIn.contents), 'Service', 'Environment').map(envPair));
    t.equal(env['ETCD_IMAGE_TAG'], ETCD_TAG, 'the member runs a pinned etcd');
    t.match(ETCD_TAG, /^v3\.5\./, 'a 3.5, the last release with the v2 API that fleet needs');
    t.equal(env['ETCD_ENABLE_V2'], 'true');
    delete env['ETCD_IMAGE_TAG']; // read by the OS's etcd-member wrapper, not by etcd
    Object.assign(env, {
      ETCD_DATA_DIR: join(dir, `data-${c.target}`),
      ETCD_LISTEN_CLIENT_URLS: url,
      ETCD_ADVERTISE_CLIENT_URLS: url,
      ETCD_LISTEN_PEER_URLS: `http://127.0.0.1:${peer}`,
      ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://127.0.0.1:${peer}`,
    });
    const etcd = spawn('/usr/bin/etcd', [], { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    etcd.stderr.on('data', (d: Buffer) => void (log = (log + d.toString()).slice(-4000)));
    t.teardown(() => void etcd.kill('SIGKILL'));
    t.teardown(() => (t.passing() ? undefined : t.comment(log)));
    await waitFor(async () => ((await fetch(`${url}/health`).then((r) => r.json(), () => ({}))) as { health?: string }).health === 'true', { what: 'etcd healthy', timeoutMs: 20_000 });

    // The flannel config, written by the drop-in's ExecStartPre as the machine runs it.
    const flannel = plan.units.find((u) => u.name === 'flanneld.service')!.dropIns[0]!;
    const [pre] = valuesOf(parseUnit('50-network-config.conf', flannel.contents), 'Service', 'ExecStartPre');
    const argv = parseExecLine(pre!).argv;
    t.equal(argv[1], `ETCDCTL_API=${c.store.slice(1)}`);
    const put = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
    t.equal(put.status, 0, put.stderr);

    const config = JSON.stringify({ Network: '10.7.0.0/16', SubnetLen: 24, Backend: { Type: 'vxlan' } });
    const v2 = await fetch(`${url}/v2/keys/coreos.com/network/config`);
    const v2Value = v2.status === 200 ? ((await v2.json()) as { node: { value: string } }).node.value : undefined;
    const etcd3 = await connectEtcd({ endpoints: [url] });
    t.teardown(() => etcd3.close());
    const v3Value = (await etcd3.get('/coreos.com/network/config').string()) ?? undefined;
    if (c.store === 'v2') {
      t.equal(v2Value, config, 'flanneld reads it through v2');
      t.equal(v3Value, undefined, 'not in the v3 keyspace');
    } else {
      t.equal(v3Value, config, 'flannel reads it through v3');
      t.equal(v2Value, undefined, 'not in the v2 keyspace');
    }
  });
}

t.test('Fedora CoreOS runs current flannel (v3) whatever the target', async (t) => {
  const spec = parseSpec(`name: stores
x-fleetkit: { target: legacy }
flannel: { network: 10.7.0.0/16 }
services: { web: { image: local/busybox:latest } }
`, 'cluster.yaml');
  const plan = planMachine(spec, { target: 'fcos', fleetkitUnits: [] });
  const unit = plan.units.find((u) => u.name === 'flanneld.service')!.contents!;
  t.match(unit, /--env=ETCDCTL_API=3 .* put \/coreos\.com\/network\/config /);
});
