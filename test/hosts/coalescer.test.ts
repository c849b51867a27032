/**
 * The coalescer's promises, on real timers: a lone change is written at once (not after the quiet period),
 * a burst costs a leading write and few more, writes never overlap and are spaced by the minimum interval,
 * and a continuous stream still writes within the maximum delay. Every bound asserted here is one the
 * implementation guarantees, not a timing that a slow machine could miss, except where noted.
 */
import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import { Coalescer } from '../../src/hosts/coalescer.js';

interface Probe {
  readonly coalescer: Coalescer;
  /** Start and end time of each flush. */
  readonly flushes: { start: number; end: number }[];
  /** Resolves at the end of the next flush. */
  nextFlush(): Promise<number>;
  overlaps: number;
}

function probe(opts: { quietMs: number; maxDelayMs: number; minIntervalMs: number; flushMs?: number }): Probe {
  const flushes: { start: number; end: number }[] = [];
  let waiters: ((t: number) => void)[] = [];
  let running = 0;
  const p: Probe = {
    flushes,
    overlaps: 0,
    nextFlush: () => new Promise((r) => waiters.push(r)),
    coalescer: new Coalescer({
      ...opts,
      flush: async () => {
        if (++running > 1) p.overlaps++;
        const start = performance.now();
        if (opts.flushMs) await delay(opts.flushMs);
        const end = performance.now();
        running--;
        flushes.push({ start, end });
        const w = waiters;
        waiters = [];
        for (const r of w) r(end);
      },
    }),
  };
  return p;
}

t.test('a lone change is written at once, not after the quiet period', async (t) => {
  // A quiet period far longer than any scheduling delay: a write that waited for it would be obvious.
  const p = probe({ quietMs: 5_000, maxDelayMs: 10_000, minIntervalMs: 50 });
  const done = p.nextFlush();
  const t0 = performance.now();
  p.coalescer.poke();
  const at = await done;
  t.ok(at - t0 < 2_500, `written after ${(at - t0).toFixed(1)} ms, long before the 5 s quiet period`);
  t.equal(p.flushes.length, 1);
  t.equal(p.coalescer.pending, false, 'nothing left pending');
  await p.coalescer.stop();
});

t.test('changes in the same turn as the first go into the same write', async (t) => {
  const p = probe({ quietMs: 5_000, maxDelayMs: 10_000, minIntervalMs: 50 });
  const done = p.nextFlush();
  for (let i = 0; i < 100; i++) p.coalescer.poke();
  await done;
  t.equal(p.flushes.length, 1, 'one write for 100 changes made before it ran');
  t.equal(p.coalescer.pending, false);
  await p.coalescer.stop();
});

t.test('a burst: a leading write, then writes spaced by the minimum interval, never overlapping', async (t) => {
  // maxDelay below minInterval: a stream that is never quiet would be written every 20 ms, so here the
  // minimum interval alone spaces the writes.
  const p = probe({ quietMs: 10, maxDelayMs: 20, minIntervalMs: 50, flushMs: 5 });
  const until = performance.now() + 600;
  // A change every millisecond for 600 ms: never quiet for 10 ms.
  while (performance.now() < until) {
    p.coalescer.poke();
    await delay(1);
  }
  const last = performance.now();
  await p.coalescer.stop();
  t.equal(p.overlaps, 0, 'one flush at a time');
  // stop()'s own flush is left out: it writes at once by design (a clean exit).
  const timed = p.flushes.filter((f) => f.start < last);
  const gaps = timed.slice(1).map((f, i) => f.start - timed[i]!.end);
  t.ok(gaps.every((g) => g >= 50), `every write starts ≥ 50 ms after the previous one ended: ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
  // 600 ms of changes with ≥ 55 ms per write cycle: at most 600/55 + 2 writes (the leading one and stop()'s).
  t.ok(p.flushes.length <= Math.ceil(600 / 55) + 2, `${p.flushes.length} writes for ~600 changes`);
  // A continuous stream is still written. At least 3 writes in 600 ms (generous for a loaded CI machine:
  // there should be ~10).
  t.ok(p.flushes.filter((f) => f.end < last).length >= 3, 'a stream that is never quiet is still written');
});

t.test('after a burst, the last change is written once things are quiet', async (t) => {
  const p = probe({ quietMs: 10, maxDelayMs: 250, minIntervalMs: 50 });
  for (let i = 0; i < 20; i++) {
    p.coalescer.poke();
    await delay(1);
  }
  // Wait for the flush that comes after the final poke.
  const tLast = performance.now();
  p.coalescer.poke();
  for (;;) {
    const end = await p.nextFlush();
    if (p.flushes.at(-1)!.start >= tLast) {
      t.ok(end >= tLast, 'the last change was written');
      break;
    }
  }
  t.equal(p.coalescer.pending, false, 'nothing pending once written');
  t.ok(p.flushes.length <= 3, `${p.flushes.length} writes for 21 changes (leading, then coalesced)`);
  await p.coalescer.stop();
});

t.test('stop() writes what is pending without waiting, then schedules nothing', async (t) => {
  const p = probe({ quietMs: 5_000, maxDelayMs: 10_000, minIntervalMs: 5_000 });
  const first = p.nextFlush();
  p.coalescer.poke();
  await first; // the leading write; the next change must now wait ≥ 5 s…
  p.coalescer.poke();
  t.equal(p.coalescer.pending, true);
  const t0 = performance.now();
  await p.coalescer.stop(); // …unless the coalescer stops: then it is written at once.
  t.ok(performance.now() - t0 < 2_500, 'stop() did not wait for the interval');
  t.equal(p.flushes.length, 2);
  p.coalescer.poke();
  await delay(20);
  t.equal(p.flushes.length, 2, 'no write after stop()');
});
