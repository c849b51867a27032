// Golden files for every template and every [X-Fleet] option. Each case in cases/*.yaml is a spec that
// carries its own expectations (Quadlet-style), checked on the parsed units so a golden update cannot hide a
// regression in the lines that matter:
//   ## assert-key-is UNIT SECTION KEY VALUE…   every value of KEY in SECTION, in order ('…' groups a value)
//   ## assert-argv UNIT KEY ["argv", …]        the command as systemd reads it, with %i=2 %H=host1
//   ## assert-start UNIT…                      the units to start, in order
// UPDATE_GOLDEN=1 rewrites golden/CASE/*.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { valuesOf } from '../../src/unit/model.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';
import { matchGoldenDir } from '../support/golden.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const cases = readdirSync(`${here}cases`).filter((f) => f.endsWith('.yaml')).sort();
const SPECIFIERS = { i: '2', H: 'host1.example.com', l: 'host1', m: '0123456789abcdef0123456789abcdef' };

/** Splits an assertion line into words; '…' keeps a value with spaces or double quotes whole. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

t.test('every template is covered by a case', async (t) => {
  const used = new Set<string>();
  for (const c of cases) {
    const r = renderCluster(parseSpec(readFileSync(`${here}cases/${c}`, 'utf8'), c));
    for (const f of r.files) {
      const sidekick = f.text.includes('Type=oneshot') ? (f.text.includes('\nBindsTo=') ? 'discovery' : 'discovery-legacy') : undefined;
      used.add(sidekick ?? (f.name.startsWith('fleetkit-') ? f.name.replace(/-[^-]+\.service$/, '') : 'container'));
    }
  }
  t.strictSame([...used].sort(), ['container', 'discovery', 'discovery-legacy', 'fleetkit-agent', 'fleetkit-hosts']);
});

for (const c of cases) {
  t.test(c, async (t) => {
    const source = readFileSync(`${here}cases/${c}`, 'utf8');
    const result = renderCluster(parseSpec(source, c));
    matchGoldenDir(t, `${here}golden/${c.replace(/\.yaml$/, '')}`, result.files);

    const units = new Map(result.files.map((f) => [f.name, f.unit]));
    const unitOf = (name: string) => {
      const u = units.get(name);
      if (!u) throw new Error(`${c}: assertion names unit ${name}, which was not rendered`);
      return u;
    };
    let count = 0;
    for (const line of source.split('\n').filter((l) => l.startsWith('## assert-'))) {
      count++;
      const [kind, ...rest] = words(line.slice(3));
      if (kind === 'assert-key-is') {
        const [unit, section, key, ...values] = rest;
        t.strictSame(valuesOf(unitOf(unit!), section!, key!), values, `${unit} [${section}] ${key}`);
      } else if (kind === 'assert-argv') {
        const m = /^## assert-argv (\S+) (\S+) (.*)$/.exec(line)!;
        const [, unit, key, json] = m;
        const lines = valuesOf(unitOf(unit!), 'Service', key!);
        t.equal(lines.length, 1, `${unit} has one ${key}`);
        t.strictSame(parseExecLine(lines[0]!, { specifiers: { ...SPECIFIERS, n: unit!.replace('@.', '@2.') } }).argv, JSON.parse(json!), `${unit} ${key} argv`);
      } else if (kind === 'assert-start') {
        t.strictSame(result.start, rest, 'units to start');
      } else {
        t.fail(`unknown assertion ${kind}`);
      }
    }
    t.ok(count >= 3, 'the case carries its assertions');
  });
}
