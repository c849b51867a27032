/**
 * load's wait on a host that gives no activation time (fleet): a unit is up only while the agent's facts show
 * its container running. fleet reports `active/running` from the moment `docker run` starts, so a container
 * that exits at once on a busy engine looked stable between two exits, and a crash loop passed as healthy.
 * The host here is scripted, round by round, with the states fleet reports and the facts an agent publishes;
 * the real fleet path runs in truth-matrix-fleet and load-sim-fleet.
 */
import t from 'tap';
import type { ContainerFacts } from '../../src/load/wait-healthy.js';
import { waitHealthy } from '../../src/load/wait-healthy.js';
import type { UnitHost, UnitState } from '../../src/unithost/unit-host.js';

const UNIT = 'api@1.service';
// What fleet reports for the whole wait: active/running, no restart count, no activation time.
const fleetActive: UnitState = {
  name: UNIT, loadState: 'loaded', activeState: 'active', subState: 'running', machines: ['m1'],
  restarts: undefined, activeSince: undefined, result: undefined, exitStatus: undefined, restartPolicy: undefined,
};

function fleetHost(): UnitHost {
  const host: Partial<UnitHost> = {
    endpoint: 'fleet at http://127.0.0.1:1',
    states: async (names) => new Map(names.map((n) => [n, { ...fleetActive, name: n }])),
    journalOf: (unit, machine) => ({ unit, user: false, dir: undefined, machine }),
  };
  return host as UnitHost;
}

/** Runs the wait with `facts(round)` giving the facts of each read; returns the result and the rounds read. */
async function wait(facts: (round: number, now: number) => ContainerFacts, o: { stableMs: number; timeoutMs: number }) {
  let round = 0;
  const result = await waitHealthy(fleetHost(), [UNIT], {
    timeoutMs: o.timeoutMs, stableMs: o.stableMs, intervalMs: 20, signal: new AbortController().signal,
    facts: async () => ({ facts: new Map([[UNIT, facts(round++, Date.now())]]), unkept: new Map() }),
    before: new Map(),
    journal: async () => [],
  });
  return { result: result[0]!, rounds: round };
}

t.test('a container that exits at once under an active unit is a crash loop, never stable', async (t) => {
  // The container runs for one read in four; each exit is a restart. The stable time is 5 reads long, so a
  // wait that timed stability from fleet's `active` would call it healthy after one restart.
  let startedAt = 0;
  const { result, rounds } = await wait((round, now) => {
    const running = round % 4 === 0;
    if (running) startedAt = now;
    return { restarts: 1 + Math.floor(round / 4), lastExit: 1, containerId: `c${Math.floor(round / 4)}`, startedAt, running, machine: 'm1' };
  }, { stableMs: 100, timeoutMs: 20_000 });
  t.equal(result.ok, false);
  t.equal(result.state, 'crash-loop');
  t.match(result.error, /crash loop: restarted 3 times while waiting \(last exit status 1\)/);
  t.ok(rounds >= 9 && rounds < 100, `declared as soon as the third restart was read (${rounds} reads), not at the timeout`);
});

t.test('a container that failed once and then stays up is healthy once it ran the stable time', async (t) => {
  let upAt: number | undefined;
  const { result, rounds } = await wait((round, now) => {
    if (round < 3) return { restarts: 0, lastExit: undefined, containerId: 'c0', startedAt: now, running: false, machine: 'm1' };
    upAt ??= now;
    return { restarts: 1, lastExit: 1, containerId: 'c1', startedAt: upAt, running: true, machine: 'm1' };
  }, { stableMs: 150, timeoutMs: 20_000 });
  t.equal(result.ok, true, JSON.stringify(result));
  t.ok(rounds > 4, `not healthy before the container ran the stable time (${rounds} reads)`);
});

t.test("stability counts from the container's own start, not from when fleet first said active", async (t) => {
  // Active for a long time by fleet's word, but the container started again a moment ago (its second start).
  const begun = Date.now();
  const restartedAt = begun + 300;
  const { result } = await wait((_round, now) => now < restartedAt
    ? { restarts: 0, lastExit: undefined, containerId: 'c0', startedAt: begun - 60_000, running: true, machine: 'm1' }
    : { restarts: 1, lastExit: 1, containerId: 'c1', startedAt: restartedAt, running: true, machine: 'm1' },
  { stableMs: 1000, timeoutMs: 20_000 });
  t.equal(result.ok, true);
  t.ok(Date.now() - restartedAt >= 1000, `healthy only after the new container ran ${1000} ms (${Date.now() - restartedAt} ms)`);
});

t.test('a start time ahead of this clock (the machine runs fast) does not delay past now', async (t) => {
  const begun = Date.now();
  const { result } = await wait(() => ({ restarts: 0, lastExit: undefined, containerId: 'c0', startedAt: begun + 3_600_000, running: true, machine: 'm1' }), { stableMs: 100, timeoutMs: 5_000 });
  t.equal(result.ok, true);
  t.ok(Date.now() - begun < 4_000, 'healthy within the wait');
});

