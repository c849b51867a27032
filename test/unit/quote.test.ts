import t from 'tap';
import { escapeSpecifiers, parseCommandLine, parseExecLine, plainValue, quoteArg, quoteArgv, quoteEnvironment, quoteExec } from '../../src/unit/quote.js';

t.test('quoteArg', async (t) => {
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['', '""'],
    [';', '";"'],
    [';x', ';x'],
    ['a b', '"a b"'],
    ['100%', '100%%'],
    ['date +%s', '"date +%%s"'],
    ['$HOME', '$$HOME'],
    ['${X}', '$${X}'],
    ['a\\b', 'a\\\\b'],
    ['ends\\', '"ends\\\\"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["it's", '"it\'s"'],
    ['l1\nl2', 'l1\\nl2'],
    ['tab\there', 'tab\\there'],
    ['\x1b[0m', '\\x1b[0m'],
    ['\x7f', '\\x7f'],
    ['héllo wörld ✓', '"héllo wörld ✓"'],
    ['|<>&', '|<>&'],
    ['{"a":"50%"}', '"{\\"a\\":\\"50%%\\"}"'],
  ];
  for (const [word, want] of cases) t.equal(quoteArg(word), want, JSON.stringify(word));
  t.throws(() => quoteArg('a\0b'), { code: 'ERR_UNIT_VALUE' });
});

t.test('quoteArgv validates the executable', async (t) => {
  t.equal(quoteArgv(['/bin/echo', 'a b', '50%']), '/bin/echo "a b" 50%%');
  t.equal(quoteArgv(['docker', 'ps']), 'docker ps');
  t.equal(quoteArgv(['/opt/my app/bin']), '"/opt/my app/bin"');
  for (const bad of [[], [''], ['-/bin/true'], ['@/bin/true'], ['bin/true'], ['./true'], ['/bin//true'], ['/bin/../true'], ['/bin/'], ['/bin/$X'], ['..']]) {
    t.throws(() => quoteArgv(bad), { code: 'ERR_UNIT_EXEC' }, JSON.stringify(bad));
  }
});

t.test('quoteExec prefixes', async (t) => {
  t.equal(quoteExec(['/usr/bin/docker', 'kill', 'web'], { prefix: '-' }), '-/usr/bin/docker kill web');
  t.equal(quoteExec(['/bin/sh', 'sh', '-c', 'echo $1'], { prefix: '-@' }), '-@/bin/sh sh -c "echo $$1"');
  // With ":" systemd does not expand "$", so it must not be doubled either.
  t.equal(quoteExec(['/bin/echo', '$HOME'], { prefix: ':' }), ':/bin/echo $HOME');
  t.same(parseExecLine(quoteExec(['/bin/echo', '$HOME'], { prefix: ':' })), { prefix: ':', argv: ['/bin/echo', '$HOME'] });
  t.equal(quoteExec(['/bin/true'], { prefix: '!!' }), '!!/bin/true');
  for (const prefix of ['x', '--', '+!', '-x']) t.throws(() => quoteExec(['/bin/true'], { prefix }), { code: 'ERR_UNIT_EXEC' }, prefix);
});

t.test('parseCommandLine follows systemd', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['/bin/echo a  b', ['/bin/echo', 'a', 'b']],
    ['/bin/echo "a b" \'c d\'', ['/bin/echo', 'a b', 'c d']],
    ['/bin/echo a"b c"d', ['/bin/echo', 'ab cd']],
    ['/bin/echo \\x41\\102\\u00e9\\U0001F600\\s', ['/bin/echo', 'ABé😀 ']],
    ['/bin/echo \\xc3\\xa9', ['/bin/echo', 'é']],
    ['/bin/echo 100%% $$HOME a$b', ['/bin/echo', '100%', '$HOME', 'a$b']],
    ['/bin/echo \\;', ['/bin/echo', ';']],
    ['/bin/echo ";"', ['/bin/echo', ';']],
    ['/bin/echo a\\\n  b', ['/bin/echo', 'a', 'b']],
    ['-/bin/true x', ['/bin/true', 'x']],
    ['/bin/echo ""', ['/bin/echo', '']],
  ];
  for (const [line, want] of cases) t.same(parseCommandLine(line), want, JSON.stringify(line));
  t.same(parseExecLine('-@/bin/sh sh').prefix, '-@');
  t.same(parseCommandLine('/bin/echo %i-%%', { specifiers: { i: '7' } }), ['/bin/echo', '7-%']);
  const bad = ['/bin/echo %', '/bin/echo %z', '/bin/echo %i', '/bin/echo $HOME', '/bin/echo ${HOME}', '/bin/echo a ; /bin/b',
    '/bin/echo "open', '/bin/echo \\q', '/bin/echo \\x00', '/bin/echo \\xff', '/bin/echo \\', '', '-', '/bin/echo a\nb'];
  for (const line of bad) t.throws(() => parseCommandLine(line), { code: 'ERR_UNIT_EXEC' }, JSON.stringify(line));
});

t.test('Environment= and plain values', async (t) => {
  t.equal(quoteEnvironment('MSG', 'say "hi" 100% $HOME \\ x'), '"MSG=say \\"hi\\" 100%% $HOME \\\\ x"');
  t.equal(quoteEnvironment('_A1', 'l1\nl2\tx'), '"_A1=l1\\nl2\\tx"');
  t.equal(quoteEnvironment('E', ''), '"E="');
  for (const name of ['1A', 'A-B', '', 'A B', 'A=B']) t.throws(() => quoteEnvironment(name, 'x'), { code: 'ERR_UNIT_VALUE' }, name);
  t.equal(escapeSpecifiers('50%%'), '50%%%%');
  t.equal(plainValue('Description', 'Web 100% $X'), 'Web 100%% $X');
  for (const v of ['a\nExecStart=/bin/evil', 'a\rb', 'tab\t', 'ends\\', ' lead', 'trail ']) {
    t.throws(() => plainValue('Description', v), { code: 'ERR_UNIT_VALUE' }, JSON.stringify(v));
  }
});
