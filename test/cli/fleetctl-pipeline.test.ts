/**
 * The README's pipeline, `gen-units cluster.yaml | xargs fleetctl start`, through a fleetctl-style client
 * (test/support/fleetctl.ts, modelled on fleetctl v1.0.0) against the fleet test server, on one machine for a
 * spec that fits it and on three for the seed example: exit 0 and every unit active.
 *
 * Each simulated machine has its own identity: a machine id, a host name, and its own fleetkit agent (in
 * process, on the run's etcd and dockerd, with its own state directory). A sidekick's start runs the unit's
 * real ExecStart (`fleetkit announce …`, specifiers expanded as systemd would; run in process, as the process
 * start of node is no part of what is judged) against that machine's agent, and the unit is active only when
 * that command has returned 0 — so fleetctl's 2 s window after `launched` judges the real sidekick. Containers are not run (the seed publishes port 80 on every machine); the agents
 * accept the registrations and wait for the containers, which is the health gating that is theirs to do.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, type DockerPart, type EtcdPart } from '../env/parts.js';
import { announceCli, inProcessAgent } from '../announce/fixtures/fixture.js';
import { fleetServerPart, type AgentUnit, type FleetServer, type MachineView, type SystemdState } from '../fleet-server/server.js';
import { parseCommandLine } from '../../src/unit/parse-command-line.js';
import { fleetctlStart } from '../support/fleetctl.js';
import { runFleetkit } from './load-io.js';

const root = join(import.meta.dirname, '../..');
const seed = join(root, 'examples/seed/cluster.yaml');

const ONE_MACHINE = `name: onebox
services:
  web:
    image: local/httpd:latest
    deploy: { replicas: 2 }
    x-announce: { port: 8080 }
  worker:
    image: local/busybox:latest
`;

/** A fleet test server whose machines run a fleetkit agent each and start sidekicks for real. */
async function pipelineFleet(t: Test, etcd: EtcdPart, docker: DockerPart, count: number, o: { dropNoWait?: boolean } = {}): Promise<{ server: FleetServer; sidekickMs: number[] }> {
  const dirs = new Map<string, string>();
  const machines = Array.from({ length: count }, (_, k) => ({ id: `${k + 1}`.repeat(32).slice(0, 32), primaryIP: `10.0.0.${k + 1}`, metadata: { host: `node${k + 1}` } }));
  for (const m of machines) {
    const { stateDir } = await inProcessAgent(t, etcd, docker, { prefix: '/services', machineId: m.id, containerWaitMs: 1000 });
    dirs.set(m.id, stateDir);
  }
  const sidekickMs: number[] = [];
  await announceCli(['--help']); // load (and compile) the command once, before any window is timed
  let server: FleetServer | undefined;
  const startSidekick = (unit: AgentUnit, machine: MachineView): SystemdState => {
    const execStart = unit.options.filter((x) => x.section === 'Service' && x.name === 'ExecStart').at(-1)!.value;
    const at = unit.name.indexOf('@');
    const instance = at >= 0 ? unit.name.slice(at + 1, unit.name.lastIndexOf('.')) : '';
    const host = machine.metadata['host'] ?? machine.id;
    const argv = parseCommandLine(execStart, { specifiers: { i: instance, I: instance, n: unit.name, N: unit.name.replace(/\.service$/, ''), p: unit.name.split('@')[0]!.replace(/\.service$/, ''), H: host, l: host, m: machine.id } });
    // From `announce` on: the seed runs fleetkit as an image, so the line starts `docker exec fleetkit-agent fleetkit`.
    const args = argv.slice(argv.indexOf('announce')).map((a, k, all) => (all[k - 1] === '--state-dir' ? dirs.get(machine.id)! : a)).filter((a) => !(o.dropNoWait && a === '--no-wait'));
    const started = performance.now();
    void announceCli(args.slice(1)).then(({ code }) => {
      sidekickMs.push(performance.now() - started);
      const state = code === 0 ? { loadState: 'loaded', activeState: 'active', subState: 'exited' } : { loadState: 'loaded', activeState: 'failed', subState: 'failed' };
      try {
        server?.reportState(unit.name, machine.id, state);
      } catch {
        // unloaded meanwhile
      }
    });
    return { loadState: 'loaded', activeState: 'activating', subState: 'start' };
  };
  server = await fleetServerPart(t, {
    tcp: true,
    machines,
    agent: {
      reconcileMs: 50,
      onLaunch: (unit, machine) => (/-discovery(@[^.]+)?\.service$/.test(unit.name) ? startSidekick(unit, machine) : undefined),
    },
  });
  return { server, sidekickMs };
}

