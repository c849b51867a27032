// A file with problems keeps its warnings: they are printed with the problems, one list sorted by line, each
// warning marked, and the count line names both. --json carries them as `warnings`.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpecError } from '../../src/errors.js';
import { parseSpec } from '../../src/cluster/load.js';
import { runFleetkit } from '../cli/load-io.js';

const YAML = `name: shop
services:
  web:
    image: nginx:1.25
    build: ./web
    ports: ["80a"]
    tty: true
    environment: { A: "\${UNSET_IN_TEST}" }
`;

t.test('the warnings come back with the problems, in line order', async (t) => {
  const err = t.throws(() => parseSpec(YAML, 'compose.yaml')) as SpecError;
  t.ok(err instanceof SpecError);
  t.strictSame(err.problems.map((p) => p.path), ['services.web.ports[0]']);
  t.strictSame(err.warnings.map((w) => `${w.pos?.line} ${w.path}`), ['5 services.web.build', '7 services.web.tty', '8 services.web.environment.A']);
  const lines = err.format().split('\n').filter((l) => !l.startsWith('  hint:'));
  t.match(lines[0], /^compose\.yaml:5:\d+: services\.web\.build: warning: fleetkit runs the image nginx:1\.25/);
  t.match(lines[1], /^compose\.yaml:6:\d+: services\.web\.ports\[0\]: expected/);
  t.match(lines[2], /^compose\.yaml:7:\d+: services\.web\.tty: warning: /);
  t.match(lines[3], /^compose\.yaml:8:\d+: services\.web\.environment\.A: warning: variable UNSET_IN_TEST is not set/);
  t.equal(lines[4], '1 problem and 3 warnings; nothing was written.');
});

t.test('gen-units prints them, exit 2; --json lists them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetkit-warn-err-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'compose.yaml'), YAML);
  const r = await runFleetkit(['gen', join(dir, 'compose.yaml'), '--stdout'], { cwd: dir });
  t.equal(r.code, 2);
  t.match(r.stderr, /services\.web\.build: warning: /);
  t.match(r.stderr, /services\.web\.ports\[0\]: expected/);
  t.match(r.stderr, '1 problem and 3 warnings; nothing was written.');
  const j = await runFleetkit(['status', join(dir, 'compose.yaml'), '--json'], { cwd: dir });
  t.equal(j.code, 2);
  const body = JSON.parse(j.stdout) as { problems: unknown[]; warnings: Array<{ line: number; path: string }> };
  t.equal(body.problems.length, 1);
  t.strictSame(body.warnings.map((w) => w.line), [5, 7, 8]);
});
