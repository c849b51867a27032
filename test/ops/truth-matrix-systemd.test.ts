/**
 * The truth matrix of `status` on the real systemd and etcd: a healthy service gives exit 0; then, one fault
 * at a time, a crash loop (a command that exits 1 at once under Restart=, and one that runs a second before
 * each exit), a failing sidekick, an
 * announcement deleted by hand, the agent gone (its lease revoked), a hosts line edited by hand, etcd down and
 * D-Bus down. Each is named in the output and exits non-zero; each repair gives exit 0 again.
 */
import t, { type Test } from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { announcementKey } from '../../src/etcd/key-layout.js';
import type { StatusModel } from '../../src/ops/status-model.js';
import { etcdPart, freePort, systemdPart, waitFor } from '../env/parts.js';
import { runFleetkit } from '../cli/load-io.js';

const etcd = await etcdPart(t);
const sd = await systemdPart(t);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
const P = `tm${process.pid}`;
// Unit names of their own: the systemd part is shared with the other tests of the run.
const W = `${P}web`;
const prefix = `/fk-tm-${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'fk-truth-'));
const hosts = join(dir, 'hosts');
const repaired = join(dir, 'repaired');
const spec = join(dir, 'cluster.yaml');
await writeFile(spec, `name: ${P}\nx-fleetkit:\n  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }\nservices:\n  ${W}:\n    image: local/busybox:latest\n    x-announce: { port: 80, ttl: 60s }\n`);
const key = announcementKey(prefix, P, W, '1');
const ip = '10.9.0.1';
const record = JSON.stringify({ ip, port: 80, hostname: `${W}-1`, host: 'h', machine: 'f'.repeat(32), container: `${W}-1`, version: 1, time: new Date().toISOString() });
const goodHosts = `127.0.0.1 localhost\n# BEGIN fleetkit ${P}\n${ip} ${W}-1 ${W}-1.${P}\n# END fleetkit ${P}\n`;
const env = { ...sd.env, PATH: process.env['PATH'] };

async function unit(name: string, body: string): Promise<void> {
  await writeFile(join(sd.unitDir, name), body);
  await sd.systemctl(['daemon-reload']);
}
// No start limit: the loop goes on while status looks, as a container's would under a long RestartSec.
const container = (cmd: string) => `[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c "${cmd}"\nRestart=always\nRestartSec=1\n`;
const sidekick = (cmd: string) => `[Unit]\nBindsTo=${W}@%i.service\nAfter=${W}@%i.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=${cmd}\n`;

async function status(extra: string[] = []): Promise<{ code: number; model: StatusModel | undefined; text: string; stderr: string }> {
  const r = await runFleetkit(['status', spec, '--systemd', '--user', '--hosts-file', hosts, '--machine-id', 'f'.repeat(32), ...extra], { env });
  const j = await runFleetkit(['status', spec, '--systemd', '--user', '--hosts-file', hosts, '--machine-id', 'f'.repeat(32), '--json', ...extra], { env });
  return { code: r.code, text: r.stdout, stderr: r.stderr, model: j.stdout ? (JSON.parse(j.stdout) as StatusModel) : undefined };
}
const flags = (m: StatusModel | undefined) => m?.services.flatMap((s) => s.instances.flatMap((i) => i.flags.map((f) => `${f.code}: ${f.message}`))) ?? [];

async function healthy(t: Test, what: string): Promise<void> {
  await waitFor(async () => (await sd.systemctl(['is-active', `${W}@1.service`, `${W}-discovery@1.service`])).stdout.trim() === 'active\nactive', { what: 'both units active' });
  const s = await status();
  t.equal(s.code, 0, `${what}: exit 0\n${s.text}${s.stderr}`);
  t.same(flags(s.model), [], `${what}: nothing flagged`);
}

t.before(async () => {
  await unit(`${W}@.service`, container('exec sleep 1000'));
  await unit(`${W}-discovery@.service`, sidekick('/bin/true'));
  await sd.systemctl(['start', `${W}@1.service`, `${W}-discovery@1.service`]);
  await client.put(key).value(record);
  await writeFile(hosts, goodHosts);
});
t.teardown(async () => {
  await sd.systemctl(['stop', `${W}@1.service`, `${W}-discovery@1.service`]);
  await sd.systemctl(['reset-failed', `${W}@1.service`, `${W}-discovery@1.service`]);
});

