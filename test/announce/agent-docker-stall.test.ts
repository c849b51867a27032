/**
 * dockerd stops answering for 5 s without losing its containers (frozen, overloaded): the agent's requests
 * must not hang and must be tried again, so a container is announced as soon as dockerd answers again.
 * The fault is a proxy on the socket the agent uses that stops moving bytes, on open connections and new
 * ones, as a SIGSTOPped dockerd would (a silent server); the test's own docker client bypasses it.
 */
import t from 'tap';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdReader, healthOf, inProcessAgent, runHttpContainer, tempDir, uniqueName } from './fixtures/fixture.js';
import type { TestLike } from '../env/parts.js';

const FAULT_MS = 5000;
const TIMEOUT_MS = 1000; // the agent's docker request deadline in this test
const RETRY = { min: 200, max: 1000 };

interface StallingProxy {
  readonly host: string;
  /** From now on nothing moves, on open connections or new ones, as with a frozen dockerd (SIGSTOP). */
  stall(): void;
  /** Everything moves again; what was sent meanwhile is delivered late, as a thawed dockerd would. */
  resume(): void;
  /** Breaks every open connection (the event stream among them). */
  dropAll(): void;
}

async function stallingProxy(t: TestLike, target: string, dir: string): Promise<StallingProxy> {
  const path = join(dir, 'docker.sock');
  const socketPath = target.replace(/^unix:\/\//, '');
  let stalled = false;
  const pairs = new Set<{ c: Socket; up: Socket | undefined }>();
  const flow = (p: { c: Socket; up: Socket | undefined }): void => {
    if (!p.up) {
      const up = connect(socketPath);
      up.on('error', () => p.c.destroy());
      up.on('close', () => p.c.destroy());
      p.c.on('close', () => up.destroy());
      p.up = up;
    }
    p.c.pipe(p.up);
    p.up.pipe(p.c);
  };
  const server: Server = createServer((c) => {
    c.on('error', () => undefined);
    const p = { c, up: undefined as Socket | undefined };
    pairs.add(p);
    c.on('close', () => pairs.delete(p));
    if (!stalled) flow(p);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => {
    for (const p of pairs) {
      p.c.destroy();
      p.up?.destroy();
    }
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    host: `unix://${path}`,
    stall: () => {
      stalled = true;
      for (const p of pairs) {
        p.c.unpipe();
        p.up?.unpipe();
        p.c.pause();
        p.up?.pause();
      }
    },
    resume: () => {
      stalled = false;
      for (const p of pairs) if (!p.c.destroyed) flow(p);
    },
    dropAll: () => {
      for (const p of pairs) {
        p.c.destroy();
        p.up?.destroy();
      }
    },
  };
}

/** An agent that reaches dockerd only through a stalling proxy, and a healthy container not yet registered. */
async function healthyBehindProxy(t: TestLike, what: string) {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const proxy = await stallingProxy(t, docker.dockerHost, await tempDir(t, 'stall'));
  const { agent, lines, prefix } = await inProcessAgent(t, etcd, docker, {
    dockerHost: proxy.host,
    dockerTimeoutMs: TIMEOUT_MS,
    dockerRetryMs: RETRY,
  });
  const name = uniqueName(what);
  await runHttpContainer(t, docker, name);
  await waitFor(async () => (await healthOf(docker, name)) === 'healthy', { what: 'container healthy', timeoutMs: 15_000 });
  return { docker, reader, proxy, agent, lines, name, key: `${prefix}/c/${what}/1` };
}

t.test('an inspect that gets no answer is tried again, and the container is announced once dockerd answers', async (t) => {
  const { docker, reader, proxy, agent, lines, name, key } = await healthyBehindProxy(t, 'stall');

  proxy.stall();
  const stalledAt = Date.now();
  const registering = agent.register({ key, container: name, ttl: 10 });
  await waitFor(() => lines.some((l) => l.includes(`cannot inspect container ${name}`) && l.includes('trying again')), {
    what: 'the failed inspect logged with its retry',
    timeoutMs: 4 * TIMEOUT_MS,
  });
  // The fault lasts FAULT_MS in all: this wait is the fault's length, not a wait for an event.
  await sleep(Math.max(0, FAULT_MS - (Date.now() - stalledAt)));
  t.equal(await reader.get(key).string(), null, 'nothing is announced while dockerd does not answer');
  proxy.resume();
  const resumedAt = Date.now();
  await waitFor(async () => (await reader.get(key).string()) !== null, {
    what: 'announced after dockerd answers again',
    timeoutMs: RETRY.max + TIMEOUT_MS + 3000,
  });
  const took = Date.now() - resumedAt;
  t.comment(`announced ${took} ms after dockerd answered again (retry at most every ${RETRY.max} ms)`);
  t.ok(took <= RETRY.max + TIMEOUT_MS + 3000, `announced within a retry of the recovery (${took} ms)`);
  t.equal(await registering, 'pending', 'the registration was accepted, pending, while dockerd did not answer');
  t.equal(agent.stateOf(key), 'announced', 'and is announced now');
  t.notOk(lines.some((l) => l.includes('docker event stream down')), 'the event stream stayed open: a retry, not a resync, announced it');
  t.ok(lines.some((l) => l.includes(`container ${name} inspected again`)), 'the recovery is logged');

  // The events are still followed.
  t.equal((await docker.docker(['kill', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'withdrawn on kill after the fault', timeoutMs: 3000 });
});

t.test('an event stream that breaks and cannot be reopened for 5 s is reopened, and what happened meanwhile is applied', async (t) => {
  const { docker, reader, proxy, agent, lines, name, key } = await healthyBehindProxy(t, 'stallev');
  t.equal(await agent.register({ key, container: name, ttl: 10 }), 'announced');

  proxy.dropAll();
  proxy.stall();
  const stalledAt = Date.now();
  await waitFor(() => lines.some((l) => l.includes('docker event stream down')), { what: 'the broken stream logged', timeoutMs: 3000 });
  // The container dies while the agent cannot hear of it (the test's own docker client bypasses the proxy).
  t.equal((await docker.docker(['kill', name])).code, 0);
  // A reopen attempt must end at its deadline, not hang on the silent socket.
  await waitFor(() => lines.filter((l) => l.includes('docker event stream down')).length >= 2, {
    what: 'a reopen attempt that timed out',
    timeoutMs: FAULT_MS,
  });
  t.ok(lines.some((l) => l.includes(`no answer within ${TIMEOUT_MS} ms`)), 'the reopen failed on its deadline');
  await sleep(Math.max(0, FAULT_MS - (Date.now() - stalledAt)));
  t.not(await reader.get(key).string(), null, 'the key stays while the agent cannot know better (its lease still holds)');
  proxy.resume();
  const resumedAt = Date.now();
  await waitFor(async () => (await reader.get(key).string()) === null, {
    what: 'withdrawn by the resync once the stream is back',
    timeoutMs: 5000 + TIMEOUT_MS + 3000,
  });
  t.comment(`withdrawn ${Date.now() - resumedAt} ms after dockerd answered again`);
  t.ok(lines.some((l) => l.includes('docker event stream back')), 'the stream came back');

  t.equal((await docker.docker(['start', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'announced again: events followed after the fault', timeoutMs: 15_000 });
});
