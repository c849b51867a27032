/**
 * One simulated fleet machine that is this host: the fleet test server's agent hooks carry out what fleet's
 * agent does, on the run's real systemd (the normalized unit file written to the unit dir, daemon-reload,
 * start queued with --no-block, a blocking stop, unload), and publish what systemd then says of every loaded
 * unit, also as it changes later (polled every 100 ms), like the agent's state publisher. A launched unit systemd has not got
 * active is started again once a second, as fleet's reconciler does. fleetkit's host units are not run
 * here: the test runs the host agent in process (the shared systemd must not get a second fleetkit-agent).
 *
 * With `timeScale` the machine keeps fleet's own paces, scaled (1: real time): the server's `fleetPace` (a
 * reconcile every 5 s, one unload per reconcile), systemd polled every second as fleet's unit state generator
 * does (unit/generator.go), and a launched unit that is down started again at the next reconcile only.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { SystemdPart } from '../env/parts.js';
import { AGENT_RECONCILE_MS, fleetServerPart, type AgentUnit, type FleetServer, type SystemdState } from '../fleet-server/server.js';

const HOST_UNIT = /^fleetkit-/;

async function stateOf(sd: SystemdPart, unit: string): Promise<SystemdState> {
  const r = await sd.systemctl(['show', '-pLoadState', '-pActiveState', '-pSubState', unit]);
  const p = Object.fromEntries(r.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { loadState: p['LoadState'] ?? '', activeState: p['ActiveState'] ?? '', subState: p['SubState'] ?? '' };
}

/** A fleet test server (state history on) whose one machine, `machineId`, runs units on `sd`. */
export async function fleetOnSystemd(t: Test, sd: SystemdPart, o: { machineId: string; socketPath: string; timeScale?: number }): Promise<FleetServer> {
  const scale = o.timeScale;
  const pollMs = scale === undefined ? 100 : Math.max(100, 1000 * scale);
  const retryMs = scale === undefined ? 1000 : AGENT_RECONCILE_MS * scale;
  const loaded = new Set<string>();
  const launched = new Set<string>();
  const published = new Map<string, string>();
  const retried = new Map<string, number>();
  let server: FleetServer | undefined;
  const start = async (name: string): Promise<void> => {
    retried.set(name, Date.now());
    await sd.systemctl(['start', '--no-block', name]);
  };
  const stop = async (name: string): Promise<SystemdState> => {
    launched.delete(name);
    published.delete(name);
    await sd.systemctl(['stop', name]);
    return stateOf(sd, name);
  };
  const agent = {
    ...(scale === undefined ? { reconcileMs: 100 } : { fleetPace: { timeScale: scale } }),
    async onLoad(u: AgentUnit): Promise<SystemdState | void> {
      if (HOST_UNIT.test(u.name)) return;
      loaded.add(u.name);
      await writeFile(join(sd.unitDir, u.name), u.text);
      await sd.systemctl(['daemon-reload']);
      return stateOf(sd, u.name);
    },
    async onLaunch(u: AgentUnit): Promise<SystemdState | void> {
      if (HOST_UNIT.test(u.name)) return;
      launched.add(u.name);
      published.delete(u.name);
      await start(u.name);
      return stateOf(sd, u.name);
    },
    async onStop(u: AgentUnit): Promise<SystemdState | void> {
      if (!HOST_UNIT.test(u.name)) return stop(u.name);
    },
    async onUnload(u: AgentUnit): Promise<void> {
      if (HOST_UNIT.test(u.name)) return;
      loaded.delete(u.name);
      await stop(u.name);
      await rm(join(sd.unitDir, u.name), { force: true });
      await sd.systemctl(['daemon-reload']);
    },
  };
  server = await fleetServerPart(t, { socketPath: o.socketPath, machines: [{ id: o.machineId, primaryIP: '127.0.0.1' }], agent, recordStates: true });
  let busy = false;
  const publisher = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all([...loaded].map(async (name) => {
      const s = await stateOf(sd, name);
      if (!loaded.has(name)) return;
      const text = JSON.stringify(s);
      if (published.get(name) !== text) {
        published.set(name, text);
        try {
          server?.reportState(name, o.machineId, s);
        } catch {
          // unloaded meanwhile
        }
      }
      if (launched.has(name) && (s.activeState === 'inactive' || s.activeState === 'failed') && Date.now() - (retried.get(name) ?? 0) >= retryMs) await start(name);
    })).finally(() => (busy = false));
  }, pollMs);
  t.teardown(async () => {
    clearInterval(publisher);
    for (const name of [...loaded]) await sd.systemctl(['stop', name]);
  });
  return server;
}
