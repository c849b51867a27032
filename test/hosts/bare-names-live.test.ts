/**
 * Bare service names, live, on real etcd, dockerd and containers: a running client container that mounts the
 * cluster's containers' hosts file (as rendered: --mount …,target=/etc/hosts,readonly) resolves the bare name
 * `db`; when the dependency restarts with another IP and is announced again, the client's resolution follows
 * without the client being touched; with two instances the name stays on the lowest and moves when it goes;
 * a second cluster on the same host with its own `db` does not collide.
 *
 * Resolution is read the way a program in the container gets it: busybox `ping -c 1 -W 1 db` prints
 * `PING db (IP)` from libc's lookup of /etc/hosts (busybox has no getent). The records are what the agent
 * writes (serializeRecord, with the aliases the sidekick passes).
 */
import t from 'tap';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { serializeRecord } from '../../src/announce/record.js';
import { etcdClient, startWatcher, tempDir, uniqueName } from './fixture.js';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';

const announce = (hostname: string, ip: string, aliases: string[]): string =>
  serializeRecord({ ip, hostname, host: 'core-01', machine: '0'.repeat(32), container: hostname, version: 1, time: new Date().toISOString(), aliases });

t.test('a running container follows the bare name across a restart of its dependency', async (t) => {
  const [etcd, docker] = await Promise.all([etcdPart(t), dockerPart(t)]);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const prefix = `/${uniqueName('p')}`;
  const [shop, other] = [uniqueName('shop'), uniqueName('other')];
  const files = { shop: join(dir, 'shop.hosts'), other: join(dir, 'other.hosts') };
  // Two clusters on one host, each its own watcher and containers' file, as their fleetkit-hosts units would.
  const w = await startWatcher(t, etcd.endpoints, { cluster: shop, out: join(dir, 'etc-hosts'), prefix, containersFile: files.shop });
  await startWatcher(t, etcd.endpoints, { cluster: other, out: join(dir, 'etc-hosts-other'), prefix, containersFile: files.other });
  await waitFor(async () => (await readFile(files.shop, 'utf8').catch(() => '')).includes('localhost'), { what: 'the containers\' file made at start' });

  /** Starts a busybox container; returns its bridge IP. */
  const run = async (name: string, extra: string[] = []): Promise<string> => {
    t.teardown(() => docker.docker(['rm', '-f', name]));
    const r = await docker.docker(['run', '-d', '--init', '--name', name, ...extra, docker.busyboxImage, 'sleep', '600']);
    if (r.code !== 0) throw new Error(`docker run ${name}: ${r.stderr}`);
    const ip = await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name]);
    return ip.stdout.trim();
  };
  /** What `db` (or `name`) resolves to inside the client, from busybox ping's first line. */
  const resolved = async (container: string, name = 'db'): Promise<string | undefined> => {
    const r = await docker.docker(['exec', container, 'ping', '-c', '1', '-W', '1', name]);
    return new RegExp(`^PING ${name} \\(([0-9.]+)\\)`).exec(r.stdout)?.[1];
  };
  const follows = (container: string, ip: string, what: string, name = 'db') =>
    waitFor(async () => (await resolved(container, name)) === ip, { what, timeoutMs: 15_000, intervalMs: 100 });

  const mount = (file: string) => [`--mount=type=bind,source=${file},target=/etc/hosts,readonly`];
  const app = uniqueName('fk-bare-app-');
  await run(app, mount(files.shop));
  const started = (await docker.docker(['inspect', '-f', '{{.Id}} {{.State.StartedAt}}', app])).stdout.trim();

  // The dependency's instance 1 is announced, with the names the sidekick gives it.
  const db1 = uniqueName('fk-bare-db1-');
  const ip1 = await run(db1);
  await client.put(`${prefix}/${shop}/db/1`).value(announce('db-1', ip1, ['db', 'database']));
  await follows(app, ip1, 'db → instance 1');
  t.equal(await resolved(app, 'database'), ip1, 'the alias too');
  t.equal(await resolved(app, `db-1.${shop}`), ip1, 'and the instance names');

  // It restarts: a new container (started before the old one goes, so the engine cannot hand out the same
  // address), announced again under the same key, as the agent does.
  const db1b = uniqueName('fk-bare-db1b-');
  const ip1b = await run(db1b);
  t.not(ip1b, ip1, 'the new container has another address');
  await docker.docker(['rm', '-f', db1]);
  await client.put(`${prefix}/${shop}/db/1`).value(announce('db-1', ip1b, ['db', 'database']));
  await follows(app, ip1b, 'db follows the restart');
  t.equal((await docker.docker(['inspect', '-f', '{{.Id}} {{.State.StartedAt}}', app])).stdout.trim(), started, 'the client was not restarted or re-rendered');

  // A second instance: the name stays on instance 1; when 1's announcement goes (stopped, unhealthy), 2 has it.
  const db2 = uniqueName('fk-bare-db2-');
  const ip2 = await run(db2);
  await client.put(`${prefix}/${shop}/db/2`).value(announce('db-2', ip2, ['db', 'database']));
  await waitFor(async () => (await resolved(app, 'db-2')) === ip2, { what: 'db-2 listed', timeoutMs: 15_000, intervalMs: 100 });
  t.equal(await resolved(app), ip1b, 'db stays on the lowest-numbered instance');
  await client.delete().key(`${prefix}/${shop}/db/1`);
  await follows(app, ip2, 'db moves to instance 2 when instance 1 goes');

  // The other cluster's db: its own containers see theirs, neither sees the other's.
  const odb = uniqueName('fk-bare-odb-');
  const oip = await run(odb);
  const oapp = uniqueName('fk-bare-oapp-');
  await run(oapp, mount(files.other));
  await client.put(`${prefix}/${other}/db/1`).value(announce('db-1', oip, ['db']));
  await follows(oapp, oip, 'the other cluster\'s db');
  t.equal(await resolved(app), ip2, 'shop\'s containers still reach shop\'s db');
  t.notMatch(await readFile(files.shop, 'utf8'), new RegExp(`\\b${oip.replaceAll('.', '\\.')}\\b`), 'nothing of the other cluster in shop\'s file');

  // The host's own block never carried a bare name.
  t.notMatch(await readFile(w.out, 'utf8'), /\sdb(\s|$)/m, 'no bare name in the host file');
});
