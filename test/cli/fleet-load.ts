/**
 * What the tests that load a cluster into the fleet test server share: a scratch directory, fresh servers
 * in it, `fleetkit` run against a server, and the questions asked of the server afterwards.
 */
import { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetServerPart, type FleetServer, type MachineSpec } from '../fleet-server/server.js';
import { runFleetkit, type RunResult } from './load-io.js';

/** The repository's examples/ directory. */
export const examplesDir = join(import.meta.dirname, '../../examples');

/** A fleet machine ID (32 hex digits) made from a small number. */
export const machineId = (i: number): string => i.toString(16).padStart(32, '0');

/** A scratch directory (removed when `t` ends) with fleet test servers in it. */
export interface FleetLoadScratch {
  readonly root: string;
  /** A fresh fleet test server with `machines`, stopped when `t` ends. */
  server(t: Test, machines: MachineSpec[]): Promise<FleetServer>;
  /** `fleetkit ARGS` against `s` (FLEETCTL_ENDPOINT), run in the scratch directory. */
  load(s: FleetServer, ...args: string[]): Promise<RunResult>;
}

/** A scratch directory named `fk-PREFIX-…` for the tests of `t`. */
export async function fleetLoadScratch(t: Test, prefix: string): Promise<FleetLoadScratch> {
  const root = await mkdtemp(join(tmpdir(), `fk-${prefix}-`));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  let n = 0;
  return {
    root,
    server: (t, machines) => fleetServerPart(t, { socketPath: join(root, `fleet-${n++}.sock`), machines }),
    load: (s, ...args) => runFleetkit(args, { env: { FLEETCTL_ENDPOINT: s.endpoint }, cwd: root }),
  };
}

/** fleetd's bugs were never triggered and nothing is poisoned. */
export function healthy(t: Test, s: FleetServer): void {
  t.same(s.bugsTriggered, [], 'no fleetd bug triggered');
  t.notOk(s.units().some((u) => u.poisoned), 'no poisoned unit');
}

/** The units PUT so far, in order. */
export const putUnits = (s: FleetServer): string[] =>
  s.requests.filter((r) => r.method === 'PUT').map((r) => decodeURIComponent(r.path.replace('/fleet/v1/units/', '')));

/** The machine `unit` is scheduled to. */
export const machineOf = (s: FleetServer, unit: string): string | undefined => s.units().find((u) => u.name === unit)?.machineID;

/** The machines where `unit` is active, sorted. */
export const runningOn = (s: FleetServer, unit: string): string[] =>
  s.states().filter((x) => x.name === unit && x.state.activeState === 'active').map((x) => x.machineID).sort();
