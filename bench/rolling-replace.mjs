// Bench: a rolling replace of INSTANCES=20 running units through the fleet test server (unix socket, 2 ms
// latency per request, its agent paced at one transition per unit every 100 ms), with a baseline in the same
// run: the same change with --max-unavailable equal to the count (every instance down at once).
//   node bench/rolling-replace.mjs [INSTANCES=20]
// Printed: total time, time per instance, requests, and the most instances down at once in the server's
// state history. The real-stack figures (systemd, dockerd, the agent's facts and announcements) come from
// test/load/rolling-fleet.test.ts, which prints its own times for three instances.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBundled } from './load-bundle.mjs';

const N = Number(process.argv[2] ?? 20);
const { main, startFleetServer } = await importBundled([
  "export { main } from './src/cli/main.ts';",
  "export { startFleetServer } from './test/fleet-server/server.ts';",
]);
const dir = await mkdtemp(join(tmpdir(), 'fk-rolling-bench-'));
const files = Array.from({ length: N }, (_, i) => join(dir, `roll@${i + 1}.service`));
const version = (v) => writeFile(join(dir, 'roll@.service'), `[Unit]\nDescription=roll %i\n\n[Service]\nExecStart=/bin/sleep ${v}\n`);

async function load(server, args) {
  let out = '';
  const io = { stdout: { write: (c) => (out += c) }, stderr: { write: (c) => (out += c) }, env: { FLEETCTL_ENDPOINT: server.endpoint }, cwd: dir, signal: new AbortController().signal };
  const t0 = performance.now();
  const code = await main(['load', ...files, ...args], io);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`fleetkit load exited ${code}:\n${out.slice(-2000)}`);
  return ms;
}

/** The most units down at once after `from` (ms on the server's clock). */
function mostDown(server, from) {
  const active = new Map();
  let most = 0;
  for (const h of server.stateHistory()) {
    if (h.at < from) { active.set(h.name, h.state?.activeState === 'active'); continue; }
    active.set(h.name, h.state?.activeState === 'active');
    most = Math.max(most, [...active.values()].filter((a) => !a).length);
  }
  return most;
}

async function run(label, extra) {
  const server = await startFleetServer({ socketPath: join(dir, `fleet-${label}.sock`), latencyMs: 2, recordStates: true, agent: { reconcileMs: 100 } });
  try {
    await version(1000);
    await load(server, []);
    await version(2000);
    const before = server.requests.length;
    const from = server.clock();
    const ms = await load(server, ['--replace', ...extra]);
    return { label, ms, requests: server.requests.length - before, down: mostDown(server, from) };
  } finally {
    await server.close();
  }
}

try {
  const rolling = await run('rolling', []);
  const all = await run('all-at-once', ['--max-unavailable', String(N)]);
  for (const r of [rolling, all]) {
    console.log(`${r.label.padEnd(12)} ${N} instances: ${(r.ms / 1000).toFixed(2)} s total, ${(r.ms / N).toFixed(0)} ms per instance, ${r.requests} requests, at most ${r.down} down at once`);
  }
  console.log(`rolling / all at once: ${(rolling.ms / all.ms).toFixed(1)}×`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
