/**
 * `load|start --replace --no-block` through the fleet test server (three simulated machines). fleetctl's
 * --no-block means "do not wait". A running unit cannot be replaced without waiting: fleet's agent keeps the
 * old process when only the definition is swapped, which the server models, so the roll stops each unit, waits
 * until it is down and waits for the new one. With --no-block, running units are refused (exit 2, named,
 * nothing sent); units that do not run are replaced at once, in one PUT each, without waiting.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetServerPart, type FleetServer } from '../fleet-server/server.js';
import { runFleetkit } from './load-io.js';

const machines = [1, 2, 3].map((i) => ({ id: String(i).repeat(32), primaryIP: `10.0.0.${i}`, metadata: {} }));
const root = await mkdtemp(join(tmpdir(), 'fk-replace-no-block-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;

const template = (sleep: number): string => `[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/sleep ${sleep}\n\n[X-Fleet]\nConflicts=web@*.service\n`;

/** Three web instances and a plain unit, loaded and running on a fresh server. */
async function running(t: Test): Promise<{ server: FleetServer; dir: string; files: string[]; run: (...args: string[]) => ReturnType<typeof runFleetkit> }> {
  const dir = await mkdtemp(join(root, 'units-'));
  await writeFile(join(dir, 'web@.service'), template(1000));
  await writeFile(join(dir, 'cron.service'), '[Service]\nExecStart=/bin/sleep 1001\n');
  const server = await fleetServerPart(t, { socketPath: join(root, `fleet-${n++}.sock`), machines });
  const files = ['web@1.service', 'web@2.service', 'web@3.service', 'cron.service'].map((f) => join(dir, f));
  const run = (...args: string[]) => runFleetkit(args, { env: { FLEETCTL_ENDPOINT: server.endpoint }, cwd: dir });
  const first = await run('load', ...files);
  t.equal(first.code, 0, first.stderr);
  return { server, dir, files, run };
}

const changes = (s: FleetServer): number => s.requests.filter((r) => r.method !== 'GET').length;
const sleepOf = (s: FleetServer, unit: string): string | undefined => s.units().find((u) => u.name === unit)?.options.find((o) => o.name === 'ExecStart')?.value;

t.test('running units: refused in one message naming them, exit 2, nothing sent, the old version runs on', async (t) => {
  const { server, dir, files, run } = await running(t);
  await writeFile(join(dir, 'web@.service'), template(2000));
  const before = changes(server);
  for (const args of [['load', ...files, '--replace', '--no-block'], ['start', ...files, '--replace', '--no-block'], ['load', ...files, '--replace', '--no-wait', '--max-unavailable', '3'], ['load', ...files, '--replace', '--no-block', '--dry-run']]) {
    const r = await run(...args);
    t.equal(r.code, 2, `${args.slice(-2).join(' ')}: bad usage`);
    t.equal(r.stderr, `fleetkit ${args[0]}: --replace --no-block cannot replace running units (web@1.service, web@2.service, web@3.service): each is stopped, waited on until down and its new version waited on until healthy, --max-unavailable at a time; nothing was changed\n  hint: drop --no-block to replace them that way, or stop them first (fleetkit stop) to replace them at once without waiting\n`);
    t.equal(r.stdout, '', 'no summary, no plan');
  }
  t.equal(changes(server), before, 'no PUT or DELETE was sent');
  for (const i of [1, 2, 3]) t.equal(sleepOf(server, `web@${i}.service`), '/bin/sleep 1000', `web@${i} keeps its old definition`);
  t.ok(server.states().every((s) => s.state.activeState === 'active'), 'everything still runs');

  // Without --no-block the same replace goes through, one instance at a time.
  const rolled = await run('load', ...files, '--replace');
  t.equal(rolled.code, 0, rolled.stderr);
  t.match(rolled.stdout, /load: 0 created, 3 replaced, 1 unchanged, 0 failed/);
});

t.test('units that do not run: replaced at once, one PUT each, without waiting', async (t) => {
  const { server, dir, files, run } = await running(t);
  const stopped = await run('stop', ...files.slice(0, 3));
  t.equal(stopped.code, 0, stopped.stderr);
  await writeFile(join(dir, 'web@.service'), template(2000));
  const before = server.requests.length;
  const r = await run('start', ...files, '--replace', '--no-block', '--json');
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { totals: Record<string, number>; units: Array<{ name: string; change: string }> };
  t.same(doc.totals, { created: 0, replaced: 3, unchanged: 1, started: 0, failed: 0 });
  const sent = server.requests.slice(before).filter((q) => q.method === 'PUT').map((q) => {
    const b = JSON.parse(q.body) as { desiredState: string; options?: unknown[] };
    return `${decodeURIComponent(q.path.split('/').pop()!)} ${b.options ? 'new ' : ''}${b.desiredState}`;
  });
  t.same(sent.filter((s) => s.startsWith('web@')).sort(), ['web@1.service new launched', 'web@2.service new launched', 'web@3.service new launched'], 'no stop first, no roll: each new definition sent launched');
  const after = server.requests.slice(before);
  const firstPut = after.findIndex((q) => q.method === 'PUT');
  t.ok(firstPut >= 0);
  t.same(after.slice(firstPut).filter((q) => q.method === 'GET' && q.path.startsWith('/fleet/v1/state')), [], 'nothing waited on: /state is not read once the units are sent');
  for (const i of [1, 2, 3]) t.equal(sleepOf(server, `web@${i}.service`), '/bin/sleep 2000', `web@${i} has its new definition`);
});
