/**
 * A container older than its unit on the real systemd (user manager), dockerd and etcd, through `--systemd`.
 * Made for real: v1's unit files are loaded, then v2's are written and systemd reloaded without a restart
 * (systemd restarts nothing when a file changes), so every v1 container runs on under v2's file. Then:
 * - `load` without --replace exits 1 naming each instance with both config hashes, and restarts nothing;
 * - `status --systemd` flags each instance `old-config` with both hashes (the file systemd loaded it from
 *   against the agent's facts), and exits 1;
 * - `load --replace` restarts them one at a time, and `docker inspect` shows new containers with v2's
 *   command, environment and config hash label;
 * - a second `load` is unchanged and exits 0, and status no longer flags them.
 * Slow (about 40 s): real containers start, stop and are announced.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFleetkit } from '../cli/load-io.js';
import { configHashIn, oneAtATime, rollingWorld, runsNewVersion, V2_COMMAND } from './rolling-kit.js';
import { systemdRoll } from './rolling-systemd-kit.js';
import { statusFlags, swapDefinitions } from './outdated-kit.js';

t.setTimeout(300_000);
const { etcd, sd, kit } = await rollingWorld(t, { tag: 'os', instances: 2 });
const { S, instances: INSTANCES } = kit;
const roll = systemdRoll(kit, sd, etcd);
const { files, common, env: sdEnv, render } = roll;
const units = INSTANCES.map((i) => `${S}@${i}.service`);
const short = (h: string | undefined): string => (h ?? 'none').slice(0, 12);
const esc = (s: string): string => s.replace(/[.@]/g, '\\$&');
// The agent in process publishes its facts as kit.machineId: status must read this host as that machine.
const status = () => runFleetkit(['status', join(kit.dir, 'cluster.yaml'), '--systemd', '--user', '--machine-id', kit.machineId, '--json'], { env: sdEnv });

t.test('--systemd: v2 unit files reloaded under running v1 containers; load and status say so, load --replace restarts them', async (t) => {
  const { keys, before } = await roll.loadFirst(t, { version: 'v1' });

  await render({ version: 'v2', command: V2_COMMAND });
  await swapDefinitions({ kind: 'systemd', user: true, runtime: false, unitDir: sd.unitDir, journalDir: sd.journalDir, settleMs: 0, env: sdEnv }, files, kit.dir);
  const v1 = before.get(`${S}-1`)!.configHash;
  const v2 = configHashIn(await readFile(join(sd.unitDir, `${S}@.service`), 'utf8'));
  t.ok(v1 && v2 && v1 !== v2, `systemd holds v2's file (${v2}) while the containers carry v1's hash (${v1})`);
  for (const [n, c] of before) t.equal((await kit.inspect(n)).id, c.id, `${n}: the v1 container runs on`);

  const old = await runFleetkit(['load', ...files, ...common], { env: sdEnv });
  t.equal(old.code, 1, `load without --replace fails: ${old.stdout}${old.stderr}`);
  for (const u of units) {
    t.match(old.stdout, new RegExp(`^${esc(u)}\\s+conflict`, 'm'), `${u} is listed as differing`);
    t.match(old.stderr, new RegExp(`^${esc(u)}: its container runs config ${short(v1)}, not its unit's ${short(v2)}: .*use --replace to restart it`, 'm'), `${u}: both hashes, and the hint`);
  }
  for (const [n, c] of before) t.equal((await kit.inspect(n)).id, c.id, `${n}: nothing was restarted`);

  const flagged = await status();
  t.equal(flagged.code, 1, 'status exits 1');
  for (const u of units) {
    t.match(statusFlags(flagged.stdout, u), [new RegExp(`^old-config: its container runs config ${short(v1)}, not its unit's ${short(v2)}`)], `status flags ${u} with both hashes`);
  }

  const recording = await kit.recordEvents(t);
  const t0 = Date.now();
  const r = await runFleetkit(['load', ...files, ...common, '--replace', '--timeout', '120s'], { env: sdEnv });
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  for (const u of units) t.match(r.stdout, new RegExp(`^${esc(u)}\\s+restarted\\s+active`, 'm'), `${u} restarted`);
  await runsNewVersion(t, kit, before, { version: 'v2', command: V2_COMMAND, t0, hashOf: () => v2 });
  oneAtATime(t, kit, await recording.stop());
  await kit.allAnnounced(keys.present);

  const again = await runFleetkit(['load', ...files, ...common], { env: sdEnv });
  t.equal(again.code, 0, `${again.stdout}${again.stderr}`);
  for (const u of units) t.match(again.stdout, new RegExp(`^${esc(u)}\\s+unchanged`, 'm'));
  const after = await status();
  for (const u of units) t.same(statusFlags(after.stdout, u), [], `status no longer flags ${u}`);
  t.equal(after.code, 0, 'status exits 0 again');
});
