/**
 * `.env` / env_file parsing, as compose-go's dotenv package reads such files (its fixtures plain.env and
 * quoted.env, and its parser tests, rewritten here in our own words and values).
 */
import t from 'tap';
import { parseDotenv } from '../../src/cluster/dotenv.js';

const shell: Record<string, string> = { HOME: '/home/ann', EMPTY: '' };
const parse = (text: string) => parseDotenv(text, (n) => shell[n]);
const values = (text: string) => Object.fromEntries(parse(text).values);

t.test('plain values, comments, export, yaml-style and inherited keys', async (t) => {
  const text = [
    '# a comment',
    'PLAIN=value',
    '  INDENTED = spaced value   ',
    'export EXPORTED=yes',
    'YAMLISH: colon',
    'INLINE=value # a comment',
    'HASH=a#b',
    'EMPTYVAL=',
    'dotted.name-x=ok',
    'HOME',
    'NOT_IN_SHELL',
    '',
    'LAST=1',
  ].join('\n');
  t.same(values(text), {
    PLAIN: 'value', INDENTED: 'spaced value', EXPORTED: 'yes', YAMLISH: 'colon', INLINE: 'value', HASH: 'a#b',
    EMPTYVAL: '', 'dotted.name-x': 'ok', HOME: '/home/ann', LAST: '1',
  });
});

t.test('quotes and escapes', async (t) => {
  const text = [
    `SINGLE='raw $HOME \\n "x"'`,
    `SQ_ESCAPED='it\\'s'`,
    `DOUBLE="line1\\nline2\\ttab"`,
    `DQ_QUOTE="say \\"hi\\""`,
    `DQ_BACKSLASH="a\\\\b"`,
    `DQ_DOLLAR="cost \\$5 and $$6"`,
    `DQ_OCTAL="\\0101\\0102"`,
    `DQ_OTHER="\\c stays"`,
    `MULTI="first`,
    `second"`,
    `AFTER="x" # comment after a quote`,
  ].join('\n');
  t.same(values(text), {
    SINGLE: 'raw $HOME \\n "x"', SQ_ESCAPED: "it's", DOUBLE: 'line1\nline2\ttab', DQ_QUOTE: 'say "hi"', DQ_BACKSLASH: 'a\\b',
    DQ_DOLLAR: 'cost $5 and $6', DQ_OCTAL: 'AB', DQ_OTHER: '\\c stays', MULTI: 'first\nsecond', AFTER: 'x',
  });
});

t.test('interpolation: the shell first, then keys read before', async (t) => {
  const text = ['A=from-file', 'B=$A/${HOME}', 'HOME=/ignored-for-lookup', 'C=${HOME}', "D='$A'", 'E=${MISSING:-dflt}', 'F=${NOPE}'].join('\n');
  const env = parse(text);
  t.same(Object.fromEntries(env.values), { A: 'from-file', B: 'from-file//home/ann', HOME: '/ignored-for-lookup', C: '/home/ann', D: '$A', E: 'dflt', F: '' });
  t.same(env.unset.map((u) => [u.line, u.ref.name]), [[7, 'NOPE']]);
});

t.test('problems name their line; the other lines are still read', async (t) => {
  const env = parse(['GOOD=1', 'BAD KEY=x', 'ALSO$BAD=y', 'Q="never closed', 'R=${X:?R needs X}', 'LAST=2'].join('\n'));
  t.same(env.problems.map((p) => p.line), [2, 3, 4, 5]);
  t.match(env.problems[0]?.message, /cannot contain a space/);
  t.match(env.problems[1]?.message, /unexpected character "\$"/);
  t.match(env.problems[2]?.message, /unterminated quoted value/);
  t.match(env.problems[3]?.message, /required variable X is missing a value: R needs X/);
  t.equal(env.values.get('GOOD'), '1');
});

t.test('a byte-order mark is skipped; CRLF lines lose their CR', async (t) => {
  t.same(values('\ufeffA=1\r\nB=2\r\n'), { A: '1', B: '2' });
});
