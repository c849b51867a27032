import t from 'tap';
import { decodeFacts, encodeFacts, isCleanExit, type ContainerFactsRecord } from '../../src/etcd/container-facts.js';

const good: ContainerFactsRecord = {
  v: 1, unit: 'web@2.service', machine: 'a1b2c3', phase: 'exited', containerId: 'f00d', startedAt: '2026-12-03T13:00:00.123456789Z',
  finishedAt: '2026-12-03T13:00:01Z', lastExit: 143, stopRequested: true, restarts: 4, configHash: 'sha256-ab12', updatedAt: '2026-12-03T13:00:01.5Z',
};

t.test('a record survives its own round trip', async (t) => {
  t.same(decodeFacts(encodeFacts(good)), good);
});

t.test('anything malformed or hostile reads as no facts, never as a record', async (t) => {
  const bad: Record<string, unknown> = {
    'not json': '{',
    'an array': '[]',
    'another version': { ...good, v: 2 },
    'a unit with a newline': { ...good, unit: 'web@2.service\nExecStart=/bin/sh' },
    'a negative restart count': { ...good, restarts: -1 },
    'a fractional restart count': { ...good, restarts: 1.5 },
    'an unknown phase': { ...good, phase: 'healthy' },
    'a date that is not ISO': { ...good, updatedAt: 'yesterday' },
    'an exit code beyond 255': { ...good, lastExit: 256 },
    'a string stopRequested': { ...good, stopRequested: 'yes' },
    'a config hash with a space': { ...good, configHash: 'a b' },
    'a huge value': { ...good, containerId: 'x'.repeat(9000) },
  };
  for (const [why, v] of Object.entries(bad)) t.equal(decodeFacts(typeof v === 'string' ? v : JSON.stringify(v)), undefined, why);
});

t.test('a requested stop ending in SIGTERM or SIGKILL is clean; the same codes unrequested are not', async (t) => {
  t.ok(isCleanExit(0, undefined));
  t.ok(isCleanExit(143, true));
  t.ok(isCleanExit(137, true));
  t.notOk(isCleanExit(143, false));
  t.notOk(isCleanExit(137, undefined));
  t.notOk(isCleanExit(1, true));
  t.notOk(isCleanExit(undefined, true));
});

t.test("the agent's refusal to announce survives the round trip; an overlong or non-string one is no record", async (t) => {
  const refused = { ...good, phase: 'running' as const, refused: 'it has no IPv4 address (network "none"?)' };
  t.same(decodeFacts(encodeFacts(refused)), refused);
  t.equal(decodeFacts(JSON.stringify({ ...good, refused: 'x'.repeat(301) })), undefined);
  t.equal(decodeFacts(JSON.stringify({ ...good, refused: 7 })), undefined);
});
