/**
 * `load --replace` of a changed GLOBAL service through the fleet test server with three simulated machines
 * (test/fleet-server/host-sim.ts), each with a Docker engine of its own: the unit's own `docker run` on that
 * machine's engine under the Restart= loop, the machine's real agent publishing its container facts, the
 * sidekick's real `fleetkit announce` under the machine's host name. The server models fleet's agent: a
 * running unit whose definition is swapped, with a sidekick bound to it, keeps its old process (the first
 * subtest shows it on every machine). So a replace is judged from what runs:
 * - `docker inspect` on every machine's engine: a new container with the new command, environment and config
 *   hash label, started after the replace; the agents' facts in etcd say the same, machine by machine;
 * - `docker events` of the three engines: every old container died before the first new one started (fleet
 *   has no target state per machine: a global unit goes down everywhere, then comes back everywhere), and the
 *   server's state history agrees: no machine ran the new version while another still ran the old one;
 * - a new version that exits at once fails the global unit, says so, and leaves the service rolled after it
 *   on its old container (held).
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerPart, etcdPart, waitFor, type DockerPart } from '../env/parts.js';
import { etcdReader } from '../announce/fixtures/fixture.js';
import { decodeFacts, LABEL_CONFIG_HASH } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';
import { fleetServerPart } from '../fleet-server/server.js';
import { hostSim } from '../fleet-server/host-sim.js';
import { rawRequest } from '../fleet-server/raw-request.js';
import { fleetLoadScratch, machineId } from '../cli/fleet-load.js';
import { configHashIn, serviceYaml, V1_COMMAND, V2_COMMAND } from './rolling-kit.js';

// Three engines start, and real containers stop and start on each, three times over.
t.setTimeout(300_000);
const etcd = await etcdPart(t);
const engines = await Promise.all([1, 2, 3].map(() => dockerPart(t, { private: true })));
const client = await etcdReader(t, etcd);
const machines = engines.map((_, i) => ({ id: machineId(i + 1), primaryIP: `10.0.0.${i + 1}`, metadata: { host: `node${i + 1}` } }));
const dockers = new Map(machines.map((m, i) => [m.id, engines[i]!] as const));
const prefix = `/fk-rollglobal-${process.pid}`;
// G is global (on every machine); H has one instance, rolled after G (groups go in name order).
const G = `g${process.pid}`;
const H = `h${process.pid}`;
const GU = `${G}.service`;
const esc = (s: string): string => s.replace(/[.@]/g, '\\$&');

interface Seen { readonly id: string; readonly startedAt: number; readonly cmd: readonly string[]; readonly env: readonly string[]; readonly configHash: string | undefined }

async function inspect(d: DockerPart, name: string): Promise<Seen | undefined> {
  const r = await d.docker(['inspect', name]);
  const [c] = JSON.parse(r.stdout || '[]') as { Id: string; State: { StartedAt: string; Running: boolean }; Config: { Cmd: string[] | null; Env: string[] | null; Labels: Record<string, string> | null } }[];
  return c?.State.Running ? { id: c.Id, startedAt: Date.parse(c.State.StartedAt), cmd: c.Config.Cmd ?? [], env: c.Config.Env ?? [], configHash: c.Config.Labels?.[LABEL_CONFIG_HASH] } : undefined;
}

/** G's container on every engine, once each runs one whose environment says `version`. */
const globalRuns = (version: string): Promise<Seen[]> => waitFor(async () => {
  const all = await Promise.all(engines.map((d) => inspect(d, G)));
  return all.every((c) => c?.env.includes(`VERSION=${version}`)) ? all as Seen[] : undefined;
}, { what: `${G} running ${version} on every machine`, timeoutMs: 30_000 });

/** `[ms, action, engine index]` of G's container on every engine, oldest first. */
async function events(since: number, until: number): Promise<[number, string, number][]> {
  const per = await Promise.all(engines.map(async (d, k) => {
    const r = await d.docker(['events', '--since', (since / 1000).toFixed(3), '--until', (until / 1000).toFixed(3), '--filter', 'type=container', '--filter', `container=${G}`, '--filter', 'event=start', '--filter', 'event=die', '--format', '{{.TimeNano}} {{.Action}}']);
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')).map(([ns, a]): [number, string, number] => [Number(BigInt(ns!) / 1_000_000n), a!, k]);
  }));
  return per.flat().sort((a, b) => a[0] - b[0]);
}

