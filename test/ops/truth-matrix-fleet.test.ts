/**
 * The truth matrix through fleet's API: the fleet test server with one simulated machine that runs what the
 * units run (test/fleet-server/host-sim.ts: the real agent and watch-hosts, the containers' own `docker run`
 * on the run's dockerd under systemd's Restart= loop, the sidekicks' real `fleetkit announce`). A healthy
 * cluster gives exit 0; then, one fault at a time: a container that exits 1 at once (a crash loop), an
 * announcement deleted by hand, a hosts line edited by hand, the agent stopped (its facts and announcements
 * gone: "facts unknown") and a sidekick that fails (started while the agent is down), etcd down and fleet
 * unreachable. Each ends in what the user
 * sees (status text and exit code, load's verdict, events lines) and what etcd and the hosts file hold;
 * each repair gives exit 0 again.
 */
import t, { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { announcementKey, factsKey } from '../../src/etcd/key-layout.js';
import { decodeFacts } from '../../src/etcd/container-facts.js';
import type { StatusModel } from '../../src/ops/status-model.js';
import { dockerPart, etcdPart, freePort, waitFor } from '../env/parts.js';
import { etcdReader } from '../announce/fixtures/fixture.js';
import { fleetServerPart } from '../fleet-server/server.js';
import { hostSim } from '../fleet-server/host-sim.js';
import { fleetLoadScratch, machineId } from '../cli/fleet-load.js';
import { runFleetkit } from '../cli/load-io.js';
import { startFleetkit } from './stream-io.js';

// Slow: each start's docker commands take seconds on a loaded runner, and the crash loop must loop.
t.setTimeout(420_000);
const etcd = await etcdPart(t);
const docker = await dockerPart(t);
const client = await etcdReader(t, etcd);
const P = `tmf${process.pid}`;
const prefix = `/fk-tmf-${process.pid}`;
const M1 = machineId(1);
const scratch = await fleetLoadScratch(t, 'truth-fleet');
const sim = await hostSim(t, etcd, docker, client, { prefix });
const server = await fleetServerPart(t, { socketPath: join(scratch.root, 'fleet.sock'), machines: [{ id: M1, primaryIP: '10.0.0.1', metadata: { host: 'node1' } }], agent: sim.agent });
sim.attach(server);
const hosts = sim.hostsFile(M1);
const AGENT = `fleetkit-agent-${P}.service`;

// Written as people write Compose files: a web server, restarted after a short delay; no host ports (the
// simulated machines share one dockerd, see host-sim.ts).
const head = `name: ${P}
x-fleetkit:
  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }
services:
  web:
    image: local/httpd:latest
    deploy: { restart_policy: { condition: any, delay: 2s } }
    x-announce: { port: 8080, ttl: 10s }
`;
// An API that cannot reach its database and exits 1 at once, under the same restart policy.
const API = `  api:
    image: local/busybox:latest
    command: ["sh", "-c", "echo 'api-1: cannot reach db:5432' >&2; exit 1"]
    deploy: { restart_policy: { condition: any, delay: 2s } }
`;
const spec = join(scratch.root, 'cluster.yaml');
const write = (extra = ''): Promise<void> => writeFile(spec, head + extra);
const fk = (...args: string[]) => runFleetkit(args, { env: { FLEETCTL_ENDPOINT: server.endpoint, PATH: process.env['PATH'] }, cwd: scratch.root });
const webKey = announcementKey(prefix, P, 'web', '1');

async function status(extra: string[] = []): Promise<{ code: number; text: string; stderr: string; model: StatusModel | undefined }> {
  const r = await fk('status', spec, '--hosts-file', hosts, ...extra);
  const j = await fk('status', spec, '--hosts-file', hosts, '--json', ...extra);
  return { code: r.code, text: r.stdout, stderr: r.stderr, model: j.stdout ? (JSON.parse(j.stdout) as StatusModel) : undefined };
}
const flagsOf = (m: StatusModel | undefined, unit: string): string[] =>
  m?.services.flatMap((s) => s.instances.filter((i) => i.unit === unit).flatMap((i) => i.flags.map((f) => `${f.code}: ${f.message}`))) ?? [];
const allFlags = (m: StatusModel | undefined): string[] => m?.services.flatMap((s) => s.instances.flatMap((i) => i.flags.map((f) => `${i.unit} ${f.code}: ${f.message}`))) ?? [];
const facts = async (unit: string) => decodeFacts((await client.get(factsKey(prefix, M1, unit)).string()) ?? '');
const webIp = async (): Promise<string> => (await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'web-1'])).stdout.trim();
const hostsLine = async (): Promise<string | undefined> => (await readFile(hosts, 'utf8').catch(() => '')).split('\n').find((l) => / web-1 /.test(l));