t.test('a healthy service: exit 0', async (t) => healthy(t, 'healthy'));

t.test('a crash loop: named with its restart count and exit status', async (t) => {
  // The command loops until the repair file appears: the loop keeps coming back to auto-restart until then,
  // so the wait below cannot miss its one window, as it could after a unit rewrite took effect first.
  await unit(`${W}@.service`, container(`test -e ${repaired} && exec sleep 1000; echo crashing; exit 1`));
  await sd.systemctl(['restart', `${W}@1.service`]);
  await waitFor(async () => Number((await sd.systemctl(['show', '-p', 'NRestarts', '--value', `${W}@1.service`])).stdout.trim()) >= 3, { what: '3 restarts', timeoutMs: 20_000 });
  const s = await status();
  t.equal(s.code, 1);
  // One read has no history: the exit status shows unless the read caught the command just started again.
  t.match(flags(s.model).join('\n'), /crash-loop: crash loop: .*restarted \d+ times/);
  const row = s.model?.services[0]?.instances[0];
  t.ok((row?.restarts ?? 0) >= 3, `restart count in the JSON row (${row?.restarts})`);
  t.match(s.text, /crash loop/);
  // Repaired with `systemctl restart` while the loop waits in auto-restart: systemd then keeps NRestarts
  // (service_stop goes straight to dead, so the count is not flushed), yet the unit no longer loops.
  await waitFor(async () => (await sd.systemctl(['show', '-p', 'SubState', '--value', `${W}@1.service`])).stdout.trim() === 'auto-restart', { what: 'waiting in auto-restart', timeoutMs: 30_000, intervalMs: 20 });
  await writeFile(repaired, '');
  await sd.systemctl(['restart', `${W}@1.service`]);
  await sd.systemctl(['start', `${W}-discovery@1.service`]);
  const kept = Number((await sd.systemctl(['show', '-p', 'NRestarts', '--value', `${W}@1.service`])).stdout.trim());
  t.ok(kept >= 3, `systemd kept the loop's count over the restart (NRestarts=${kept})`);
  await healthy(t, 'repaired by systemctl restart, at once');
  const after = await status();
  t.equal(after.model?.services[0]?.instances[0]?.restarts, 0, 'restarts of this run: none');
});

t.test('a unit repaired by hand that loops again is a crash loop again', async (t) => {
  await unit(`${W}@.service`, container('echo crashing; exit 3'));
  await sd.systemctl(['restart', `${W}@1.service`]);
  await waitFor(async () => Number((await sd.systemctl(['show', '-p', 'NRestarts', '--value', `${W}@1.service`])).stdout.trim()) >= 3, { what: '3 restarts', timeoutMs: 20_000 });
  await waitFor(async () => (await sd.systemctl(['show', '-p', 'SubState', '--value', `${W}@1.service`])).stdout.trim() === 'auto-restart', { what: 'waiting in auto-restart', timeoutMs: 30_000, intervalMs: 20 });
  // Restarted by hand into the same broken command: the count survives, and the loop goes on.
  await sd.systemctl(['restart', `${W}@1.service`]);
  await waitFor(async () => {
    const s = await status();
    return s.code === 1 && /crash-loop: crash loop/.test(flags(s.model).join('\n')) ? s : undefined;
  }, { what: "status names the crash loop again", timeoutMs: 20_000, intervalMs: 300 });
  await unit(`${W}@.service`, container('exec sleep 1000'));
  await sd.systemctl(['stop', `${W}@1.service`]);
  await sd.systemctl(['start', `${W}@1.service`, `${W}-discovery@1.service`]);
  await healthy(t, 'repaired');
});

t.test('a crash loop whose process runs a while before each exit: named while it runs', async (t) => {
  // Runs 1 s, exits 1, restarted 100 ms later: a read mostly finds it active/running between two automatic
  // restarts, which systemd 252 reaches through dead (InactiveExit = ActiveEnter), as after a start by hand.
  await unit(`${W}@.service`, '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c "sleep 1; echo crashing; exit 1"\nRestart=always\nRestartSec=100ms\n');
  await sd.systemctl(['restart', `${W}@1.service`]);
  await sd.systemctl(['start', `${W}-discovery@1.service`]);
  const running = async (): Promise<boolean> => {
    const shown = (await sd.systemctl(['show', '-p', 'NRestarts,SubState', `${W}@1.service`])).stdout;
    return Number(/NRestarts=(\d+)/.exec(shown)?.[1]) >= 3 && /SubState=running/.test(shown);
  };
  await waitFor(running, { what: 'running after 3 restarts', timeoutMs: 20_000, intervalMs: 20 });
  const s = await status();
  t.equal(s.code, 1, s.text);
  t.match(flags(s.model).join('\n'), /crash-loop: crash loop: .*restarted \d+ times/);
  await unit(`${W}@.service`, container('exec sleep 1000'));
  await sd.systemctl(['stop', `${W}@1.service`]);
  await sd.systemctl(['start', `${W}@1.service`, `${W}-discovery@1.service`]);
  await healthy(t, 'repaired');
});

