// The Compose corpus: files in the style of real public stacks (awesome-compose, the projects' own
// examples), with anchors and merge keys, x- blocks, long syntax, secrets, configs, several networks and
// health checks. Each file in files/ renders, passes `systemd-analyze verify` with no warning, and its
// service units and warnings are pinned in golden/NAME/ (UPDATE_GOLDEN=1 rewrites them). Each file in
// refused/ is refused with exactly the problems its `## problem LINE:COL PATH: MESSAGE` lines name, in one
// run. Files are read as if they lay in /srv/stacks/NAME/, so relative paths render the same everywhere.
// Files in render-only/ are checked the same way (golden/NAME/, systemd-analyze verify) but are not run on
// the engine (engine.test.ts runs files/ only); the env files they name are read from render-only/beside/NAME/.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import { SpecError } from '../../src/errors.js';
import { renderCluster } from '../../src/render/render.js';
import { matchGoldenDir } from '../support/golden.js';
import { verifyUnits } from '../support/systemd-verify.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const files = readdirSync(`${here}files`).filter((f) => f.endsWith('.yaml')).sort();
const renderOnly = readdirSync(`${here}render-only`).filter((f) => f.endsWith('.yaml')).sort();
const refused = readdirSync(`${here}refused`).filter((f) => f.endsWith('.yaml')).sort();

/** Where a corpus file is read from: its stack directory on the hosts. */
export const stackPath = (file: string): string => `/srv/stacks/${file.replace(/\.yaml$/, '')}/compose.yaml`;

t.test('the corpus is large enough to mean something', async (t) => {
  t.ok(files.length >= 30, `${files.length} files that render`);
  t.ok(renderOnly.length >= 10, `${renderOnly.length} files that render, not run on the engine`);
  t.strictSame(renderOnly.filter((f) => files.includes(f)), [], 'a name is in one directory: the goldens share golden/');
  t.ok(refused.length >= 5, `${refused.length} files that are refused`);
});

const rendered: ReadonlyArray<readonly [dir: 'files' | 'render-only', file: string]> = [...files.map((f) => ['files', f] as const), ...renderOnly.map((f) => ['render-only', f] as const)];
for (const [dir, file] of rendered) {
  t.test(dir === 'files' ? file : `${dir}/${file}`, async (t) => {
    const name = file.replace(/\.yaml$/, '');
    const readEnvFile = (f: string): string => readFileSync(`${here}render-only/beside/${name}/${f}`, 'utf8');
    const result = renderCluster(parseSpec(readFileSync(`${here}${dir}/${file}`, 'utf8'), stackPath(file), dir === 'files' ? {} : { readEnvFile }));
    // fleetkit's own units are the same for every file (and pinned elsewhere): the services' units are pinned.
    const own = result.files.filter((f) => !f.name.startsWith('fleetkit-'));
    const warnings = result.warnings.length ? [{ path: 'warnings.txt', text: `${result.warnings.join('\n')}\n` }] : [];
    matchGoldenDir(t, `${here}golden/${name}`, [...own, ...warnings]);
    const r = verifyUnits(t, result.files);
    t.equal(r.output, '', 'systemd-analyze verify: no error and no warning');
    t.equal(r.code, 0, 'systemd-analyze verify exits 0');
  });
}

for (const file of refused) {
  t.test(`refused/${file}`, async (t) => {
    const text = readFileSync(`${here}refused/${file}`, 'utf8');
    const expected = text.split('\n').filter((l) => l.startsWith('## problem ')).map((l) => l.slice('## problem '.length));
    t.ok(expected.length > 0, 'the file says what it expects');
    const err = t.throws(() => parseSpec(text, stackPath(file))) as unknown;
    if (!(err instanceof SpecError)) return void t.fail('a SpecError');
    t.strictSame(err.problems.map((p) => `${p.pos?.line}:${p.pos?.col} ${p.path}: ${p.message}`), expected, 'every problem, located, in one run');
  });
}
