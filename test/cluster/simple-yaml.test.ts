/**
 * The fast YAML reader against the full `yaml` parser: whatever it accepts must come out exactly as
 * `parseDocument(text).toJS()` (values, key order, -0, NaN) from a text the full parser reads without
 * errors. Checked on the repository's specs, on pinned tricky snippets, and on documents generated with a
 * fixed seed, clean (mostly accepted) and mutated (mostly refused).
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { parseSimpleYaml } from '../../src/cluster/simple-yaml.js';
import { prng } from '../support/prng.js';

const OPTIONS = { prettyErrors: false, merge: true, uniqueKeys: true } as const;

/** Whether the reader accepted `text`; throws when it accepted it but reads it differently from the full parser. */
function compare(text: string): 'accepted' | 'refused' {
  const fast = parseSimpleYaml(text, OPTIONS);
  if (fast === undefined) return 'refused';
  const doc = parseDocument(text, OPTIONS);
  if (doc.errors.length > 0) throw new Error(`accepted text the full parser refuses (${doc.errors[0]?.message}):\n${text}`);
  const full: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isDeepStrictEqual(fast, full) || JSON.stringify(fast) !== JSON.stringify(full)) {
    throw new Error(`read differently:\n${text}\nfast: ${JSON.stringify(fast)}\nfull: ${JSON.stringify(full)}`);
  }
  return 'accepted';
}

t.test('the repository specs: accepted where plain, and read as the full parser does', async (t) => {
  const files = [
    ...readdirSync('examples').map((d) => `examples/${d}/cluster.yaml`),
    ...readdirSync('test/render/cases').map((f) => `test/render/cases/${f}`),
  ];
  const outcome = Object.fromEntries(files.map((f) => [f, compare(readFileSync(f, 'utf8'))]));
  t.equal(outcome['examples/seed/cluster.yaml'], 'accepted', 'the seed example takes the fast path');
  // Anchors and merge keys are the full parser's.
  t.equal(outcome['examples/large/cluster.yaml'], 'refused');
});

t.test('pinned snippets', async (t) => {
  const accepted = [
    'a: 1\nb: -0\nc: 0o17\nd: 0x1F\ne: 1e3\nf: .inf\ng: .NaN\nh: 1.50\ni: 010\n',
    'a: true\nb: True\nc: yes\nd: ~\ne: null\nf:\ng: NULL\nh: nUll\n',
    'a: "50%"\nb: \'it\'\'s\'\nc: a#b\nd: a #comment\ne: http://h:80/p\nf: 12:30\n',
    'a: [1, "x", ~, [b, c], {d: e}, ]\nb: { K: v, "q k": 2, u: http://h:1/ }\nc: []\nd: {}\n',
    'list:\n- a\n- b\nnext:\n  - c\n  - [d]\n# comment\n\nlast: x\u00a0\n',
    'constructor: 1\ntoString: 2\n"": 3\n',
  ];
  for (const text of accepted) t.equal(compare(text), 'accepted', JSON.stringify(text));
  const refused = [
    'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: |\n  x\n', 'a: b\n  c\n', 'a: 1\na: 2\n', '"a": 1\na: 2\n',
    'a: "x\\ty"\n', 'a:\tb\n', 'a: 1\r\n', '---\na: 1\n', '%YAML 1.2\n---\na: 1\n', '- a\n', '  a: 1\n',
    'a:\n  - b: c\n', 'a: [b,\n  c]\n', 'a: b: c\n', 'a: x:\n', '__proto__: 1\n', '<<: {a: 1}\n', '1: a\n',
    'true: a\n', 'a: {b}\n', 'a: [b: c]\n', 'a: [b #c]\n', 'a: [b]#c\n', 'a:\n    b: 1\n  c: 2\n', '? a\n: b\n',
    'a: - b\n', 'a: @b\n', 'a: `b\n', 'a: %b\n', '',
  ];
  for (const text of refused) t.equal(compare(text), 'refused', JSON.stringify(text));
});

t.test('generated documents, fixed seed', async (t) => {
  const rnd = prng(0x5eed2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const values = ['a', 'nginx', 'true', 'False', '~', 'null', '', '0o17', '0x1F', '1e3', '.5', '1.', '1.50', '-.Inf', '.nan', '010',
    '-1', '+1', '-0', '1_000', '12:30', 'a:b', 'a #b', 'a#b', 'http://x:80/p', '--x', 'a, b', '"q"', "'q'", "'it''s'", '"a\'b"', 'é',
    '😀', '\u00a0x', 'x\u00a0', 'a  b', '{a: 1, b: [c, d]}', '[a, b, ]', '[1, 2.5, true, ~, "x"]', '[[a], [b, [c]]]', '{ a : b }',
    '{constructor: x}', '"a" #c', 'x #', '50%', 'x]', 'a[b]', '{"a": b}', '[a] #c', '{}', '[ ]', '[a b, c d]', '{a b: c}', '[-a]',
    '[a#b]', '{a: b:c}', 'a: b', '[a: b]', '{a}', '[-, a]', '[a #c]', '[a', '&a x', '*a', '!t x', '|', '%x', '"unclosed', 'x:', '- x'];
  const keys = ['a', 'b', 'c', 'name', 'x-fleet', 'node.labels.x', 'a/b', 'constructor', '"q k"', "'it''s'", 'é', '_x', '"1"',
    '__proto__', '<<', '1', 'true', 'a b', '-x', '?x', 'k'.repeat(1100)];
  const node = (depth: number, indent: number, lines: string[], head: string, clean: boolean): void => {
    const sp = ' '.repeat(indent);
    if (depth > 3 || rnd() < 0.45) {
      const v = pick(clean ? values.slice(0, 56) : values);
      lines.push(`${sp}${head}${v === '' ? '' : ` ${v}`}${rnd() < 0.1 ? ' # c' : ''}`);
      return;
    }
    lines.push(`${sp}${head}`);
    const child = indent + pick(clean ? [1, 2, 2, 4, 0] : [2, 4, 1, 3, 0]);
    const seq = rnd() < 0.4;
    for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) node(depth + 1, child, lines, seq ? '-' : `${pick(clean ? keys.slice(0, 13) : keys)}:`, clean);
  };
  const counts = { clean: { accepted: 0, refused: 0 }, mutated: { accepted: 0, refused: 0 } };
  for (let i = 0; i < 6000; i++) {
    const clean = i % 2 === 0;
    const lines: string[] = [];
    for (let n = 1 + Math.floor(rnd() * 5); n > 0; n--) node(0, 0, lines, `${pick(clean ? keys.slice(0, 13) : keys)}:`, clean);
    if (!clean) {
      const at = Math.floor(rnd() * lines.length);
      lines.splice(at, 0, pick(['  x', '- y', '---', '\tq: 1', 'a: 1\r', '#', 'k: &a 1', '? c', ' ']));
    }
    counts[clean ? 'clean' : 'mutated'][compare(`${lines.join('\n')}\n`)]++;
  }
  // Both outcomes must be exercised for the comparison to mean anything.
  t.ok(counts.clean.accepted > 500, `clean documents accepted: ${counts.clean.accepted}`);
  t.ok(counts.mutated.refused > 2000, `mutated documents refused: ${counts.mutated.refused}`);
});
