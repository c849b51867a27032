/**
 * The one reduction of a unit's facts records (one per machine) to what the health wait reads, used by load's
 * wait and by a rolling replace alike. A rolling replace once reduced them its own way and dropped whether the
 * container runs and when it started: on fleet, its wait then never saw the new container up.
 */
import t from 'tap';
import type { ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import { factsOfRecords } from '../../src/load/facts-source.js';

const rec = (machine: string, o: Partial<ContainerFactsRecord>): ContainerFactsRecord => ({
  v: 1, unit: 'web@1.service', machine, phase: 'exited', restarts: 0, updatedAt: '2026-12-03T10:00:00.000Z', ...o,
});

t.test('the running record wins over a stale one with more restarts, with its container and start', async (t) => {
  const f = factsOfRecords([
    rec('m1', { phase: 'exited', restarts: 9, lastExit: 1, containerId: 'old' }),
    rec('m2', { phase: 'running', restarts: 2, lastExit: 137, containerId: 'new', startedAt: '2026-12-03T10:00:05.250Z' }),
  ]);
  t.same(f, { restarts: 2, lastExit: 137, machine: 'm2', running: true, containerId: 'new', startedAt: Date.parse('2026-12-03T10:00:05.250Z') });
});

t.test('with nothing running, the worst record says not running', async (t) => {
  const f = factsOfRecords([rec('m1', { restarts: 1, lastExit: 1 }), rec('m2', { restarts: 4, lastExit: 2, startedAt: 'not a date' })]);
  t.same(f, { restarts: 4, lastExit: 2, machine: 'm2', running: false }, 'an unreadable start is left out, not NaN');
  t.equal(factsOfRecords([]), undefined, 'no record: no facts');
});

t.test("the agent's refusal to announce is carried from a running record only", async (t) => {
  const refused = 'it has no IPv4 address (network "none"?)';
  t.equal(factsOfRecords([rec('m1', { phase: 'running', refused, containerId: 'c', startedAt: '2026-12-03T10:00:05.250Z' })])?.refused, refused);
  t.equal(factsOfRecords([rec('m1', { phase: 'exited', refused, containerId: 'c' })])?.refused, undefined, 'an exited container is announced by nobody anyway');
});