/** Waits until status says exit 0 with nothing flagged, and checks what etcd and the hosts file hold then. */
async function healthy(t: Test, what: string): Promise<void> {
  const s = await waitFor(async () => {
    const got = await status();
    return got.code === 0 ? got : undefined;
  }, { what: `${what}: status exit 0`, timeoutMs: 30_000, intervalMs: 500 }).catch(async () => status());
  t.equal(s.code, 0, `${what}: exit 0\n${s.text}${s.stderr}`);
  t.same(allFlags(s.model), [], `${what}: nothing flagged`);
  t.match(s.text, /everything agrees/);
  const ip = await webIp();
  t.match(JSON.parse((await client.get(webKey).string()) ?? '{}'), { ip, port: 8080, hostname: 'web-1', machine: M1 }, `${what}: etcd announces web-1 at its container's address`);
  t.match(await facts('web@1.service'), { phase: 'running', machine: M1 }, `${what}: the agent's facts say running`);
  t.equal(await hostsLine(), `${ip} web-1 web-1.${P}`, `${what}: the hosts file lists it`);
}

await write();
let events: ReturnType<typeof startFleetkit>;
const top = t;

t.test('a healthy cluster: load and status exit 0', async (t) => {
  const r = await fk('load', spec, '--timeout', '60s');
  t.equal(r.code, 0, r.stdout + r.stderr);
  await healthy(t, 'loaded');
  const s = await status();
  t.equal(s.model?.services.find((x) => x.name === 'web')?.instances[0]?.restarts, 0, 'restarts from the agent\'s facts: none');
  // From here on one `events` follows every case.
  // Every unit (not only the spec's of now: the cases add services), and the cluster's announcements.
  events = startFleetkit(['events', '--endpoint', server.endpoint, '--etcd', etcd.clientUrl, '--etcd-prefix', prefix, '--timeout', '20s'], { env: { PATH: process.env['PATH'] } });
  top.teardown(() => events.stop());
  await waitFor(async () => /watching fleet at/.test(events.stderr()) || undefined, { what: 'events ready', timeoutMs: 25_000 }).catch(() => t.fail(`events: ${events.stderr()}`));
});

t.test('a container that exits 1 at once: load fails as a crash loop, status names it, events show it', async (t) => {
  await write(API);
  const from = events.lines.length;
  const started = Date.now();
  // The default --stable: each start's `docker run` takes seconds on a loaded 2-core runner, and fleet calls
  // the unit active for all of that time before the container exits; load times stability from the agent's
  // facts (the container running, since its start), not from fleet's `active`.
  const r = await fk('load', spec, '--timeout', '90s');
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout + r.stderr, /api@1\.service: crash loop: restarted \d+ times while waiting \(last exit status 1\)/, 'the restart count and exit status, from the agent\'s facts');
  t.ok(Date.now() - started < 60_000, `declared after ${Date.now() - started} ms, before the 90 s timeout`);
  t.ok(sim.output('api@1.service').includes('api-1: cannot reach db:5432'), 'what the container printed (on fleet, journald of its machine holds it)');

  t.comment(`$ fleetkit load cluster.yaml\n${r.stdout}${r.stderr}`);
  const s = await status();
  t.comment(`$ fleetkit status cluster.yaml\n${s.text}`);
  t.equal(s.code, 1, s.text);
  t.match(flagsOf(s.model, 'api@1.service').join('\n'), /crash-loop: crash loop: .*restarted \d+ times, last exit status 1/);
  t.match(s.text, /! api@1\.service: crash loop/);
  t.same(flagsOf(s.model, 'web@1.service'), [], 'the healthy service is not blamed');
  const f = await facts('api@1.service');
  t.ok((f?.restarts ?? 0) >= 3 && f?.lastExit === 1, `etcd: the agent's facts count the restarts (${f?.restarts}) and the exit (${f?.lastExit})`);
  t.ok(server.states().some((x) => x.name === 'api@1.service' && ['auto-restart', 'start-pre', 'running'].includes(x.state.subState)), 'fleet reports systemd\'s loop, never failed: the start limit is not reached at this pace');
  await events.waitLine(/unit\/die ERROR api@1\.service .*auto-restart/, { from });

  await write();
  const repaired = await fk('load', spec, '--prune', '--timeout', '60s');
  t.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  t.notOk(server.units().some((u) => u.name.startsWith('api@')), 'pruned');
  await healthy(t, 'the crashing service pruned');
});

