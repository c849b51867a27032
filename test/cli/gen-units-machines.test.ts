// gen-units --machines N: a spec whose mutually conflicting instances outnumber the machines is refused on
// stderr (fleetctl start would wait forever for the instance fleet cannot place), nothing is written or
// printed; the seed example fits on two machines and more.
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFleetkit } from './load-io.js';

const seed = join(import.meta.dirname, '../../examples/seed/cluster.yaml');

t.test('the seed example on one machine is refused; on three it renders', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fk-machines-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const one = await runFleetkit(['gen', seed, '--machines', '1'], { cwd: dir });
  t.equal(one.code, 2);
  t.equal(one.stdout, '', 'nothing for xargs to start');
  t.match(one.stderr, /apache has 2 conflicting instances: it needs at least 2 machines, and there is 1/);
  t.notOk(existsSync(join(dir, 'units')), 'nothing written');
  const three = await runFleetkit(['gen', seed, '--machines', '3'], { cwd: dir });
  t.equal(three.code, 0, three.stderr);
  t.match(three.stdout, /^units\/apache@1\.service$/m);
  const bad = await runFleetkit(['gen', seed, '--machines', '0'], { cwd: dir });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--machines must be a whole number ≥ 1, not "0"/);
});
