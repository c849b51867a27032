import t from 'tap';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, splitPriority, underJournald } from '../../src/log/logger.js';

function capture() {
  const out: string[] = [];
  return { out, stream: { write: (s: string) => void out.push(s) } };
}

t.test('under journald every line carries its <N> priority; debug only when asked', async (t) => {
  const c = capture();
  const log = createLogger(c.stream, { journal: true });
  log.err('e');
  log.warn('w');
  log.notice('n');
  log.info('i');
  log.debug('d');
  log.line('<4>lost the watch');
  log.line('no prefix');
  t.same(c.out, ['<3>e\n', '<4>w\n', '<5>n\n', '<6>i\n', '<4>lost the watch\n', '<6>no prefix\n']);
  const d = capture();
  createLogger(d.stream, { journal: true, debug: true }).debug('d');
  t.same(d.out, ['<7>d\n']);
});

t.test('outside journald lines are plain: a prefixed message loses its prefix, the command prefix is kept', async (t) => {
  const c = capture();
  const log = createLogger(c.stream, { env: {}, prefix: 'fleetkit agent: ' });
  log.err('cannot write /etc/hosts');
  log.line('<4>lost the watch');
  t.same(c.out, ['fleetkit agent: cannot write /etc/hosts\n', 'fleetkit agent: lost the watch\n']);
});

t.test('a value with line breaks never starts a second line', async (t) => {
  const c = capture();
  createLogger(c.stream, { journal: true }).info('key /a\n<3>forged\r\nline');
  t.same(c.out, ['<6>key /a\\n<3>forged\\nline\n']);
});

t.test('JOURNAL_STREAM counts only when it names the very stream written to', async (t) => {
  const dir = t.testdir({ a: '', b: '' });
  const fa = openSync(join(dir, 'a'), 'w');
  const fb = openSync(join(dir, 'b'), 'w');
  t.teardown(() => {
    closeSync(fa);
    closeSync(fb);
  });
  const st = fstatSync(fa, { bigint: true });
  const env = { JOURNAL_STREAM: `${st.dev}:${st.ino}` };
  t.equal(underJournald(env, fa), true, 'the stream journald gave the service');
  t.equal(underJournald(env, fb), false, 'stderr redirected elsewhere: plain lines');
  t.equal(underJournald({}, fa), false, 'no JOURNAL_STREAM');
  t.equal(underJournald({ JOURNAL_STREAM: 'junk' }, fa), false, 'a malformed value');
  t.equal(underJournald(env, undefined), true, 'no descriptor to check: the variable decides');
  t.equal(underJournald({ JOURNAL_STREAM: '' }, undefined), false);
});

t.test('splitPriority', async (t) => {
  t.same(splitPriority('<7>x'), { priority: 7, text: 'x' });
  t.same(splitPriority('<9>x'), { priority: 6, text: '<9>x' });
  t.same(splitPriority('plain'), { priority: 6, text: 'plain' });
});
