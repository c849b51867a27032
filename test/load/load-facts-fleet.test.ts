/**
 * load's health wait on fleet, whose API keeps no restart count: the count comes from the container facts
 * the agent on the unit's machine publishes in etcd (real etcd; the agent's part played by the fleet test
 * server's launch hook, which writes the record an agent writes, on a lease it keeps renewed as an agent does:
 * a record on none is one no agent keeps up, never evidence). A container that keeps restarting fails
 * the load as a crash loop while fleet still says active; one whose facts show it started once passes. A unit
 * fleet reports failed at once (no restart policy) is reported with the exit status its agent saw.
 */
import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { encodeFacts } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';
import { etcdPart } from '../env/parts.js';
import { fleetServerPart, type MachineSpec } from '../fleet-server/server.js';
import { runFleetkit } from '../cli/load-io.js';

const etcd = await etcdPart(t);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
// The agent's lease: etcd3 renews it every TTL/3 until revoked.
const lease = client.lease(60);
t.teardown(() => lease.revoke().catch(() => undefined));
const dir = await mkdtemp(join(tmpdir(), 'fk-facts-load-'));
const prefix = `/fk-facts-${process.pid}`;
const M1 = 'a1'.repeat(16);
const machines: MachineSpec[] = [{ id: M1, primaryIP: '10.0.0.1' }];
const env = { PATH: process.env['PATH'] };

async function spec(name: string, restart = 'always'): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `name: ${name}\nx-fleetkit:\n  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }\nservices:\n  web:\n    image: local/busybox:latest\n    restart: "${restart}"\n`);
  return file;
}
const record = (unit: string, restarts: number, lastExit?: number) => encodeFacts({
  v: 1, unit, machine: M1, phase: 'running', restarts, ...(lastExit !== undefined ? { lastExit } : {}), startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(),
});

t.test('a container restarting under an active unit: the load fails as a crash loop, before its timeout', async (t) => {
  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => timers.forEach(clearTimeout));
  const server = await fleetServerPart(t, {
    socketPath: join(dir, 'loop.sock'), machines,
    agent: {
      async onLaunch(unit, machine) {
        if (!unit.name.startsWith('web@')) return;
        // The agent sees the container start, exit 1 and start again, fast; fleet only sees active.
        await lease.put(factsKey(prefix, machine.id, unit.name)).value(record(unit.name, 0));
        let n = 0;
        const bump = (): void => {
          n += 3; // three starts between two looks: certain within any two reads
          // etcd3's builders are lazy: exec() sends the put (a bare builder is never sent).
          void lease.put(factsKey(prefix, machine.id, unit.name)).value(record(unit.name, n, 1)).exec();
          if (n < 200) timers.push(setTimeout(bump, 300));
        };
        timers.push(setTimeout(bump, 300));
      },
    },
  });
  const started = Date.now();
  const r = await runFleetkit(['load', await spec('loop'), '--endpoint', server.endpoint, '--timeout', '90s'], { env });
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout + r.stderr, /web@1\.service: crash loop: restarted \d+ times while waiting \(last exit status 1\)/);
  t.ok(Date.now() - started < 60_000, `declared after ${Date.now() - started} ms, not at the 90 s timeout`);
});

t.test('facts showing one start: the load passes', async (t) => {
  const server = await fleetServerPart(t, {
    socketPath: join(dir, 'ok.sock'), machines,
    agent: {
      async onLaunch(unit, machine) {
        if (unit.name.startsWith('web@')) await lease.put(factsKey(prefix, machine.id, unit.name)).value(record(unit.name, 0));
      },
    },
  });
  const r = await runFleetkit(['load', await spec('fine'), '--endpoint', server.endpoint, '--timeout', '30s', '--stable', '1s'], { env });
  t.equal(r.code, 0, r.stdout + r.stderr);
});

t.test('a container that exits 3 under a unit without a restart policy: fleet says failed, load says the exit status', async (t) => {
  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => timers.forEach(clearTimeout));
  const server = await fleetServerPart(t, {
    socketPath: join(dir, 'exit.sock'), machines,
    agent: {
      async onLaunch(unit, machine) {
        if (!unit.name.startsWith('web@')) return undefined;
        // The agent publishes the exit a moment after systemd's failure has reached fleet.
        timers.push(setTimeout(() => void lease.put(factsKey(prefix, machine.id, unit.name)).value(encodeFacts({
          v: 1, unit: unit.name, machine: machine.id, phase: 'exited', restarts: 0, lastExit: 3, containerId: 'c0ffee',
          startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(),
        })).exec(), 300));
        return { loadState: 'loaded', activeState: 'failed', subState: 'failed' };
      },
    },
  });
  const started = Date.now();
  const r = await runFleetkit(['load', await spec('exits', 'no'), '--endpoint', server.endpoint, '--timeout', '30s'], { env });
  t.equal(r.code, 1, r.stdout + r.stderr);
  // The failure was the submit's own (it launched the unit): not "still failed from before" at the timeout.
  t.ok(Date.now() - started < 25_000, `said after ${Date.now() - started} ms, not at the 30 s timeout`);
  t.match(r.stdout, /^web@1\.service\s+created\s+failed/m);
  t.match(r.stderr, new RegExp(`^web@1\\.service: systemd reports it failed .*; its container exited with status 3 \\(the agent on ${M1.slice(0, 8)}\\)$`, 'm'));
});
