/**
 * AgentWatch's verdicts on the states a host reports: fleet per machine (runningOn), systemd one host; the
 * real paths run in load-announce-systemd.test.ts (systemd) and through the fleet test server.
 */
import t from 'tap';
import { AgentWatch } from '../../src/load/agent-watch.js';
import type { UnitHost, UnitState } from '../../src/unithost/unit-host.js';

const AGENT = 'fleetkit-agent-shop.service';
const base: UnitState = { name: AGENT, loadState: 'loaded', activeState: 'active', subState: 'running', machines: [], restarts: undefined, activeSince: undefined, result: undefined, exitStatus: undefined, restartPolicy: undefined };
const hostWith = (s: Partial<UnitState> | undefined): UnitHost => ({
  endpoint: 'the host',
  states: async (names: readonly string[]) => new Map(s ? names.map((n) => [n, { ...base, ...s, name: n }] as const) : []),
} as Partial<UnitHost> as UnitHost);

t.test('fleet: down only on a machine that reports it not running', async (t) => {
  const w = new AgentWatch(hostWith({ activeState: 'inactive', machines: ['m1aaaaaaaa', 'm2bbbbbbbb'], runningOn: ['m1aaaaaaaa'] }), 0);
  await w.read([AGENT], 1000);
  t.match(w.down(AGENT, 'm2bbbbbbbb', 1000), /^fleetkit-agent-shop\.service does not run on m2bbbbbb \(for 0s\)$/);
  t.equal(w.down(AGENT, 'm1aaaaaaaa', 1000), undefined, 'running there');
  t.equal(w.down(AGENT, 'm3cccccccc', 1000), undefined, 'no state published there: not known down');
  t.equal(w.down(AGENT, undefined, 1000), undefined, 'no machine named: not known down');
});

t.test('systemd: inactive or failed is down, activating (a restart) is not, a missing agent is', async (t) => {
  for (const [state, want] of [[{ activeState: 'inactive', subState: 'dead' }, /is inactive\/dead/], [{ activeState: 'failed', subState: 'failed' }, /is failed\/failed/], [{ loadState: 'not-found', activeState: 'inactive' }, /is not on the host/]] as const) {
    const w = new AgentWatch(hostWith(state), 0);
    await w.read([AGENT], 0);
    t.match(w.down(AGENT, undefined, 0), want);
  }
  const restarting = new AgentWatch(hostWith({ activeState: 'activating', subState: 'auto-restart' }), 0);
  await restarting.read([AGENT], 0);
  t.equal(restarting.down(AGENT, undefined, 0), undefined);
});

t.test('down only once seen down for the grace, on every read; seen up again starts it over', async (t) => {
  let state: Partial<UnitState> = { activeState: 'inactive', subState: 'dead' };
  const w = new AgentWatch({ endpoint: 'h', states: async (n: readonly string[]) => new Map(n.map((x) => [x, { ...base, ...state, name: x }] as const)) } as Partial<UnitHost> as UnitHost, 2000);
  await w.read([AGENT], 0);
  t.equal(w.down(AGENT, undefined, 1999), undefined, 'within the grace');
  t.match(w.down(AGENT, undefined, 2000), /inactive\/dead \(for 2s\)/);
  state = { activeState: 'active', subState: 'running' };
  await w.read([AGENT], 2500);
  state = { activeState: 'inactive', subState: 'dead' };
  await w.read([AGENT], 3000);
  t.equal(w.down(AGENT, undefined, 4000), undefined, 'the grace counts again from 3000');
  t.ok(w.down(AGENT, undefined, 5000));
});

t.test('a state that cannot be read leaves the agent not down', async (t) => {
  const w = new AgentWatch({ endpoint: 'h', states: async () => { throw new Error('bus lost'); } } as Partial<UnitHost> as UnitHost, 0);
  await w.read([AGENT], 0);
  t.equal(w.down(AGENT, undefined, 10_000), undefined);
});