t.test('an announcement deleted by hand', async (t) => {
  const ip = await webIp();
  const from = events.lines.length;
  await client.delete().key(webKey);
  const s = await status();
  t.equal(s.code, 1, s.text);
  t.same(flagsOf(s.model, 'web@1.service'), ['not-announced: running but not announced']);
  const gone = await events.waitLine(/announcement\/delete INFO .*web\/1/, { from });
  t.match(gone.line, new RegExp(`withdrawn: was web-1 at ${ip.replace(/\./g, '\\.')}:8080`));
  await waitFor(async () => (await hostsLine()) === undefined, { what: 'watch-hosts drops the line' });
  // The repair an operator makes: restart the sidekick through fleet, which announces again.
  t.equal((await fk('stop', 'web-discovery@1.service')).code, 0);
  t.equal((await fk('start', 'web-discovery@1.service', '--timeout', '30s')).code, 0);
  await healthy(t, 'announced again');
});

t.test('a hosts line edited by hand', async (t) => {
  const good = await readFile(hosts, 'utf8');
  const ip = await webIp();
  await writeFile(hosts, good.replace(`${ip} web-1`, `10.9.0.99 web-1`));
  const s = await status();
  t.equal(s.code, 1, s.text);
  t.same(flagsOf(s.model, 'web@1.service'), [`not-in-hosts: web-1 is not in the hosts file ${hosts}`]);
  t.match(s.text, /web@1 .* no\n/, 'the HOSTS column says no');
  await writeFile(hosts, good);
  await healthy(t, 'the line put back');
});

