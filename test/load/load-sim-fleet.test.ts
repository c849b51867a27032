/**
 * load's health wait on fleet with machines that run what the units run (test/fleet-server/host-sim.ts:
 * the real agent publishing container facts and announcements in the run's etcd, the units' own `docker
 * run` commands on the run's dockerd, started again as `Restart=` says, the sidekicks' real `announce`).
 * - Restarts before the wait's first read count: a container that exits 1 at once, four times, and then
 *   stays up, all before a slow fleet lets load read any state, is a crash loop with its 4 restarts. Counted
 *   from the first read (as before), it would pass as healthy.
 * - The restarts of a run before do not count: the fixed spec, loaded after the loop, passes.
 * - An announced container: load ends once the agent has announced it; the announcement deleted by hand
 *   while the container and its sidekick stay active fails the next load.
 */
import t, { type Test } from 'tap';
import { createServer, request } from 'node:http';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { announcementKey, factsDir } from '../../src/etcd/key-layout.js';
import { decodeFacts } from '../../src/etcd/container-facts.js';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { fleetServerPart } from '../fleet-server/server.js';
import { hostSim } from '../fleet-server/host-sim.js';
import { machineId } from '../cli/fleet-load.js';
import { runFleetkit } from '../cli/load-io.js';

const [etcd, docker] = await Promise.all([etcdPart(t), dockerPart(t)]);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
const dir = await mkdtemp(join(tmpdir(), 'fk-load-sim-'));
const prefix = `/fk-sim-${process.pid}`;
const M = machineId(1);
const machines = [{ id: M, primaryIP: '10.0.0.1', metadata: { host: 'node1' } }];
const env = { PATH: process.env['PATH'] };

/** The restart counts the agent published for `unit`. */
async function restartsOf(unit: string): Promise<number | undefined> {
  const v = await client.get(`${factsDir(prefix)}${M}/${unit}`).string();
  return v ? decodeFacts(v)?.restarts : undefined;
}

/**
 * A fleet endpoint in front of `socketPath` that holds every `GET …/state` sent after a unit was set
 * `launched` until `release()` has resolved: a fleet that answers slowly while the unit starts.
 */
