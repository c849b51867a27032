import t from 'tap';
import { unifiedDiff } from '../../src/render/unified-diff.js';

const opts = { from: 'a/u', to: 'b/u' };

t.test('equal texts give no diff', async (t) => {
  t.equal(unifiedDiff('x\ny\n', 'x\ny\n', opts), '');
});

t.test('a changed line: deletion before insertion, context of 3, diff -u ranges', async (t) => {
  const old = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
  t.equal(
    unifiedDiff(old, old.replace('5\n', 'five\n'), opts),
    '--- a/u\n+++ b/u\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n',
  );
});

t.test('far-apart changes make two hunks; near ones one', async (t) => {
  const lines = Array.from({ length: 20 }, (_, i) => `l${i + 1}`);
  const old = lines.join('\n') + '\n';
  const far = old.replace('l2\n', 'L2\n').replace('l18\n', 'L18\n');
  const d = unifiedDiff(old, far, opts);
  t.equal(d.match(/^@@/gm)?.length, 2);
  t.match(d, '@@ -1,5 +1,5 @@\n l1\n-l2\n+L2\n');
  t.match(d, '@@ -15,6 +15,6 @@\n l15\n l16\n l17\n-l18\n+L18\n l19\n l20\n');
  const near = old.replace('l2\n', 'L2\n').replace('l6\n', 'L6\n');
  t.equal(unifiedDiff(old, near, opts).match(/^@@/gm)?.length, 1);
});

t.test('added and removed lines at the ends, and a missing final newline', async (t) => {
  t.equal(unifiedDiff('a\n', 'a\nb\n', opts), '--- a/u\n+++ b/u\n@@ -1 +1,2 @@\n a\n+b\n');
  t.equal(unifiedDiff('a\nb\n', 'b\n', opts), '--- a/u\n+++ b/u\n@@ -1,2 +1 @@\n-a\n b\n');
  t.equal(unifiedDiff('', 'a\n', opts), '--- a/u\n+++ b/u\n@@ -0,0 +1 @@\n+a\n');
  t.equal(unifiedDiff('a', 'a\n', opts), '--- a/u\n+++ b/u\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n');
});
