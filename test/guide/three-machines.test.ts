/**
 * README "Your first cluster" → "Three machines with fleet", run as written: the shell commands by sh
 * (this checkout's fleetkit and gen-units on PATH), `… | xargs fleetctl start` through the fleetctl-style
 * client (test/support/fleetctl.ts, fleetctl v1.0.0's start) against the fleet test server. The three
 * simulated machines are the three user-data files: each machine's fleet metadata is read from the
 * fleet.service its user-data starts, so scheduling depends on what cloud-config wrote. The first machine's
 * fleet-install.service runs for real (test/support/boot-install.ts) against a loopback server that serves
 * the release the guide's sha256sum was computed from.
 *
 * Adapted for the test environment (test/support/readme-guide.ts): the fleet release's URL (a loopback server) and the
 * pipe into fleetctl (gen-units' output is kept and handed to the fleetctl-style client, split as xargs
 * splits it). The release tarball is one the test makes, laid out as fleet's releases are.
 */
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { bootDocumentProblems } from '../../src/cloud-config/validate.js';
import { fleetServerPart } from '../fleet-server/server.js';
import { runInstallUnit } from '../support/boot-install.js';
import { fleetctlStart } from '../support/fleetctl.js';
import { adapt, guideBlocks, ROOT } from '../support/readme-guide.js';

const work = mkdtempSync(join(tmpdir(), 'fk-guide-three-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// The release the user downloaded and hosts: fleet's layout, a fleetd the test can recognise.
const rel = join(work, 'release', 'fleet-v1.0.0-linux-amd64');
mkdirSync(rel, { recursive: true });
for (const p of ['fleetd', 'fleetctl']) writeFileSync(join(rel, p), `#!/bin/sh\necho "${p} version 1.0.0"\n`);
execFileSync('tar', ['-czf', join(work, 'fleet-v1.0.0-linux-amd64.tar.gz'), '-C', join(work, 'release'), 'fleet-v1.0.0-linux-amd64']);
const tarball = readFileSync(join(work, 'fleet-v1.0.0-linux-amd64.tar.gz'));
const server = createServer((req, res) => {
  if (req.url === '/fleet/fleet-v1.0.0-linux-amd64.tar.gz') res.writeHead(200, { 'Content-Length': tarball.length }).end(tarball);
  else res.writeHead(404).end();
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => server.close(() => r())));
const releaseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fleet/fleet-v1.0.0-linux-amd64.tar.gz`;

// This checkout's commands, as `npm install -g` would put them on PATH.
const bin = join(work, 'bin');
mkdirSync(bin);
for (const [name, file] of [['fleetkit', 'dist/fleetkit.cjs'], ['gen-units', 'bin/gen-units.cjs']] as const) {
  writeFileSync(join(bin, name), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, file)} "$@"\n`);
  chmodSync(join(bin, name), 0o755);
}

type Doc = Record<string, any>;

