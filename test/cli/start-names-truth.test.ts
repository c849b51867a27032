/**
 * Operations tell the truth about announcements, on the real systemd, dockerd and etcd:
 * - a container its agent cannot announce (no address: `docker run --network=none`) fails load and start at
 *   once, with the agent's reason, and status names it; a spec that says network_mode: none with x-announce
 *   is refused;
 * - `start UNIT…` by name checks the announcements as load of a spec does: the sidekick's unit names its key
 *   and the cluster's agent unit its etcd; units whose etcd nothing names end unknown (exit 1), not healthy;
 * - `start UNIT…` and `stop UNIT…` by name take the discovery sidekicks a container unit wants with it, each in
 *   a row of its own (systemd's Wants= and BindsTo= would move them anyway: the summary says so); a sidekick
 *   whose unit file is missing fails the container unit at once, naming it.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart } from '../env/parts.js';
import { ensureBundle } from '../e2e/e2e-cluster.js';
import { systemdClusterHead } from './systemd-cluster.js';
import { runFleetkit } from './load-io.js';

t.setTimeout(240_000);
const etcd = await etcdPart(t);
const sd = await systemdPart(t);
const docker = await dockerPart(t);
await ensureBundle();

const CLUSTER = `sn${process.pid}`;
const W = `w${process.pid}`;
const N = `n${process.pid}`;
const prefix = `/fk-sn-${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'fk-start-names-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const head = `${await systemdClusterHead(dir, { name: CLUSTER, prefix, etcd, docker })}  ${W}:
    image: ${docker.httpImage}
    x-announce: { port: 8080, ttl: 10s }
`;
const spec = join(dir, 'cluster.yaml');
// N's container gets no network through the escape hatch: the agent finds no address to announce.
await writeFile(spec, `${head}  ${N}:
    image: ${docker.httpImage}
    x-docker: { args: ["--network=none"] }
    x-announce: { port: 8080, ttl: 10s }
`);
const common = ['--systemd', '--user', '--unit-dir', sd.unitDir, '--journal-dir', sd.journalDir, '--stable', '0s'];
const env = { ...sd.env };
const fk = (...args: string[]) => runFleetkit([...args, ...common], { env });
t.teardown(async () => void (await fk('destroy', spec)));
const NO_ADDRESS = /the agent on \S+ refuses to announce its container: it has no IPv4 address/;

t.test('a container without an address: load and start fail at once with the reason, status names it', async (t) => {
  const t0 = Date.now();
  const load = await fk('load', spec, '--timeout', '60s');
  const took = Date.now() - t0;
  t.equal(load.code, 1, `${load.stdout}${load.stderr}`);
  t.match(load.stdout, /^load: 9 created, 0 replaced, 0 unchanged, 1 failed$/m);
  t.match(load.stderr, new RegExp(`^${N}@1\\.service: active, but never announced in etcd at ${prefix}/${CLUSTER}/${N}/1: ${NO_ADDRESS.source}`, 'm'));
  t.ok(took < 40_000, `the refusal ends the wait, not the 60 s timeout (${took} ms)`);

  const status = await runFleetkit(['status', spec, '--systemd', '--user'], { env });
  t.equal(status.code, 1, `${status.stdout}${status.stderr}`);
  t.match(status.stdout, new RegExp(`! ${N}@1\\.service: running but never announced: the agent refuses to announce its container: it has no IPv4 address`));

  const stop = await fk('stop', `${N}@1.service`, `${W}@1.service`);
  t.equal(stop.code, 0, `${stop.stdout}${stop.stderr}`);
  t.match(stop.stdout, /^stop: 4 stopped, 0 failed$/m, 'the sidekicks stopped with their container units, each counted');
  t.match(stop.stdout, new RegExp(`^${W}-discovery@1\\.service +stopped +inactive`, 'm'));
  // By name: the sidekicks' units name the keys, the cluster's agent unit names the etcd.
  const t1 = Date.now();
  const start = await fk('start', `${N}@1.service`, `${W}@1.service`, '--timeout', '60s');
  t.equal(start.code, 1, `${start.stdout}${start.stderr}`);
  t.match(start.stdout, /^start: 0 created, 0 replaced, 0 unchanged, 3 started, 1 failed$/m, 'both sidekicks started in rows of their own');
  t.match(start.stdout, new RegExp(`^${W}-discovery@1\\.service +started +active`, 'm'));
  t.match(start.stderr, new RegExp(`^${N}@1\\.service: active, but never announced in etcd at ${prefix}/${CLUSTER}/${N}/1: ${NO_ADDRESS.source}`, 'm'));
  t.ok(Date.now() - t1 < 40_000, 'again at once');
});

t.test('network_mode: none with x-announce is refused at its line', async (t) => {
  const bad = join(dir, 'none.yaml');
  await writeFile(bad, `${head}  ${N}:
    image: ${docker.httpImage}
    network_mode: none
    x-announce: { port: 8080 }
`);
  const r = await runFleetkit(['gen', bad, '--stdout'], { env });
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, new RegExp(`none\\.yaml:17:5: services\\.${N}\\.x-announce: x-announce with network_mode: none: the container has no address to announce`));
});

t.test('start by name: a sidekick whose etcd nothing names is unknown, not healthy', async (t) => {
  // Hand-written units without a cluster mark: no agent unit says where the key would be.
  const X = `x${process.pid}`;
  const key = `${prefix}/hand/${X}/1`;
  await writeFile(join(sd.unitDir, `${X}@.service`), `[Unit]\nWants=${X}-discovery@%i.service\n[Service]\nExecStart=/bin/sleep 600\n`);
  await writeFile(join(sd.unitDir, `${X}-discovery@.service`), `[Unit]\nBindsTo=${X}@%i.service\nAfter=${X}@%i.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c ': announce --key ${prefix}/hand/${X}/%i --container ${X}-%i'\n`);
  await sd.systemctl(['daemon-reload']);
  t.teardown(async () => {
    await sd.systemctl(['stop', `${X}@1.service`, `${X}-discovery@1.service`]);
    await rm(join(sd.unitDir, `${X}@.service`), { force: true });
    await rm(join(sd.unitDir, `${X}-discovery@.service`), { force: true });
  });
  const unknown = await fk('start', `${X}@1.service`, '--timeout', '30s');
  t.equal(unknown.code, 1, `${unknown.stdout}${unknown.stderr}`);
  t.match(unknown.stdout, /^start: 0 created, 0 replaced, 0 unchanged, 1 started, 0 failed, 1 unknown$/m, 'its sidekick started, in its own row');
  t.match(unknown.stderr, new RegExp(`^${X}@1\\.service: active, but its announcement at ${key} was not checked: no etcd is known for it .*give --etcd URL`, 'm'));

  // With --etcd the key is read: not there, so the unit fails at the timeout.
  const checked = await fk('start', `${X}@1.service`, '--timeout', '3s', '--etcd', etcd.clientUrl);
  t.equal(checked.code, 1, `${checked.stdout}${checked.stderr}`);
  t.match(checked.stderr, new RegExp(`^${X}@1\\.service: active, but not announced in etcd at ${key} after \\d+s`, 'm'));

  const opted = await fk('start', `${X}@1.service`, '--no-announcements');
  t.equal(opted.code, 0, `--no-announcements waits for the states only: ${opted.stdout}${opted.stderr}`);
});

t.test('start by name: a sidekick whose unit file is missing fails its container unit at once, naming it', async (t) => {
  // The container unit wants a sidekick nobody wrote: nothing will ever announce it.
  const Y = `y${process.pid}`;
  await writeFile(join(sd.unitDir, `${Y}@.service`), `[Unit]\nWants=${Y}-discovery@%i.service\n[Service]\nExecStart=/bin/sleep 600\n`);
  await sd.systemctl(['daemon-reload']);
  t.teardown(async () => {
    await sd.systemctl(['stop', `${Y}@1.service`]);
    await rm(join(sd.unitDir, `${Y}@.service`), { force: true });
  });
  const t0 = Date.now();
  const r = await fk('start', `${Y}@1.service`, '--timeout', '60s');
  t.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^start: 0 created, 0 replaced, 0 unchanged, 0 started, 1 failed$/m);
  t.match(r.stderr, new RegExp(`^${Y}@1\\.service: active, but never announced: its discovery sidekick ${Y}-discovery@1\\.service \\(its Wants=\\) is not on systemd \\(user manager\\), nor its template ${Y}-discovery@\\.service, so nothing announces its container: load the cluster's spec \\(fleetkit load SPEC --no-start\\) or add its unit file \\(${Y}-discovery@\\.service\\) to the unit directory`, 'm'));
  t.ok(Date.now() - t0 < 30_000, `at once, not at the 60 s timeout (${Date.now() - t0} ms)`);
  const opted = await fk('start', `${Y}@1.service`, '--no-announcements');
  t.equal(opted.code, 0, `--no-announcements waits for the states only: ${opted.stdout}${opted.stderr}`);
});