t.test('a failing sidekick', async (t) => {
  await unit(`${W}-discovery@.service`, sidekick('/bin/false'));
  await sd.systemctl(['restart', `${W}-discovery@1.service`]);
  const s = await status();
  t.equal(s.code, 1);
  t.match(flags(s.model).join('\n'), new RegExp(`sidekick-failed: its sidekick ${W}-discovery@1\\.service is failed/failed`));
  await unit(`${W}-discovery@.service`, sidekick('/bin/true'));
  await sd.systemctl(['restart', `${W}-discovery@1.service`]);
  await healthy(t, 'repaired');
});

t.test('an announcement deleted by hand, and the agent gone (its lease revoked)', async (t) => {
  await client.delete().key(key);
  let s = await status();
  t.equal(s.code, 1);
  t.match(flags(s.model).join('\n'), /not-announced: running but not announced/);
  const lease = client.lease(60);
  await lease.put(key).value(record);
  t.equal((await status()).code, 0, 'announced again');
  await lease.revoke();
  s = await status();
  t.equal(s.code, 1);
  t.match(flags(s.model).join('\n'), /not-announced/);
  await client.put(key).value(record);
  await healthy(t, 'announced again');
});

t.test('a hosts line edited by hand', async (t) => {
  await writeFile(hosts, goodHosts.replace(ip, '10.9.0.99'));
  const s = await status();
  t.equal(s.code, 1);
  t.match(flags(s.model).join('\n'), new RegExp(`not-in-hosts: ${W}-1 is not in the hosts file`));
  await writeFile(hosts, goodHosts);
  await healthy(t, 'repaired');
});

t.test('etcd down: the units are still shown, the announcements said unknown, exit 1', async (t) => {
  const port = await freePort();
  const started = Date.now();
  const s = await status(['--etcd', `http://127.0.0.1:${port}`]);
  t.equal(s.code, 1);
  t.ok(Date.now() - started < 20_000, 'within the timeout (two runs)');
  t.match(s.text, new RegExp(`${W}@1 .* active`), 'the unit is shown');
  t.match(s.text, /1 part could not be seen/, 'never "everything agrees"');
  t.match(s.model?.warnings.join('\n') ?? '', new RegExp(`announcements unknown: .*127\\.0\\.0\\.1:${port}`));
});

t.test('D-Bus down: the announcements and hosts lines are still shown, the bus named with what to check, exit 1', async (t) => {
  const bus = `unix:path=${join(dir, 'no-bus')}`;
  const r = await runFleetkit(['status', spec, '--systemd', '--user', '--hosts-file', hosts], { env: { ...env, DBUS_SESSION_BUS_ADDRESS: bus } });
  t.equal(r.code, 1);
  t.equal(r.stderr, '');
  t.match(r.stdout, new RegExp(`^${W}@1 +- +- +- +- +- +${ip.replace(/\./g, '\\.')}:80 +\\d+s +yes$`, 'm'), 'the announcement, and the hosts line that lists it');
  t.match(r.stdout, `warning: units unknown: D-Bus at ${bus}: no such socket; is the user manager running? check DBUS_SESSION_BUS_ADDRESS\n`);
  t.notMatch(r.stdout, /everything agrees/);
  // Neither D-Bus nor etcd: one line, naming the bus.
  const none = await runFleetkit(['status', spec, '--systemd', '--user', '--hosts-file', hosts, '--etcd', `http://127.0.0.1:${await freePort()}`], { env: { ...env, DBUS_SESSION_BUS_ADDRESS: bus } });
  t.equal(none.code, 1);
  t.equal(none.stdout, '');
  t.equal(none.stderr, `fleetkit status: D-Bus at ${bus}: no such socket; is the user manager running? check DBUS_SESSION_BUS_ADDRESS\n`);
});