t.test('a changed global service: stopped on every machine, then its new container on every machine', async (t) => {
  const scratch = await fleetLoadScratch(t, 'rollglobal');
  const spec = async (version: string, o: { command?: readonly string[]; broken?: boolean } = {}): Promise<void> => {
    const command = o.broken ? ['sh', '-c', 'echo broken; exit 1'] : (o.command ?? V1_COMMAND);
    await writeFile(join(scratch.root, 'cluster.yaml'), `name: glob
x-fleetkit: { etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} } }
services:
${serviceYaml(G, { version, command, global: true })}${serviceYaml(H, { version, command: V1_COMMAND })}`);
  };
  const sim = await hostSim(t, etcd, engines[0]!, client, { prefix, dockers });
  const s = await fleetServerPart(t, { socketPath: join(scratch.root, 'fleet.sock'), machines, recordStates: true, agent: sim.agent });
  sim.attach(s);
  const run = (...args: string[]) => scratch.load(s, ...args);
  // No destroy at the end: the simulation stops what runs, and the engines go with their containers.

  await spec('v1');
  const first = await run('load', 'cluster.yaml', '--stable', '1s', '--timeout', '60s');
  t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
  const v1 = await globalRuns('v1');
  t.equal(new Set(v1.map((c) => c.id)).size, 3, 'three containers of G, one per machine');

  await t.test('what fleetctl does, a PUT of the new definition while G runs, leaves the old container on every machine', async (t) => {
    const unit = s.units().find((u) => u.name === GU)!;
    const options = unit.options.map((o) => (o.name === 'ExecStart' ? { ...o, value: o.value.replace('VERSION=v1', 'VERSION=v1b') } : o));
    const res = await rawRequest(s, 'unix', { method: 'PUT', path: `/fleet/v1/units/${GU}`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ desiredState: 'launched', options }) });
    t.equal(res.crashed ? 0 : res.status, 201, 'fleet stores the new definition');
    const hash = s.units().find((u) => u.name === GU)!.hash;
    await waitFor(() => machines.every((m) => s.states().some((x) => x.name === GU && x.machineID === m.id && x.hash === hash && x.state.activeState === 'active')), { what: 'every machine reports the new hash active', timeoutMs: 20_000 });
    for (const [k, d] of engines.entries()) t.equal((await inspect(d, G))?.id, v1[k]!.id, `machine ${k + 1}: the same v1 container runs under the new hash`);
    // Back to v1's definition (the same swap): the roll below starts from v1 running under v1's definition.
    const back = await rawRequest(s, 'unix', { method: 'PUT', path: `/fleet/v1/units/${GU}`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ desiredState: 'launched', options: unit.options }) });
    t.equal(back.crashed ? 0 : back.status, 201);
    await waitFor(() => machines.every((m) => s.states().some((x) => x.name === GU && x.machineID === m.id && x.hash === unit.hash && x.state.activeState === 'active')), { what: 'every machine reports v1\'s hash again', timeoutMs: 20_000 });
  });

  await spec('v2', { command: V2_COMMAND });
  const t0 = Date.now();
  const since = s.clock();
  const r = await run('load', 'cluster.yaml', '--replace', '--stable', '1s', '--timeout', '90s');
  const t1 = Date.now();
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  t.comment(`rolling replace of a global unit on 3 machines and one instance: ${t1 - t0} ms`);
  t.match(r.stdout, new RegExp(`^${esc(GU)}\\s+replaced\\s+active`, 'm'), 'the global unit replaced');
  t.match(r.stdout, new RegExp(`^${esc(H)}@1\\.service\\s+replaced\\s+active`, 'm'), 'and the instance rolled after it');
  t.match(r.stdout, /^load: 0 created, 3 replaced, \d+ unchanged, 0 failed$/m, 'G, H\'s template and its instance');
  t.match(r.stdout, new RegExp(`^${esc(GU)}\\s+replaced\\s+active\\s+${machines.map((m) => m.id.slice(0, 8)).join(',')}$`, 'm'), 'G\'s row names the three machines it was replaced on');

  const newHash = configHashIn(s.units().find((u) => u.name === GU)!.options.map((o) => o.value).join('\n'));
  t.ok(newHash && newHash !== v1[0]!.configHash, `a new config hash (${newHash})`);
  const v2 = await globalRuns('v2');
  for (const [k, c] of v2.entries()) {
    const m = machines[k]!.id;
    t.not(c.id, v1[k]!.id, `machine ${k + 1}: a new container`);
    t.same(c.cmd, V2_COMMAND, `machine ${k + 1}: the new command`);
    t.equal(c.configHash, newHash, `machine ${k + 1}: docker inspect shows the new config hash label`);
    t.ok(c.startedAt >= t0 - 1000, `machine ${k + 1}: started after the replace began`);
    const facts = decodeFacts((await client.get(factsKey(prefix, m, GU)).string()) ?? '');
    t.equal(facts?.containerId, c.id, `machine ${k + 1}: its agent reports that container`);
    t.equal(facts?.configHash, newHash, `machine ${k + 1}: its agent reports the new config hash`);
  }
  const timeline = await events(t0 - 100, t1 + 100);
  const dies = timeline.filter(([, a]) => a === 'die');
  const starts = timeline.filter(([, a]) => a === 'start');
  t.same([...new Set(dies.map(([, , k]) => k))].sort(), [0, 1, 2], 'docker events: the old container died on every machine');
  t.same([...new Set(starts.map(([, , k]) => k))].sort(), [0, 1, 2], 'docker events: a new one started on every machine');
  t.ok(Math.max(...dies.map(([at]) => at)) <= Math.min(...starts.map(([at]) => at)), `docker events: every old container died before the first new one started (${timeline.map(([at, a, k]) => `${a}@${k + 1}+${at - t0}`).join(' ')})`);
  // The server's state history: once a machine reports the new hash, no machine reports the old one running.
  const oldHash = [...s.stateHistory()].reverse().find((h) => h.at < since && h.name === GU && h.hash)?.hash;
  const hist = s.stateHistory().filter((h) => h.at >= since && h.name === GU);
  const firstNew = hist.find((h) => h.hash !== oldHash && h.state?.activeState === 'active')?.at ?? Infinity;
  t.notOk(hist.some((h) => h.at > firstNew && h.hash === oldHash && h.state?.activeState === 'active'), 'fleet\'s state history: the old version ran nowhere once the new one was up');
  const lastOldActive = Math.max(...hist.filter((h) => h.hash === oldHash && h.state?.activeState === 'active').map((h) => h.at), -1);
  t.ok(lastOldActive < firstNew, 'fleet\'s state history: stopped before the new start');
  for (const m of machines) {
    await waitFor(async () => (await client.get(`${prefix}/glob/${G}/${m.metadata.host}`).string()) !== null, { what: `${G} announced on ${m.metadata.host}`, timeoutMs: 20_000 });
  }
  t.pass('announced again on every machine');

  await t.test('a new version of G that exits at once fails it, and H, rolled after it, keeps its old container', async (t) => {
    const h = (await Promise.all(engines.map(async (d, k) => ({ k, c: await inspect(d, `${H}-1`) })))).find((x) => x.c);
    t.ok(h, 'H@1 runs on one machine');
    await spec('v3', { broken: true });
    const bad = await run('load', 'cluster.yaml', '--replace', '--stable', '1s', '--timeout', '60s');
    t.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
    t.match(bad.stdout, new RegExp(`^${esc(GU)}\\s+replaced\\s+(failed|crash-loop|unconfirmed|timeout)`, 'm'), 'the global unit failed');
    t.match(bad.stderr, new RegExp(`^${esc(GU)}: `, 'm'), 'and why is told');
    t.notMatch(bad.stdout, new RegExp(`^${esc(GU)}\\s+replaced\\s+active`, 'm'), 'never reported active');
    t.match(bad.stdout, new RegExp(`^${esc(H)}@1\\.service\\s+held`, 'm'), 'H@1 held');
    t.match(bad.stderr, new RegExp(`^${esc(H)}@1\\.service: left on its old version: the rolling replace stopped when ${esc(GU)} failed`, 'm'));
    const still = await inspect(engines[h!.k]!, `${H}-1`);
    t.equal(still?.id, h!.c!.id, 'H-1 still runs its old container');
    t.ok(still?.env.includes('VERSION=v2'), 'with the old environment');
  });
});
