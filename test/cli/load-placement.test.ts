/**
 * `fleetkit load` asks fleet's machine list (GET /machines) whether each unit can be placed before it waits:
 * through the fleet test server with one and with three simulated machines, a unit no machine can take
 * fails at once (well under 2 s, where the wait's timeout is 60 s), naming the unit and fleet's reason, and
 * nothing is sent; units already in fleet count; a spec that fits is loaded as before.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fleetLoadScratch, healthy, machineId, runningOn } from './fleet-load.js';

const WEB = (replicas: number, extra = ''): string => `name: shop
services:
  web:
    image: local/httpd:latest
    deploy: { replicas: ${replicas} }
    x-fleet: { conflicts: true }
${extra}`;
const DB = `  db:
    image: local/busybox:latest
    x-fleet: { machineMetadata: { role: [db, primary] } }
`;
const writes = (s: { requests: readonly { method: string }[] }): number => s.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE').length;

t.test('one machine: two conflicting instances fail at once, and nothing is sent', async (t) => {
  const scratch = await fleetLoadScratch(t, 'placement-1');
  await writeFile(join(scratch.root, 'cluster.yaml'), WEB(2));
  const s = await scratch.server(t, [{ id: machineId(1), primaryIP: '10.0.0.1' }]);
  t.equal((await scratch.load(s, 'load', 'cluster.yaml', '--dry-run')).code, 0, 'the command is loaded and compiled before it is timed');
  const started = performance.now();
  const r = await scratch.load(s, 'load', 'cluster.yaml');
  const ms = performance.now() - started;
  t.equal(r.code, 1);
  t.ok(ms < 2000, `refused in ${Math.round(ms)} ms`);
  t.match(r.stderr, /^web@2\.service: cannot be placed on the 1 machine of fleet at unix:\/\/\/\S+: conflicts with web@1\.service on 00000000: every machine that qualifies has a conflicting unit; nothing was changed$/m);
  t.notMatch(r.stderr, /web@1\.service:/, 'the instance that fits is not blamed');
  t.match(r.stdout, /^load: 0 created, 0 replaced, 0 unchanged, 1 failed, 4 skipped$/m);
  t.equal(writes(s), 0, 'no PUT, no DELETE');
  t.same(s.units(), [], 'fleet holds nothing');
  t.ok(s.requests.some((q) => q.path === '/fleet/v1/machines'), 'the machine list was read');
  healthy(t, s);
});

t.test('three machines: metadata no machine has, and a unit already in fleet that takes a machine', async (t) => {
  const scratch = await fleetLoadScratch(t, 'placement-3');
  const machines = [1, 2, 3].map((i) => ({ id: machineId(i), primaryIP: `10.0.0.${i}`, metadata: { role: i === 3 ? 'edge' : 'web' } }));
  const s = await scratch.server(t, machines);

  await writeFile(join(scratch.root, 'cluster.yaml'), WEB(3, DB));
  const db = await scratch.load(s, 'load', 'cluster.yaml');
  t.equal(db.code, 1);
  t.match(db.stderr, /^db@1\.service: cannot be placed on the 3 machines of fleet at \S+: no machine has metadata role=db or role=primary; nothing was changed$/m);
  t.equal(writes(s), 0);

  await writeFile(join(scratch.root, 'cluster.yaml'), WEB(3));
  const fits = await scratch.load(s, 'load', 'cluster.yaml');
  t.equal(fits.code, 0, fits.stderr);
  t.same([1, 2, 3].map((i) => runningOn(s, `web@${i}.service`).length), [1, 1, 1]);
  t.equal(new Set([1, 2, 3].map((i) => runningOn(s, `web@${i}.service`)[0])).size, 3, 'one instance per machine');

  // A fourth instance: every machine already holds one, so it cannot go anywhere.
  await writeFile(join(scratch.root, 'cluster.yaml'), WEB(4));
  const sent = writes(s);
  const started = performance.now();
  const four = await scratch.load(s, 'load', 'cluster.yaml');
  t.ok(performance.now() - started < 2000, 'refused at once');
  t.equal(four.code, 1);
  t.match(four.stderr, /^web@4\.service: cannot be placed on the 3 machines of fleet at \S+: conflicts with web@1\.service on \w{8}, web@2\.service on \w{8} and web@3\.service on \w{8}: every machine that qualifies has a conflicting unit; nothing was changed$/m);
  t.equal(writes(s), sent, 'nothing sent');
  t.equal(s.units().some((u) => u.name === 'web@4.service'), false);

  // --no-block does not wait, so it does not judge: fleet holds the unit until a machine can take it.
  const noBlock = await scratch.load(s, 'load', 'cluster.yaml', '--no-block');
  t.equal(noBlock.code, 0, noBlock.stderr);
  t.equal(s.units().find((u) => u.name === 'web@4.service')?.machineID, undefined, 'submitted, not placed');
  healthy(t, s);
});
