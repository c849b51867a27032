/**
 * `fleetkit load` with no SPEC finds the cluster file as `docker compose` finds its project: compose.yaml
 * first (then the other default names, then cluster.yaml), here or in a parent directory; none gives one
 * usage line naming the names it looked for.
 */
import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fleetLoadScratch, machineId } from './fleet-load.js';
import { runFleetkit } from './load-io.js';

const FILE = (image: string): string => `name: shop\nservices:\n  web:\n    image: ${image}\n`;

t.test('no SPEC: compose.yaml here, or in a parent, is the cluster file', async (t) => {
  const scratch = await fleetLoadScratch(t, 'default-file');
  const s = await scratch.server(t, [{ id: machineId(1), primaryIP: '10.0.0.1' }]);
  await writeFile(join(scratch.root, 'compose.yaml'), FILE('local/httpd:latest'));
  await writeFile(join(scratch.root, 'cluster.yaml'), FILE('local/busybox:latest'));
  const sub = join(scratch.root, 'sub');
  await mkdir(sub);
  for (const cwd of [scratch.root, sub]) {
    const r = await runFleetkit(['load', '--no-block'], { env: { FLEETCTL_ENDPOINT: s.endpoint }, cwd });
    t.equal(r.code, 0, r.stderr);
    const web = s.units().find((u) => u.name === 'web@1.service');
    t.ok(web, `web@1.service was loaded from ${cwd === sub ? 'the parent directory' : 'here'}`);
    t.match(JSON.stringify(web?.options ?? []), /local\/httpd:latest/, 'compose.yaml wins over cluster.yaml');
    t.notMatch(JSON.stringify(web?.options ?? []), /local\/busybox/);
  }
});

t.test('no SPEC and no cluster file: one usage line naming what was looked for, exit 2', async (t) => {
  const scratch = await fleetLoadScratch(t, 'default-none');
  const s = await scratch.server(t, [{ id: machineId(1), primaryIP: '10.0.0.1' }]);
  const r = await scratch.load(s, 'load', '--dry-run');
  t.equal(r.code, 2);
  t.match(r.stderr, /no compose\.yaml, compose\.yml, docker-compose\.yml, docker-compose\.yaml, cluster\.yaml in \S+ or a parent directory/);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
