/**
 * The watch cursor against scripted event streams: every event of a revision applied once, in order, also
 * when a reconnect splits a revision's events (real etcd sends a revision whole, so the split is scripted).
 */
import t from 'tap';
import { WatchCursor } from '../../src/etcd/watch-cursor.js';

interface Ev { readonly revision: number; readonly key: string }
const ev = (revision: number, key: string): Ev => ({ revision, key });
const keys = (evs: readonly Ev[]): string[] => evs.map((e) => `${e.revision}:${e.key}`);

/** etcd's history after a snapshot at revision 10: a put, a lease revoke deleting three keys, a txn. */
const history: Ev[] = [ev(11, 'a'), ev(12, 'x'), ev(12, 'y'), ev(12, 'z'), ev(13, 'p'), ev(13, 'q')];
/** What a watch started at `from` replays. */
const replay = (from: number): Ev[] => history.filter((e) => e.revision >= from);

t.test('every event of one revision is applied, in order', async (t) => {
  const c = new WatchCursor(10);
  t.equal(c.resumeFrom, 11, 'after a snapshot, watch from the next revision');
  c.restart();
  t.same(keys(c.accept(history)), keys(history), 'all six events, the three deletes of revision 12 included');
  t.equal(c.revision, 13);
});

t.test('a reconnect in the middle of a revision: the rest of it, once', async (t) => {
  for (let cut = 0; cut <= history.length; cut++) {
    const c = new WatchCursor(10);
    c.restart();
    const first = c.accept(history.slice(0, cut));
    // The stream breaks after `cut` events; the watch restarts where the cursor says.
    const from = c.resumeFrom;
    c.restart();
    const second = c.accept(replay(from));
    t.same([...keys(first), ...keys(second)], keys(history), `cut after ${cut} events: resume from ${from}, nothing twice, nothing skipped`);
  }
});

t.test('responses split inside a revision, then a reconnect, then another split', async (t) => {
  const c = new WatchCursor(10);
  c.restart();
  const applied: Ev[] = [];
  applied.push(...c.accept([ev(11, 'a'), ev(12, 'x')]));
  applied.push(...c.accept([ev(12, 'y')])); // same stream, next response: continues the count
  t.equal(c.resumeFrom, 12, 'revision 12 may be incomplete: resume from it');
  c.restart();
  applied.push(...c.accept([ev(12, 'x'), ev(12, 'y')])); // replay cut short again
  t.equal(c.resumeFrom, 12);
  c.restart();
  applied.push(...c.accept(replay(12)));
  t.same(keys(applied), keys(history));
});

t.test('a replay of older revisions and of the snapshot revision is dropped', async (t) => {
  const c = new WatchCursor(12);
  c.restart();
  t.same(keys(c.accept(replay(11))), ['13:p', '13:q'], 'revision 12 is in the snapshot whole');
  t.equal(c.resumeFrom, 13);
});

t.test('without restart() a repeated revision counts on (one stream never repeats events)', async (t) => {
  const c = new WatchCursor(10);
  c.restart();
  c.accept([ev(11, 'a')]);
  // A broken implementation that forgot the count would drop this second event of revision 11.
  t.same(keys(c.accept([ev(11, 'b')])), ['11:b']);
});