/** gen-units SPEC in `dir`, its stdout split into arguments the way xargs does. */
async function genArgs(t: Test, dir: string, spec: string, ...extra: string[]): Promise<string[]> {
  const gen = await runFleetkit(['gen', spec, ...extra], { cwd: dir });
  t.equal(gen.code, 0, gen.stderr);
  return gen.stdout.split(/\s+/).filter(Boolean);
}

/** Every launched unit is active on its machine (global units: on every machine). */
function everyUnitActive(t: Test, s: FleetServer): void {
  const active = new Set(s.states().filter((x) => x.state.activeState === 'active').map((x) => `${x.name} ${x.machineID}`));
  const machines = s.machines().map((m) => m.id);
  for (const u of s.units().filter((x) => x.desiredState === 'launched')) {
    const where = u.global ? machines : [u.machineID ?? 'unscheduled'];
    t.ok(where.every((m) => active.has(`${u.name} ${m}`)), `${u.name} active on ${u.global ? 'every machine' : where[0]!.slice(0, 8)}`);
  }
}

t.test('gen-units | xargs fleetctl start', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const dir = await mkdtemp(join(tmpdir(), 'fk-pipeline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  await t.test('one machine, a spec that fits it: exit 0, every unit active', async (t) => {
    await writeFile(join(dir, 'one.yaml'), ONE_MACHINE);
    const { server, sidekickMs } = await pipelineFleet(t, etcd, docker, 1);
    const args = await genArgs(t, dir, 'one.yaml', '-o', 'one', '--machines', '1');
    const r = await fleetctlStart(args, { endpoint: server.httpUrl!, cwd: dir });
    t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    t.match(r.stdout, /^Unit web-discovery@2\.service launched on 11111111\.\.\.\/10\.0\.0\.1$/m);
    everyUnitActive(t, server);
    t.equal(sidekickMs.length, 2, 'both sidekicks ran their announce');
    t.comment(`sidekick ExecStart took ${sidekickMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
  });

  await t.test('three machines, the seed example: exit 0, every unit active, apache on two machines', async (t) => {
    const { server } = await pipelineFleet(t, etcd, docker, 3);
    const args = await genArgs(t, dir, seed, '-o', 'seed', '--machines', '3');
    const r = await fleetctlStart(args, { endpoint: server.httpUrl!, cwd: dir });
    t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    t.match(r.stdout, /^Triggered global unit fleetkit-agent-web\.service start$/m);
    everyUnitActive(t, server);
    const apache = server.units().filter((u) => /^apache@\d\.service$/.test(u.name)).map((u) => u.machineID);
    t.equal(new Set(apache).size, 2, 'the two conflicting instances on different machines');
  });

  await t.test('a sidekick that waits for its container misses fleetctl\'s 2 s window', async (t) => {
    const { server } = await pipelineFleet(t, etcd, docker, 1, { dropNoWait: true });
    const args = await genArgs(t, dir, 'one.yaml', '-o', 'one');
    const r = await fleetctlStart(args, { endpoint: server.httpUrl!, cwd: dir });
    t.equal(r.code, 1);
    t.match(r.stderr, /Failed to find an active unit web-discovery@1\.service within 2s/);
  });

  await t.test('the seed example on one machine: fleetctl waits for an instance fleet cannot place', async (t) => {
    const { server } = await pipelineFleet(t, etcd, docker, 1);
    const args = await genArgs(t, dir, seed, '-o', 'seed');
    const r = await fleetctlStart(args, { endpoint: server.httpUrl!, cwd: dir, blockAttempts: 8 });
    t.equal(r.code, 1);
    t.match(r.stderr, /timed out waiting for unit apache@2\.service to report state launched/);
    t.equal(server.units().find((u) => u.name === 'apache@2.service')?.machineID, undefined, 'never scheduled');
  });
});