t.test('the agent stopped: its facts and announcements are gone, status says facts unknown naming the machine; a sidekick started then fails', async (t) => {
  const from = events.lines.length;
  t.equal((await fk('stop', AGENT)).code, 0);
  await waitFor(async () => (await client.get(factsKey(prefix, M1, 'web@1.service')).string()) === null, { what: 'the agent\'s lease revoked: facts gone' });
  t.equal(await client.get(webKey).string(), null, 'etcd: the announcement went with the agent\'s lease');
  await waitFor(async () => (await hostsLine()) === undefined, { what: 'watch-hosts drops the line' });
  const s = await waitFor(async () => {
    const got = await status();
    return /is inactive\/dead there/.test(flagsOf(got.model, 'web@1.service').join('\n')) ? got : undefined;
  }, { what: 'fleet reports the agent stopped', timeoutMs: 10_000, intervalMs: 300 });
  t.comment(`$ fleetkit status cluster.yaml\n${s.text}`);
  t.equal(s.code, 1, s.text);
  t.same(flagsOf(s.model, 'web@1.service'), [
    `facts-unknown: facts unknown: the agent on 00000000/10.0.0.1 published no container facts for it, so restarts and exits cannot be seen; ${AGENT} is inactive/dead there (check ${AGENT} on that machine and that it reaches etcd)`,
    'not-announced: running but not announced',
  ], 'the container still runs: unknown, never healthy');
  t.equal(s.model?.services.find((x) => x.name === 'web')?.instances[0]?.restarts, undefined, 'no restart count made up');
  t.match(s.text, new RegExp(`! web@1\\.service: facts unknown: the agent on 00000000/10\\.0\\.0\\.1 `));
  t.notMatch(s.text, /everything agrees/);
  await events.waitLine(/announcement\/delete INFO .*web\/1/, { from });

  // A sidekick that fails: restarted while the agent is down, its `fleetkit announce` cannot reach it.
  t.equal((await fk('stop', 'web-discovery@1.service')).code, 0);
  const failed = await fk('start', 'web-discovery@1.service', '--timeout', '30s');
  t.equal(failed.code, 1, failed.stdout + failed.stderr);
  t.match(failed.stdout + failed.stderr, /web-discovery@1\.service +\S+ +failed/, 'start names the failed sidekick');
  const sk = await status();
  t.equal(sk.code, 1, sk.text);
  t.match(flagsOf(sk.model, 'web@1.service').join('\n'), /sidekick-failed: its sidekick web-discovery@1\.service is failed\/failed: the container is not announced/);
  t.match(sk.text, /! web@1\.service: its sidekick web-discovery@1\.service is failed\/failed/);
  await events.waitLine(/unit\/die ERROR web-discovery@1\.service /, { from });
  t.match(sim.errors.join('\n'), /web-discovery@1\.service .*agent/, 'what the sidekick printed names the agent');

  // Repaired: the agent started, the sidekick started again.
  t.equal((await fk('start', AGENT, '--timeout', '30s')).code, 0);
  t.equal((await fk('stop', 'web-discovery@1.service')).code, 0);
  t.equal((await fk('start', 'web-discovery@1.service', '--timeout', '30s')).code, 0);
  await healthy(t, 'the agent and the sidekick started again');
});

t.test('etcd down: the units are still shown, the announcements said unknown, exit 1', async (t) => {
  const port = await freePort();
  const s = await status(['--etcd', `http://127.0.0.1:${port}`, '--timeout', '3s']);
  t.equal(s.code, 1);
  t.match(s.text, /web@1 +00000000\/10\.0\.0\.1 +launched +launched +active +running/, 'the unit as fleet reports it');
  t.match(s.model?.warnings.join('\n') ?? '', new RegExp(`announcements unknown: .*127\\.0\\.0\\.1:${port}`));
  t.same(allFlags(s.model), [], 'said once as a warning: no unit is called unannounced or facts-unknown for what could not be read');
  t.match(s.text, /1 part could not be seen/);
  const started = Date.now();
  const e = await fk('events', spec, '--etcd', `http://127.0.0.1:${port}`, '--timeout', '2s');
  t.not(e.code, 0);
  t.match(e.stderr, new RegExp(`etcd at http://127\\.0\\.0\\.1:${port}`), `events: one line naming etcd: ${e.stderr}`);
  t.ok(Date.now() - started < 15_000, 'within the timeout');
});

t.test('fleet unreachable: the announcements and hosts lines are still shown, fleet named, exit 1', async (t) => {
  const sock = join(scratch.root, 'no-fleet.sock');
  const r = await fk('status', spec, '--hosts-file', hosts, '--endpoint', `unix://${sock}`);
  t.equal(r.code, 1);
  t.equal(r.stderr, '');
  const ip = await webIp();
  t.match(r.stdout, new RegExp(`^web@1 +- +- +- +- +- +${ip.replace(/\./g, '\\.')}:8080 +\\d+s +yes$`, 'm'), 'the announcement, and the hosts line that lists it');
  t.match(r.stdout, new RegExp(`warning: units unknown: fleet at unix://${sock.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
  t.notMatch(r.stdout, /everything agrees/);
  const e = await fk('events', spec, '--endpoint', `unix://${sock}`, '--timeout', '2s');
  t.not(e.code, 0);
  t.match(e.stderr, /fleet at unix:\/\//, `events: one line naming fleet: ${e.stderr}`);
  await healthy(t, 'fleet reachable again');
  t.notMatch(events.lines.join('\n'), /_facts/, 'events never report the agents\' container facts as announcements');
  t.same(sim.errors.filter((x) => !/^web-discovery@1\.service .*agent/.test(x)), [], 'no sidekick command failed but the one run while the agent was down');
});
