/**
 * A container older than its unit, through the fleet test server whose machine runs the units on the real
 * systemd and dockerd (./fleet-machine.ts). Made for real: v1 is loaded, then v2's definitions are PUT while
 * the units run, and the server's agent does what fleet's does (the stop it queues behind the sidekick's is
 * replaced by the start), so fleet holds v2 and publishes its hash while every v1 container runs on. Then:
 * - `load` without --replace finds every definition unchanged, yet exits 1 naming each instance with both
 *   config hashes, and changes nothing (docker: the same containers);
 * - `load --replace --dry-run` shows the planned restarts;
 * - `status` flags each instance `old-config` with both hashes, and exits 1;
 * - `load --replace` restarts them one at a time (docker events), and `docker inspect` shows new containers
 *   with v2's command, environment and config hash label;
 * - a second `load` is unchanged and exits 0, and status no longer flags them.
 * Slow (about a minute): real containers start, stop and are announced.
 */
import t from 'tap';
import { join } from 'node:path';
import { waitFor } from '../env/parts.js';
import { runFleetkit } from '../cli/load-io.js';
import { fleetEndpointFrom } from '../../src/fleet/endpoint.js';
import { fleetOnSystemd } from './fleet-machine.js';
import { configHashIn, oneAtATime, rollingWorld, runsNewVersion, V2_COMMAND } from './rolling-kit.js';
import { statusFlags, swapDefinitions } from './outdated-kit.js';

t.setTimeout(300_000);
const { sd, kit } = await rollingWorld(t, { tag: 'of', instances: 2 });
const { S, instances: INSTANCES } = kit;
const units = INSTANCES.map((i) => `${S}@${i}.service`);
const short = (h: string | undefined): string => (h ?? 'none').slice(0, 12);
const esc = (s: string): string => s.replace(/[.@]/g, '\\$&');

t.test('fleet keeps the v1 containers under v2 definitions: load and status say so, load --replace restarts them', async (t) => {
  const server = await fleetOnSystemd(t, sd, { machineId: kit.machineId, socketPath: join(kit.dir, 'fleet.sock') });
  const env = { FLEETCTL_ENDPOINT: server.endpoint };
  const spec = join(kit.dir, 'cluster.yaml');
  t.teardown(async () => void (await runFleetkit(['destroy', spec], { env })));
  const keys = await kit.watchKeys(t);
  const first = await runFleetkit(['load', await kit.writeSpec({ version: 'v1' }), '--stable', '1s'], { env });
  t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
  await kit.allAnnounced(keys.present);
  const before = await kit.inspectAll();

  // v2's definitions, PUT as fleetkit renders them while the units run: fleet's agent keeps the old processes.
  await kit.writeSpec({ version: 'v2', command: V2_COMMAND });
  await swapDefinitions({ kind: 'fleet', endpoint: fleetEndpointFrom(server.endpoint, {}), requestTimeoutMs: 10_000, parallel: 4 }, [spec], kit.dir);
  const hashOf = (name: string): string | undefined => server.units().find((u) => u.name === name)?.hash;
  await waitFor(() => units.every((u) => server.states().some((s) => s.name === u && s.hash === hashOf(u) && s.state.activeState === 'active')), { what: 'fleet reports the v2 hash of every instance active', timeoutMs: 30_000 });
  await kit.allAnnounced(keys.present);
  const v1 = before.get(`${S}-1`)!.configHash;
  const v2 = configHashIn(server.units().find((u) => u.name === units[0])!.options.map((o) => o.value).join('\n'));
  t.ok(v1 && v2 && v1 !== v2, `two config hashes: v1 ${v1}, v2 ${v2}`);
  for (const [n, c] of before) {
    const now = await kit.inspect(n);
    t.equal(now.id, c.id, `${n}: the v1 container runs on under the v2 definition`);
    t.equal(now.configHash, v1, `${n} carries v1's config hash`);
  }

  const old = await runFleetkit(['load', spec, '--stable', '1s'], { env });
  t.equal(old.code, 1, `load without --replace fails: ${old.stdout}${old.stderr}`);
  for (const u of units) {
    t.match(old.stdout, new RegExp(`^${esc(u)}\\s+conflict`, 'm'), `${u} is listed as differing`);
    t.match(old.stderr, new RegExp(`^${esc(u)}: its container runs config ${short(v1)}, not its unit's ${short(v2)}: it was not restarted since its unit changed; nothing was changed \\(use --replace to restart it\\)$`, 'm'), `${u}: both hashes, and the hint`);
  }
  for (const [n, c] of before) t.equal((await kit.inspect(n)).id, c.id, `${n}: nothing was restarted`);

  const dry = await runFleetkit(['load', spec, '--replace', '--dry-run'], { env });
  t.equal(dry.code, 0, dry.stdout + dry.stderr);
  for (const u of units) t.match(dry.stdout, new RegExp(`^\\s+restart\\s+${esc(u)} \\(its container runs config ${short(v1)}, not its unit's ${short(v2)}\\)$`, 'm'), `--dry-run shows ${u}'s restart`);

  const status = await runFleetkit(['status', spec, '--json'], { env });
  t.equal(status.code, 1, 'status exits 1');
  for (const u of units) {
    t.match(statusFlags(status.stdout, u), [new RegExp(`^old-config: its container runs config ${short(v1)}, not its unit's ${short(v2)}`)], `status flags ${u} with both hashes`);
  }

  const recording = await kit.recordEvents(t);
  const t0 = Date.now();
  const r = await runFleetkit(['load', spec, '--replace', '--stable', '1s', '--timeout', '150s'], { env });
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  for (const u of units) t.match(r.stdout, new RegExp(`^${esc(u)}\\s+restarted\\s+active`, 'm'), `${u} restarted`);
  t.match(r.stdout, /^load: 0 created, 0 replaced, \d+ unchanged, 0 failed, 2 restarted$/m);
  await runsNewVersion(t, kit, before, { version: 'v2', command: V2_COMMAND, t0, hashOf: () => v2 });
  oneAtATime(t, kit, await recording.stop());
  await kit.allAnnounced(keys.present);

  const again = await runFleetkit(['load', spec, '--stable', '1s'], { env });
  t.equal(again.code, 0, `${again.stdout}${again.stderr}`);
  for (const u of units) t.match(again.stdout, new RegExp(`^${esc(u)}\\s+unchanged`, 'm'));
  const after = await runFleetkit(['status', spec, '--json'], { env });
  for (const u of units) t.same(statusFlags(after.stdout, u), [], `status no longer flags ${u}`);
  t.equal(after.code, 0, 'status exits 0 again');
});