t.test('three machines with fleet: the guide as written ends with every unit active, placed by role', async (t) => {
  const blocks = guideBlocks('Three machines with fleet');
  t.equal(blocks.length, 3, 'name the inputs, describe and write the user-data, start the units');
  const unitsOut = join(work, 'gen-units.out');
  const script = adapt(blocks.join('\n'), [
    ['https://downloads.example.com/fleet/fleet-v1.0.0-linux-amd64.tar.gz', releaseUrl],
    [/^(gen-units .*) \| xargs fleetctl start$/m, `$1 > ${unitsOut}`],
  ]);
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile('sh', ['-e', '-x', '-c', script], { cwd: work, env: { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: work, NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 }, (e, stdout, stderr) =>
      done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }));
  });
  t.equal(r.code, 0, 'every shell command of the guide exits 0');
  if (r.code !== 0) t.comment(r.stderr.slice(-3000));
  t.notMatch(r.stderr, /warning/, 'and warns of nothing (every service can be placed, fleet is installed)');
  const dir = join(work, 'fleet-web');

  // Each user-data: valid, installs the release the guide computed the sha256 of, starts fleetd with its role.
  const sha = execFileSync('sha256sum', [join(work, 'fleet-v1.0.0-linux-amd64.tar.gz')], { encoding: 'utf8' }).split(' ')[0]!;
  const machines = [];
  for (const [k, host] of ['core-1', 'core-2', 'core-3'].entries()) {
    const text = readFileSync(join(dir, `${host}.yaml`), 'utf8');
    t.same(bootDocumentProblems('cloud-config', text), [], `${host}.yaml is valid cloud-config`);
    const doc = parse(text) as Doc;
    t.equal(doc.hostname, host);
    const units = doc.coreos.units as Doc[];
    const fleet = units.find((u) => u.name === 'fleet.service')?.content as string;
    const metadata = /^Environment="?FLEET_METADATA=([^"\n]*)"?$/m.exec(fleet ?? '')?.[1];
    t.equal(metadata, k < 2 ? 'role=web' : 'role=db', `${host}: fleetd gets its role's metadata`);
    t.equal((doc.write_files as Doc[]).find((f) => f.path === '/etc/fleetkit/fleet.sha256')?.content, `${sha}  /var/lib/fleetkit/fleet.download/fleet.tar.gz\n`, `${host}: checks the release against FLEET_SHA256`);
    t.match(units.find((u) => u.name === 'fleetkit-install.service')?.content, /^ExecStart=\/usr\/bin\/docker pull registry\.example\.com\/fleetkit:0\.1\.0$/m, `${host}: pulls fleetkit from FLEETKIT_REGISTRY`);
    if (k === 0) {
      const install = await runInstallUnit(units.find((u) => u.name === 'fleet-install.service')!.content as string, (doc.write_files as Doc[]).map((f) => ({ path: f.path, content: f.content, permissions: f.permissions })));
      t.equal(install.code, 0, `${host}: fleet-install.service installs the release at boot`);
      if (install.code !== 0) t.comment(install.output);
      t.ok(install.files['/opt/bin/fleetd'], `${host}: /opt/bin/fleetd`);
    }
    machines.push({ id: `${k + 1}`.repeat(32), primaryIP: `10.0.0.${21 + k}`, metadata: Object.fromEntries((metadata ?? '').split(',').map((p) => p.split('=') as [string, string])) });
  }

  // `| xargs fleetctl start`: gen-units' output, split on white space, to fleetctl against the fleet of the three.
  const fleet = await fleetServerPart(t, { tcp: true, machines });
  const args = readFileSync(unitsOut, 'utf8').split(/\s+/).filter(Boolean);
  t.same(args.map((a) => a.replace(/^units\//, '')).sort(), ['cache-discovery@1.service', 'cache@1.service', 'fleetkit-agent-shop.service', 'fleetkit-hosts-shop.service', 'web-discovery@1.service', 'web-discovery@2.service', 'web@1.service', 'web@2.service'], 'gen-units lists the units to start');
  const started = await fleetctlStart(args, { endpoint: fleet.httpUrl!, cwd: dir });
  t.equal(started.code, 0, 'fleetctl start exits 0');
  if (started.code !== 0) t.comment(`${started.stdout}${started.stderr}`);
  const active = new Set(fleet.states().filter((s) => s.state.activeState === 'active').map((s) => `${s.name} ${s.machineID}`));
  const where = (name: string): string | undefined => fleet.units().find((u) => u.name === name)?.machineID;
  const [web1, web2, db] = machines.map((m) => m.id);
  t.same(new Set([where('web@1.service'), where('web@2.service')]), new Set([web1, web2]), 'one web instance on each web machine');
  t.equal(where('cache@1.service'), db, 'cache on the database machine');
  for (const u of fleet.units().filter((x) => x.desiredState === 'launched')) {
    const on = u.global ? machines.map((m) => m.id) : [u.machineID ?? 'unscheduled'];
    t.ok(on.every((m) => active.has(`${u.name} ${m}`)), `${u.name} active on ${u.global ? 'all three' : on[0]!.slice(0, 8)}`);
  }
});
