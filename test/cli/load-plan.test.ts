/**
 * The pure half of the unit commands: what changes, what is stale, how a difference is shown, and the
 * cluster marker that makes stale units recognisable in fleet and in a unit directory.
 */
import t from 'tap';
import { diffLines, findStale, optionLines, planChanges } from '../../src/load/plan.js';
import { mapLimit } from '../../src/load/pool.js';
import { Progress, totalsOf } from '../../src/cli/unit-report.js';

t.test('planChanges: absent → create, same → unchanged, different → replace or conflict', async (t) => {
  const have = new Map([['a.service', 'h1'], ['b.service', 'h2']]);
  const want = [{ name: 'a.service', key: 'h1' }, { name: 'b.service', key: 'h3' }, { name: 'c.service', key: 'h4' }];
  t.same(planChanges(want, have, false).map((p) => p.kind), ['unchanged', 'conflict', 'create']);
  t.same(planChanges(want, have, true).map((p) => p.kind), ['unchanged', 'replace', 'create']);
});

t.test('findStale: only units marked for this cluster and no longer wanted', async (t) => {
  const existing = [
    { name: 'web@1.service', cluster: 'web' },
    { name: 'old@1.service', cluster: 'web' },
    { name: 'other@1.service', cluster: 'shop' },
    { name: 'hand.service', cluster: undefined },
  ];
  t.same(findStale(existing, 'web', new Set(['web@1.service'])), ['old@1.service']);
});

t.test('diffLines shows removed then added lines, unchanged ones left out', async (t) => {
  t.same(diffLines(['a', 'b', 'c'], ['a', 'x', 'c', 'd']), ['- b', '+ x', '+ d']);
  t.same(diffLines([], ['a']), ['+ a']);
  t.same(diffLines(['a'], []), ['- a']);
  t.same(diffLines(['a', 'b'], ['a', 'b']), []);
  t.same(optionLines({ options: [{ section: 'Service', name: 'ExecStart', value: '/bin/true' }] }), ['[Service] ExecStart=/bin/true']);
});

t.test('mapLimit keeps order, bounds concurrency and returns failures', async (t) => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    running--;
    if (n === 4) throw new Error('four');
    return n * 10;
  });
  t.equal(peak, 3);
  t.same(out.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), [10, 20, 30, 'four', 50, 60, 70]);
});

t.test('progress: a bar on a terminal, a line per unit otherwise, nothing with --json', async (t) => {
  let tty = '';
  const bar = new Progress({ write: (c: string) => (tty += c), isTTY: true }, 2, 'settled', false);
  bar.settled('a.service', 'active', true);
  bar.settled('b.service', 'failed', false, 'boom');
  t.equal(tty, `\r[${'#'.repeat(15)}${' '.repeat(15)}] 1/2 settled\r[${'#'.repeat(30)}] 2/2 settled\n`);
  let plain = '';
  const lines = new Progress({ write: (c: string) => (plain += c), isTTY: false }, 2, 'settled', false);
  lines.settled('a.service', 'active', true);
  lines.settled('b.service', 'failed', false, 'boom');
  t.equal(plain, 'a.service active\nb.service failed: boom\n');
  let none = '';
  new Progress({ write: (c: string) => (none += c), isTTY: true }, 1, 'x', true).settled('a.service', 'active', true);
  t.equal(none, '');
});

t.test('totals count what each verb did', async (t) => {
  t.same(totalsOf([{ name: 'a', change: 'created', state: 'active', ok: true }, { name: 'b', change: 'unchanged', state: 'active', ok: true }, { name: 'c', change: 'none', state: undefined, ok: false }], 'load'),
    { created: 1, replaced: 0, unchanged: 1, failed: 1 });
  t.same(totalsOf([{ name: 'a', change: 'none', state: 'inactive', ok: true }], 'stop'), { stopped: 1, failed: 0 });
  t.same(totalsOf([{ name: 'a', change: 'destroyed', state: 'absent', ok: true }, { name: 'b', change: 'absent', state: 'absent', ok: true }], 'destroy'), { destroyed: 1, absent: 1, failed: 0 });
});
