/**
 * Writes and the hook, against real etcd: the hook's environment, unchanged content (no write, no hook),
 * a hanging hook killed with its children while the watcher goes on, a failing hook logged, and the CLI
 * (`--once`, a clean stop on abort, usage errors).
 */
import t from 'tap';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { etcdPart, waitFor } from '../env/parts.js';
import { etcdClient, readHosts, record, startWatcher, tempDir, uniqueName } from './fixture.js';

/** A hook script that appends one line per run and saves its fleetkit/etcd environment. */
function hookScript(dir: string, body = ''): string {
  const path = join(dir, 'hook.sh');
  writeFileSync(path, `#!/bin/sh\nenv | grep -E '^(ETCD_WATCH|FLEETKIT)_' | sort > "${dir}/env"\necho run >> "${dir}/runs"\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const runs = (dir: string): number => (existsSync(join(dir, 'runs')) ? readFileSync(join(dir, 'runs'), 'utf8').split('\n').length - 1 : 0);
const envOf = (dir: string): Record<string, string> =>
  Object.fromEntries(readFileSync(join(dir, 'env'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

t.test('hook environment; unchanged content means no write and no hook', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const cluster = uniqueName('k');
  const prefix = `/${uniqueName('p')}`;
  const out = join(dir, 'hosts');
  const key = `${prefix}/${cluster}/web/1`;
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix, hook: { argv: [hookScript(dir)], timeoutMs: 5000 } });
  await waitFor(() => runs(dir) === 1, { what: 'hook after the first write' });

  const put = await client.put(key).value(record('web-1', '10.5.0.1')).exec();
  await waitFor(() => runs(dir) === 2, { what: 'hook after a put' });
  let env = envOf(dir);
  t.equal(env.ETCD_WATCH_ACTION, 'set');
  t.equal(env.ETCD_WATCH_KEY, key);
  t.equal(env.ETCD_WATCH_VALUE, record('web-1', '10.5.0.1'));
  t.equal(env.FLEETKIT_HOSTS_FILE, out);
  t.equal(env.FLEETKIT_REVISION, put.header.revision, 'the revision of the change');
  t.match(readFileSync(out, 'utf8'), `etcd revision ${put.header.revision},`, 'the header names the same revision');

  // The same value again (a refresh): a new revision, the same entries.
  const before = statSync(out);
  const again = await client.put(key).value(record('web-1', '10.5.0.1')).exec();
  await waitFor(() => w.logs.some((l) => l.startsWith(`<7>revision ${again.header.revision}: entries unchanged`)), { what: 'the refresh seen' });
  const after = statSync(out);
  t.equal(after.ino, before.ino, 'no write: same inode');
  t.equal(after.mtimeMs, before.mtimeMs, 'no write: same mtime');
  t.equal(runs(dir), 2, 'no hook');

  const lease = client.lease(30);
  await lease.put(`${prefix}/${cluster}/web/2`).value(record('web-2', '10.5.0.2'));
  await waitFor(() => runs(dir) === 3, { what: 'hook after the leased put' });
  await lease.revoke();
  await waitFor(() => runs(dir) === 4, { what: 'hook after the lease ended' });
  env = envOf(dir);
  t.equal(env.ETCD_WATCH_ACTION, 'expire', 'a key that goes with its lease is an expiry');
  t.equal(env.ETCD_WATCH_VALUE, '');
  await client.delete().key(key);
  await waitFor(() => runs(dir) === 5, { what: 'hook after the delete' });
  t.equal(envOf(dir).ETCD_WATCH_ACTION, 'delete');
});

t.test('a hanging hook is killed with its children, and never blocks the watcher', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const cluster = uniqueName('k');
  const prefix = `/${uniqueName('p')}`;
  const out = join(dir, 'hosts');
  const hook = hookScript(dir, `sleep 60 & echo $! > "${dir}/child"; wait`);
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix, hook: { argv: [hook], timeoutMs: 400 } });
  await waitFor(() => existsSync(join(dir, 'child')), { what: 'the first hook running' });
  const child = Number(readFileSync(join(dir, 'child'), 'utf8'));
  // While the hook hangs, the file still follows etcd.
  await client.put(`${prefix}/${cluster}/a/1`).value(record('a-1', '10.6.0.1'));
  await waitFor(async () => (await readHosts(out, cluster))?.has('a-1'), { what: 'a write while the hook hangs', timeoutMs: 300 });
  t.equal(runs(dir), 1, 'only one hook at a time');
  await waitFor(() => w.logs.some((l) => /^<3>hook .* failed after \d+ ms: killed by SIGTERM/.test(l)), { what: 'the kill logged' });
  t.ok(w.logs.some((l) => /^<4>hook .* still running after 400 ms: killing it/.test(l)));
  await waitFor(() => !existsSync(`/proc/${child}`) || /State:\s+Z/.test(readFileSync(`/proc/${child}/status`, 'utf8')), { what: 'the hook child gone too' });
  await waitFor(() => runs(dir) === 2, { what: 'one more run for the change made during the hang' });
});

t.test('a failing hook is logged', async (t) => {
  const etcd = await etcdPart(t);
  const dir = tempDir(t);
  const cluster = uniqueName('k');
  const w = await startWatcher(t, etcd.endpoints, { cluster, out: join(dir, 'hosts'), prefix: '/x', hook: { argv: [hookScript(dir, 'exit 3')], timeoutMs: 5000 } });
  await waitFor(() => w.logs.some((l) => /^<3>hook ".*hook.sh" failed after \d+ ms: exit status 3$/.test(l)), { what: 'failure logged' });
});

function captureIO(signal = new AbortController().signal) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: {}, cwd: process.cwd(), signal },
    out,
    err,
  };
}

t.test('CLI: --once, usage errors, clean stop on abort, block in a shared file', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const cluster = uniqueName('k');
  const prefix = `/${uniqueName('p')}`;
  const out = join(dir, 'hosts');
  const shared = '127.0.0.1 localhost\n::1 localhost ip6-localhost\n# admin note';
  writeFileSync(out, shared);
  await client.put(`${prefix}/${cluster}/web/1`).value(record('web-1', '10.7.0.1'));
  const base = ['watch-hosts', '--etcd', etcd.clientUrl, '--prefix', prefix, '--cluster', cluster, '--out', out];
  const once = captureIO();
  t.equal(await main([...base, '--once'], once.io), 0, once.err.join(''));
  const text = readFileSync(out, 'utf8');
  t.ok(text.startsWith(shared + '\n# BEGIN fleetkit ' + cluster + '\n'), 'the rest of the file is kept');
  t.match(text, `\n10.7.0.1 web-1 web-1.${cluster}\n# END fleetkit ${cluster}\n`);

  const bad = captureIO();
  t.equal(await main([...base, '--cluster', 'bad name', '--once'], bad.io), 2);
  t.match(bad.err.join(''), /--cluster "bad name" is not a DNS name/);
  const badExec = captureIO();
  t.equal(await main([...base, '--once', '--exec', "x 'y"], badExec.io), 2);
  const down = captureIO();
  t.equal(await main(['watch-hosts', '--etcd', 'http://127.0.0.1:9', '--cluster', cluster, '--out', join(dir, 'h2'), '--once'], down.io), 1);
  t.match(down.err.join(''), /etcd reading .* failed \(http:\/\/127\.0\.0\.1:9\)/);
  t.notOk(existsSync(join(dir, 'h2')), 'etcd down: no file written');

  const ac = new AbortController();
  const running = captureIO(ac.signal);
  const exit = main([...base, '--', hookScript(dir)], running.io);
  await client.put(`${prefix}/${cluster}/web/2`).value(record('web-2', '10.7.0.2'));
  await waitFor(async () => (await readHosts(out, cluster))?.has('web-2') && runs(dir) >= 1, { what: 'watch mode writes and runs the -- hook' });
  ac.abort();
  t.equal(await exit, 0, 'clean exit on abort');
  t.match(running.err.join(''), /^watching /m, 'plain lines outside journald');
  t.notMatch(running.err.join(''), /^<\d>/m, 'no sd-daemon prefix when JOURNAL_STREAM is unset');
});
