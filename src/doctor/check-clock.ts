/**
 * This host's clock against etcd's. etcd does not tell its time through its API, but every HTTP answer
 * carries Go's `Date` header: whole seconds of the member's clock. One answer bounds the difference to a
 * second; a series of answers across a second boundary bounds it to about one round trip, as NTP's
 * offset does: an answer dated S, sent at local time a and received at b, says etcd's clock read between
 * S and S+1 s somewhere in [a, b], so (etcd − local) lies in [S − b, S + 1 s − a]; the bounds of all
 * answers intersect.
 *
 * Threshold: 1 s, etcd's own. Its members warn "the clock difference against peer … is too high [… > 1s]"
 * (rafthttp's prober, probing_status.go), and TLS validity and the ages status shows rest on the clocks
 * agreeing. The check fails only when the difference is beyond the threshold for certain, passes only when
 * it is within for certain, and says unknown in between (round trips too slow to tell).
 */
import { fail, formatMs, ok, unknown, type CheckContext, type CheckDef, type CheckResult } from './check.js';
import { etcdUnknown, type EtcdSession } from './check-etcd.js';
import { HttpGetError } from './http-get.js';

/** etcd's own threshold for peers' clocks (rafthttp). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 1000;

/** One dated answer: etcd's second (ms since the epoch) and the local send/receive times. */
export interface DatedAnswer {
  readonly date: number;
  readonly sentAt: number;
  readonly receivedAt: number;
}

/** The interval (etcd − local, ms) that every answer allows. */
export function skewBounds(answers: readonly DatedAnswer[]): { lo: number; hi: number } {
  let lo = -Infinity;
  let hi = Infinity;
  for (const a of answers) {
    lo = Math.max(lo, a.date - a.receivedAt);
    hi = Math.min(hi, a.date + 1000 - a.sentAt);
  }
  return { lo, hi };
}

/** The verdict on bounds `lo..hi` against `maxMs`. */
export function skewVerdict(lo: number, hi: number, maxMs: number, url: string): CheckResult {
  const est = (lo + hi) / 2;
  const pm = Math.max(0, (hi - lo) / 2);
  const how = `${formatMs(Math.abs(est))} ± ${formatMs(pm)}`;
  const hint = 'keep every host\'s clock in step (systemd-timesyncd, chrony or ntpd); check `timedatectl` here and on the etcd members';
  if (lo > maxMs) return fail(`this host's clock is ${how} behind etcd's (${url}); more than ${formatMs(maxMs)}`, hint);
  if (hi < -maxMs) return fail(`this host's clock is ${how} ahead of etcd's (${url}); more than ${formatMs(maxMs)}`, hint);
  if (lo >= -maxMs && hi <= maxMs) return ok(`in step with etcd's (${url}): ${est >= 0 ? 'behind' : 'ahead'} by ${how}, within ${formatMs(maxMs)}`);
  return unknown(`cannot tell whether this host's clock is within ${formatMs(maxMs)} of etcd's: the difference is ${formatMs(lo)}..${formatMs(hi)}`, 'the round trips to etcd were too slow to measure; run doctor again, or with a longer --timeout');
}

export function clockCheck(session: EtcdSession, maxSkewMs: number): CheckDef {
  return {
    name: 'clock',
    after: ['etcd'],
    async run(ctx) {
      const waiting = etcdUnknown(session);
      if (waiting) return waiting;
      const url = session.facts.url!;
      const answers: DatedAnswer[] = [];
      // Sample until the bounds are tight (one boundary crossed) or the time is spent: at most 1.5 s and
      // the check's deadline, one request every 10 ms at most.
      const started = Date.now();
      const until = started + Math.min(1500, ctx.timeoutMs * 0.8);
      for (let i = 0; i < 200; i++) {
        // Each request gets what is left of the check's deadline, so the check ends within it.
        const left = ctx.timeoutMs - (Date.now() - started);
        if (left <= 0) break;
        const a = await dated(session, url, { ...ctx, timeoutMs: left });
        if (!('date' in a)) return a;
        answers.push(a);
        const { lo, hi } = skewBounds(answers);
        if (hi - lo <= 50 || Date.now() >= until) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const { lo, hi } = skewBounds(answers);
      return skewVerdict(lo, hi, maxSkewMs, url);
    },
  };
}

async function dated(session: EtcdSession, url: string, ctx: CheckContext): Promise<DatedAnswer | CheckResult> {
  try {
    const a = await session.get(url, '/version', ctx);
    const header = a.headers['date'];
    const date = typeof header === 'string' ? Date.parse(header) : NaN;
    if (Number.isNaN(date)) return unknown(`etcd at ${url} sent no Date header to compare clocks with`);
    return { date, sentAt: a.sentAt, receivedAt: a.receivedAt };
  } catch (e) {
    if (e instanceof HttpGetError) return unknown(`etcd at ${url} stopped answering: ${e.reason}`);
    throw e;
  }
}
