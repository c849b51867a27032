/**
 * fleetkit's commands: name → module, loaded only when it runs (so `gen-units` never pays for etcd, dbus or
 * docker clients), its one-line summary, and whether it takes --json. Read by the dispatcher, help and
 * the completion scripts.
 */
import type { Command } from './io.js';

type Loader = () => Promise<{ run: Command }>;

/** Command name → module. Names follow fleetctl's verbs where fleetctl has one. */
export const commands: Record<string, { load: Loader; summary: string; json?: true }> = {
  gen: { load: () => import('./gen-units.js'), summary: 'render units from cluster.yaml (same as gen-units)' },
  load: { load: () => import('./load.js'), summary: 'submit units to fleet (or systemd) and start them', json: true },
  start: { load: () => import('./start.js'), summary: 'start units', json: true },
  stop: { load: () => import('./stop.js'), summary: 'stop units', json: true },
  unload: { load: () => import('./unload.js'), summary: 'unload units (fleet: inactive)', json: true },
  destroy: { load: () => import('./destroy.js'), summary: 'stop and remove units', json: true },
  announce: { load: () => import('./announce.js'), summary: 'register a container with the host agent (sidekick)' },
  await: { load: () => import('./await.js'), summary: 'wait for dependencies in etcd, then run a command (depends_on)' },
  agent: { load: () => import('./agent.js'), summary: 'per-host announce agent (global unit)' },
  'watch-hosts': { load: () => import('./watch-hosts.js'), summary: 'keep a hosts file in step with etcd' },
  'cloud-config': { load: () => import('./cloud-config.js'), summary: 'CoreOS cloud-config or Butane for a machine' },
  status: { load: () => import('./status.js'), summary: 'what runs where, and what is announced', json: true },
  logs: { load: () => import('./logs.js'), summary: "journal lines of units, with journalctl's flags" },
  events: { load: () => import('./events.js'), summary: 'one stream of unit, announcement and machine changes', json: true },
  doctor: { load: () => import('./doctor.js'), summary: 'check this host for the cluster: versions, docker, etcd, flannel, fleet, agent, hosts file, clock', json: true },
};