t.test('a container its agent refuses to announce fails at once, with the reason, not at the timeout', async (t) => {
  const sidekick = { name: 'api-discovery@1.service', options: [
    { section: 'Unit', name: 'BindsTo', value: 'api@%i.service' },
    { section: 'Service', name: 'ExecStart', value: 'fleetkit announce --key /svc/shop/api/%i --container api-%i --no-wait' },
  ] };
  const began = Date.now();
  const facts: ContainerFacts = { restarts: 0, lastExit: undefined, containerId: 'c1', startedAt: began, running: true, machine: 'm1', refused: 'it has no IPv4 address (network "none"?)' };
  const [r] = await waitHealthy(fleetHost(), [UNIT], {
    timeoutMs: 20_000, stableMs: 0, intervalMs: 20, signal: new AbortController().signal,
    facts: async () => ({ facts: new Map([[UNIT, facts]]), unkept: new Map() }), before: new Map(), journal: async () => [],
    announcements: { units: [sidekick], read: async () => new Map(), endpoint: 'etcd at http://127.0.0.1:1', check: 'check etcd' },
  });
  t.equal(r!.ok, false);
  t.equal(r!.state, 'unannounced');
  t.equal(r!.error, 'active, but never announced in etcd at /svc/shop/api/1: the agent on m1 refuses to announce its container: it has no IPv4 address (network "none"?)');
  t.ok(Date.now() - began < 5000, 'said at once');
});

t.test('a refusal of a container older than this start is an old one\'s: the wait goes on', async (t) => {
  const sidekick = { name: 'api-discovery@1.service', options: [
    { section: 'Unit', name: 'BindsTo', value: 'api@%i.service' },
    { section: 'Service', name: 'ExecStart', value: 'fleetkit announce --key /svc/shop/api/%i --container api-%i --no-wait' },
  ] };
  const facts: ContainerFacts = { restarts: 0, lastExit: undefined, containerId: 'c0', startedAt: Date.now() - 60_000, running: true, machine: 'm1', refused: 'no address' };
  const [r] = await waitHealthy(fleetHost(), [UNIT], {
    timeoutMs: 300, stableMs: 0, intervalMs: 20, signal: new AbortController().signal,
    facts: async () => ({ facts: new Map([[UNIT, facts]]), unkept: new Map() }), before: new Map(), journal: async () => [],
    announcements: { units: [sidekick], read: async () => new Map(), endpoint: 'etcd at http://127.0.0.1:1', check: 'check etcd' },
  });
  t.match(r!.error, /^active, but not announced in etcd at \/svc\/shop\/api\/1 after \d+s$/);
});

t.test('facts its agent no longer keeps up on the unit\'s machine: never healthy, unknown when the wait ends, saying why', async (t) => {
  const lost = { machine: 'm1', phase: 'running', updatedAt: '2026-01-02T03:04:05.000Z', why: 'its etcd lease (TTL 60 s) has not been renewed for 26 s' };
  const begun = Date.now();
  const [r] = await waitHealthy(fleetHost(), [UNIT], {
    timeoutMs: 600, stableMs: 0, intervalMs: 20, signal: new AbortController().signal,
    facts: async () => ({ facts: new Map(), unkept: new Map([[UNIT, [lost]]]) }),
    before: new Map(),
    journal: async () => [],
  });
  t.equal(r!.ok, false, 'fleet says active, with stable 0: a wait on the host alone would call it healthy at once');
  t.equal(r!.state, 'unknown');
  t.equal(r!.error, 'active, but the agent on m1 last reported its container running (at 2026-01-02T03:04:05.000Z) and no longer keeps that record up: its etcd lease (TTL 60 s) has not been renewed for 26 s (the agent was killed or stopped, is hung, or cannot reach etcd): whether its container runs is unknown');
  t.ok(Date.now() - begun >= 600, 'waited for the agent to come back until the timeout');

  // The record is of another machine (the unit moved): this machine's agent has not written yet, which says nothing.
  const [moved] = await waitHealthy(fleetHost(), [UNIT], {
    timeoutMs: 2000, stableMs: 0, intervalMs: 20, signal: new AbortController().signal,
    facts: async () => ({ facts: new Map(), unkept: new Map([[UNIT, [{ ...lost, machine: 'm2' }]]]) }),
    before: new Map(),
    journal: async () => [],
  });
  t.equal(moved!.ok, true, 'judged on the host\'s word, as with no facts');

  // The agent is back (a restarted one takes its leases over): the unit is judged on its facts again.
  let round = 0;
  const [back] = await waitHealthy(fleetHost(), [UNIT], {
    timeoutMs: 5000, stableMs: 0, intervalMs: 20, signal: new AbortController().signal,
    facts: async () => (round++ < 3
      ? { facts: new Map(), unkept: new Map([[UNIT, [lost]]]) }
      : { facts: new Map([[UNIT, { restarts: 0, lastExit: undefined, containerId: 'c0', startedAt: Date.now() - 10_000, running: true, machine: 'm1' }]]), unkept: new Map() }),
    before: new Map(),
    journal: async () => [],
  });
  t.equal(back!.ok, true, JSON.stringify(back));
  t.ok(round > 3, `healthy only once its facts were kept up again (${round} reads)`);
});

t.test('the wait ends as soon as every unit has its verdict, without sleeping another interval', async (t) => {
  // A systemd unit without Restart=: active is final. The interval is longer than the test's own timeout, so
  // a wait that slept once more before it saw every verdict in would time the test out.
  t.setTimeout(20_000);
  let reads = 0;
  const host: Partial<UnitHost> = {
    endpoint: 'systemd (user)',
    states: async (names) => {
      reads++;
      return new Map(names.map((n) => [n, { ...fleetActive, name: n, machines: [], restarts: 0, activeSince: Date.now() - 10, restartPolicy: 'no', result: 'success' }]));
    },
    journalOf: (unit) => ({ unit, user: true, dir: undefined, machine: undefined }),
  };
  const names = ['a.service', 'b.service', 'c.service'];
  const result = await waitHealthy(host as UnitHost, names, { timeoutMs: 600_000, stableMs: 3000, intervalMs: 600_000, signal: new AbortController().signal, journal: async () => [] });
  t.same(result.map((r) => [r.name, r.ok, r.state]), names.map((n) => [n, true, 'active']));
  t.equal(reads, 1, 'one read of the states');
});
