/**
 * Property tests with a fixed seed: argv → quoteArgv → parseCommandLine (systemd's rules) → the same argv;
 * units → serializeUnit → parseUnit → the same unit; fleet's hash ignores comments and layout.
 */
import t from 'tap';
import { parseCommandLine, quoteArgv, quoteExec, parseExecLine } from '../../src/unit/quote.js';
import { parseUnit } from '../../src/unit/parse.js';
import { serializeUnit } from '../../src/unit/serialize.js';
import { fleetHash } from '../../src/unit/hash.js';
import type { UnitOption } from '../../src/unit/model.js';
import { prng } from '../support/prng.js';

const SEED = 0x5eed2016;
const CASES = 3000;


const pieces = [' ', '  ', '"', "'", '\\', '\\\\', '%', '%%', '%n', '$', '$$', '${X}', '$X', ';', '\n', '\t', '\r', '\x1b', '\x7f',
  'é', '✓', '😀', '\u00a0', '\u2028', 'a', 'Z', '0', '-', '=', '#', '[', ']', '|', '&', '<', '>', '\\n', '\\x41', 'word', ''];

t.test('quoteArgv → parseCommandLine is the identity', async (t) => {
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const word = (): string => {
    if (rnd() < 0.08) return pick(['', ';', '$', '%', '\\', '"', "'", ' ', '$HOME', '\\;']);
    let w = '';
    const n = Math.floor(rnd() * 8);
    for (let i = 0; i < n; i++) w += pick(pieces);
    return w;
  };
  const exes = ['/bin/echo', 'echo', '/usr/bin/my%prog', '/opt/a b/c', "/opt/it's", '/opt/é/x'];
  let checked = 0;
  for (let i = 0; i < CASES; i++) {
    const argv = [pick(exes), ...Array.from({ length: Math.floor(rnd() * 6) }, word)];
    const line = quoteArgv(argv);
    const back = parseCommandLine(line);
    if (JSON.stringify(back) !== JSON.stringify(argv)) {
      t.same(back, argv, `case ${i}: ${JSON.stringify(line)}`);
      return;
    }
    if (/[\n\r]/.test(line) || line !== line.trim() || line.endsWith('\\')) {
      t.fail(`case ${i}: line would not survive a unit file: ${JSON.stringify(line)}`);
      return;
    }
    // And with a ":" prefix (no $ expansion) the words survive too.
    const colon = parseExecLine(quoteExec(argv, { prefix: '-:' }));
    if (colon.prefix !== '-:' || JSON.stringify(colon.argv) !== JSON.stringify(argv)) {
      t.same(colon.argv, argv, `case ${i} with ":"`);
      return;
    }
    // The line also survives a unit file: serialize, parse, parse the command again.
    const unit = { name: 'p.service', options: [{ section: 'Service', name: 'ExecStart', value: line }] };
    const again = parseUnit(unit.name, serializeUnit(unit));
    if (JSON.stringify(parseCommandLine(again.options[0]?.value ?? '')) !== JSON.stringify(argv)) {
      t.fail(`case ${i}: changed by the unit file round trip: ${JSON.stringify(line)}`);
      return;
    }
    checked++;
  }
  t.equal(checked, CASES, `${CASES} random argv round-tripped (seed ${SEED})`);
});

t.test('serializeUnit → parseUnit is the identity; the hash ignores comments and layout', async (t) => {
  const rnd = prng(SEED + 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const sections = ['Unit', 'Service', 'X-Fleet', 'Install', 'X-Extra'];
  const names = ['Description', 'ExecStart', 'After', 'Environment', 'Conflicts', 'MachineMetadata', 'X'];
  const valueChars = ['a', 'b', ' ', '=', '#', ';', '"', "'", '%', '$', '\\', '[', ']', 'é', '😀', '\t', '\u00a0'];
  const value = (): string => {
    let v = '';
    const n = Math.floor(rnd() * 12);
    for (let i = 0; i < n; i++) v += pick(valueChars);
    v = v.replace(/^[\s\u00a0]+|[\s\u00a0\\]+$/gu, '');
    // Sometimes a continuation, the form fleet keeps in values.
    if (v !== '' && rnd() < 0.1) v += ` \\\n  x${v.replace(/[\s\u00a0\\]+$/u, '')}`;
    return v.replace(/[\s\u00a0\\]+$/u, '');
  };
  let checked = 0;
  for (let i = 0; i < CASES; i++) {
    const options: UnitOption[] = Array.from({ length: Math.floor(rnd() * 8) }, () => ({ section: pick(sections), name: pick(names), value: value() }));
    const unit = { name: 'r.service', options };
    const text = serializeUnit(unit);
    const back = parseUnit(unit.name, text);
    // parse(serialize(u)) groups options by section in first-seen order, exactly as fleet does.
    const grouped = [...new Set(options.map((o) => o.section))].flatMap((s) => options.filter((o) => o.section === s));
    if (JSON.stringify(back.options) !== JSON.stringify(grouped)) {
      t.same(back.options, grouped, `case ${i}: ${JSON.stringify(text)}`);
      return;
    }
    if (serializeUnit(back) !== text) {
      t.fail(`case ${i}: serialize is not stable`);
      return;
    }
    // Comments, blank lines and spaces around "=" and at line ends do not change fleet's hash.
    // (Only the first line of a directive is touched: continuation lines are part of the value.)
    let continued = false;
    const messy = `# generated\n\n${text
      .split('\n')
      .map((l) => {
        const first = !continued;
        continued = l.endsWith('\\');
        if (!first) return l;
        return l.startsWith('[') || l === '' ? `${l}\n; note` : l.replace('=', rnd() < 0.5 ? ' = ' : '=');
      })
      .join('\n')}\n\n# end\n`;
    if (fleetHash(parseUnit(unit.name, messy)) !== fleetHash(unit)) {
      t.fail(`case ${i}: hash changed by comments/layout: ${JSON.stringify(messy)}`);
      return;
    }
    checked++;
  }
  t.equal(checked, CASES, `${CASES} random units round-tripped (seed ${SEED + 1})`);
});
