/**
 * Hostile etcd data against a running watcher (real etcd): values that cannot enter the hook's
 * environment (a NUL byte, over 128 KiB, invalid UTF-8) are left out of it with one log line naming the
 * key, and the hook still runs; hostnames that would shadow localhost, the machine's own names or a static
 * name of the target file or of /etc/hosts are refused with one log line naming the key, and the rest of
 * the file is written.
 */
import t from 'tap';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdPart, waitFor } from '../env/parts.js';
import { entriesOf, etcdClient, readHosts, record, startWatcher, tempDir, uniqueName } from './fixture.js';

t.test('values the hook environment cannot hold: left out, logged, the hook runs', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const cluster = uniqueName('h');
  const prefix = `/${uniqueName('p')}`;
  const kp = `${prefix}/${cluster}/`;
  const hook = join(dir, 'hook.sh');
  // One line per run: the key and the length of the value the hook was given.
  writeFileSync(hook, `#!/bin/sh\nprintf '%s %s\\n' "$ETCD_WATCH_KEY" "\${#ETCD_WATCH_VALUE}" >> "${dir}/runs"\n`);
  chmodSync(hook, 0o755);
  const runs = (): string[] => (existsSync(join(dir, 'runs')) ? readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n') : []);
  const w = await startWatcher(t, etcd.endpoints, { cluster, out: join(dir, 'hosts'), prefix, hook: { argv: [hook], timeoutMs: 5000 } });
  await waitFor(() => runs().length === 1, { what: 'hook after the first write' });

  const hostile: [string, Buffer, RegExp][] = [
    ['nul', Buffer.from(record('x-1', '10.7.0.1').replace('x-1', 'x\u00001')), /NUL byte/],
    ['huge', Buffer.from(record('x-2', '10.7.0.2', { pad: 'y'.repeat(200 * 1024) })), /over the 128 KiB/],
    ['latin1', Buffer.concat([Buffer.from('{"hostname":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]), /not valid UTF-8/],
  ];
  for (const [i, [name, value, why]] of hostile.entries()) {
    const bad = `${kp}bad/${name}`;
    // A good record and the hostile one in one revision, the hostile one last: it is what the hook is told.
    await client.if(kp, 'Version', '==', 0).then(client.put(`${kp}ok/${i}`).value(record(`ok-${i}`, `10.7.1.${i + 1}`)), client.put(bad).value(value)).commit();
    await waitFor(() => runs().length === i + 2, { what: `the hook ran after the ${name} value (${w.logs.join(' | ')})` });
    t.equal(runs()[i + 1], `${bad} 0`, `${name}: the hook ran with the key and an empty value`);
    const lines = w.logs.filter((l) => l.includes('ETCD_WATCH_VALUE') && l.includes(JSON.stringify(bad)));
    t.equal(lines.length, 1, `${name}: one log line naming the key`);
    t.match(lines[0], why);
  }
  t.same(entriesOf(await readHosts(join(dir, 'hosts'), cluster)), ['10.7.1.1 ok-0', '10.7.1.2 ok-1', '10.7.1.3 ok-2'], 'the good records are all in the file');
  t.equal(w.logs.filter((l) => /^<[0-3]>/.test(l)).length, 0, 'no error: the watcher goes on');
});

t.test('names that shadow this host\'s own: refused, logged naming the key, the rest written', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const cluster = uniqueName('s');
  const prefix = `/${uniqueName('p')}`;
  const kp = `${prefix}/${cluster}/`;
  const out = join(dir, 'hosts');
  const system = join(dir, 'etc-hosts');
  const staticPart = '# written by the admin\n10.0.0.1   Static-DB db.' + cluster + '  # the database\n';
  writeFileSync(out, staticPart);
  writeFileSync(system, '127.0.0.1 localhost\n10.0.0.2 sysname\n');
  const refused: [string, string][] = [
    ['localhost', 'localhost'], ['upper', 'LOCALHOST'], ['short', 'node7'],
    ['static', 'static-db'], ['suffixed', 'db'], ['system', 'sysname'],
  ];
  for (const [k, name] of refused) await client.put(`${kp}${k}/1`).value(record(name, '10.7.2.1'));
  await client.put(`${kp}good/1`).value(record('web-1', '10.7.2.2'));
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix, machineNames: ['node7.example.com', 'node7'], systemHostsFile: system });
  await waitFor(async () => (await readHosts(out, cluster))?.size === 1, { what: 'the file written' });
  t.same(entriesOf(await readHosts(out, cluster)), ['10.7.2.2 web-1'], 'only the record that shadows nothing');
  t.ok(readFileSync(out, 'utf8').startsWith(staticPart), 'the static part kept byte for byte');
  for (const [k, name] of refused) {
    const lines = w.logs.filter((l) => l.includes(JSON.stringify(`${kp}${k}/1`)));
    t.equal(lines.length, 1, `${name}: one log line naming the key`);
    t.match(lines[0], /would shadow a name this host already has/);
  }
  // A later change is still written (and the refusals are not logged again).
  await client.put(`${kp}good/2`).value(record('web-2', '10.7.2.3'));
  await waitFor(async () => (await readHosts(out, cluster))?.size === 2, { what: 'a later change written' });
  t.equal(w.logs.filter((l) => /would shadow/.test(l)).length, refused.length, 'each refusal logged once');
});