async function slowStates(t: Test, socketPath: string, at: string, release: () => Promise<void>): Promise<{ endpoint: string; readonly held: number }> {
  let launched = false;
  let released: Promise<void> | undefined;
  const out = { endpoint: `unix://${at}`, held: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void (async () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'PUT' && body.toString().includes('"launched"')) launched = true;
      if (launched && req.method === 'GET' && /\/state(\?|$)/.test(req.url ?? '')) {
        out.held++;
        await (released ??= release());
      }
      const up = request({ socketPath, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(body);
    })());
  });
  await new Promise<void>((resolve) => server.listen(at, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return out;
}

const run = (endpoint: string, ...args: string[]) => runFleetkit([...args, '--endpoint', endpoint], { env });

t.test('restarts before the first read are counted; those of the run before are not', async (t) => {
  const cluster = `loop${process.pid}`;
  const sim = await hostSim(t, etcd, docker, client, { prefix });
  const s = await fleetServerPart(t, { socketPath: join(dir, 'loop.sock'), machines, agent: sim.agent });
  sim.attach(s);
  // Exits 1 four times, then stays up: the container counts its runs in a file it shares with the host.
  const state = join(dir, 'flaky');
  await mkdir(state, { recursive: true });
  await writeFile(join(state, 'run.sh'), 'n=$(cat /state/n 2>/dev/null || echo 0)\necho $((n+1)) > /state/n\n[ "$n" -ge 4 ] && exec sleep 3600\necho "flaky run $n: exit 1"\nexit 1\n');
  const spec = join(dir, 'loop.yaml');
  const write = (command: string) => writeFile(spec, `name: ${cluster}
x-fleetkit: { etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }, hosts: { containers: false } }
services:
  flaky:
    image: local/busybox:latest
    command: ${command}
    volumes: ["${state}:/state"]
    restart: always
    x-systemd: { Service: { RestartSec: 100ms } }
`);
  await write('["sh", "/state/run.sh"]');
  const unit = 'flaky@1.service';
  t.teardown(async () => void (await run(s.endpoint, 'destroy', spec)));
  // The agent runs before the container starts (it counts the starts it sees): everything is submitted,
  // then only the host units are started.
  t.equal((await run(s.endpoint, 'load', spec, '--no-start')).code, 0);
  const host = await run(s.endpoint, 'start', `fleetkit-agent-${cluster}.service`, `fleetkit-hosts-${cluster}.service`);
  t.equal(host.code, 0, host.stdout + host.stderr);

  // A slow fleet: once the unit is launched, its state is answered only after the container has run 5 times
  // (4 exits, then up for good) and the agent has published the 4 restarts.
  const slow = await slowStates(t, s.socketPath!, join(dir, 'slow.sock'), async () => {
    await waitFor(async () => (await readFile(join(state, 'n'), 'utf8').catch(() => '')).trim() === '5' && (await restartsOf(unit)) === 4, { what: 'the container ran 5 times, 4 restarts published', timeoutMs: 100_000 });
  });
  const r = await run(slow.endpoint, 'load', spec, '--timeout', '60s', '--stable', '2s', '--request-timeout', '120s');
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stderr, /flaky@1\.service: crash loop: restarted 4 times while waiting \(last exit status 1\)/, 'every restart of this run counted, with the exit status');
  t.equal(await restartsOf(unit), 4, 'as the agent published them: 5 starts');
  t.equal((await readFile(join(state, 'n'), 'utf8')).trim(), '5', 'the container ran 5 times');
  t.ok(slow.held > 0, `state reads held until then: ${slow.held}`);

  // The fixed spec replaces the stopped unit: the 4 restarts of the run before are not this run's.
  t.equal((await run(s.endpoint, 'stop', spec)).code, 0);
  await write('["sleep", "3600"]');
  const fixed = await run(s.endpoint, 'load', spec, '--replace', '--timeout', '60s', '--stable', '1s');
  t.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  t.match(fixed.stdout, /^flaky@1\.service\s+replaced\s+active/m);
  t.ok((await restartsOf(unit) ?? 0) >= 5, "the agent's count goes on across runs");
});

t.test('an announced container on fleet: load ends once the agent announced it; deleted by hand, load fails', async (t) => {
  const cluster = `ann${process.pid}`;
  const sim = await hostSim(t, etcd, docker, client, { prefix });
  const s = await fleetServerPart(t, { socketPath: join(dir, 'ann.sock'), machines, agent: sim.agent });
  sim.attach(s);
  const spec = join(dir, 'ann.yaml');
  await writeFile(spec, `name: ${cluster}
x-fleetkit: { etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }, hosts: { containers: false } }
services:
  web:
    image: local/busybox:latest
    command: ["sleep", "3600"]
    x-announce: { port: 80, ttl: 10s }
`);
  t.teardown(async () => void (await run(s.endpoint, 'destroy', spec)));
  const key = announcementKey(prefix, cluster, 'web', '1');
  const r = await run(s.endpoint, 'load', spec, '--timeout', '60s', '--stable', '1s');
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^web@1\.service\s+created\s+active/m);
  const record = JSON.parse((await client.get(key).string()) ?? '{}') as { container?: string; machine?: string };
  t.same([record.container, record.machine], ['web-1', M], 'announced by the agent of the machine it runs on');
  t.same(sim.errors, [], 'the sidekick\'s commands ran');

  await client.delete().key(key);
  const again = await run(s.endpoint, 'load', spec, '--timeout', '4s');
  t.equal(again.code, 1, again.stdout + again.stderr);
  t.match(again.stderr, new RegExp(`web@1\\.service: active, but not announced in etcd at ${key.replace(/[.@/]/g, '\\$&')} after \\d+s`));
  t.equal(s.states().filter((x) => x.name.startsWith('web') && x.state.activeState === 'active').length, 2, 'the container unit and its sidekick are active in fleet all along');
});
