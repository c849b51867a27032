/**
 * `load --systemd` and `[X-Fleet]`, on the test environment's systemd (plans only: --dry-run): the README's
 * one-host example, whose units carry [X-Fleet] only for fleetkit's own placement, loads without a word
 * about it; the seed example's conflicting instances get one warning naming them; stop says nothing.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { systemdPart } from '../env/parts.js';
import { runFleetkit } from './load-io.js';

const ROOT = resolve(import.meta.dirname, '../..');
const part = await systemdPart(t);
const unitDir = await mkdtemp(join(tmpdir(), 'fk-xfleet-units-'));
t.teardown(() => rm(unitDir, { recursive: true, force: true }));
const common = ['--systemd', '--user', '--unit-dir', unitDir, '--dry-run'];

t.test('the one-host example: no [X-Fleet] warning', async (t) => {
  const r = await runFleetkit(['load', join(ROOT, 'examples/e2e/cluster.yaml'), ...common], { env: part.env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /create +fleetkit-agent-e2e\.service/, 'the plan is printed');
  t.notMatch(r.stderr, /X-Fleet/, 'nothing about [X-Fleet]');
});

t.test('the seed example: its conflicting instances are named once, by load and start; stop is silent', async (t) => {
  const line = 'warning: [X-Fleet] Conflicts=apache@*.service is not honoured on one host (systemd does not read [X-Fleet]): apache@1.service and apache@2.service run here side by side; fleet would put them on separate machines\n';
  for (const verb of ['load', 'start']) {
    const r = await runFleetkit([verb, join(ROOT, 'examples/seed/cluster.yaml'), ...common], { env: part.env });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr.split(line).length - 1, 1, `${verb}: the warning, once`);
    t.equal(r.stderr.match(/X-Fleet/g)?.length, 2, `${verb}: no other line about [X-Fleet]`);
  }
  const stop = await runFleetkit(['stop', join(ROOT, 'examples/seed/cluster.yaml'), ...common], { env: part.env });
  t.equal(stop.code, 0, stop.stderr);
  t.notMatch(stop.stderr, /X-Fleet/, 'stop starts nothing: nothing to say about placement');
});
