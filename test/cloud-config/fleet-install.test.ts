/**
 * fleet on Flatcar: the generated `fleet-install.service` run for real (test/support/boot-install.ts: in a
 * private mount namespace, this machine's files untouched) against a loopback HTTP server that serves a
 * tarball laid out as fleet's releases are (`fleet-v1.0.0-linux-amd64/{fleetd,fleetctl,README.md}`, the
 * layout github.com/coreos/fleet/releases publishes and install scripts unpack with --strip-components=1).
 * The URL and sha256 reach the unit only through the cluster file's x-fleetkit.fleet.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runFleetkit } from '../cli/load-io.js';
import { bootDocumentProblems } from '../../src/cloud-config/validate.js';
import { runInstallUnit, type BootFile } from '../support/boot-install.js';

const root = join(import.meta.dirname, '../..');
const FIXTURE = readFileSync(join(root, 'test/cloud-config/fixtures/fleet-release.yaml'), 'utf8');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'fk-fleet-install-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A release tarball whose fleetd prints `version`. */
function release(version: string): Buffer {
  const top = join(dir, `rel-${version}`, `fleet-v${version}-linux-amd64`);
  mkdirSync(top, { recursive: true });
  for (const p of ['fleetd', 'fleetctl']) {
    writeFileSync(join(top, p), `#!/bin/sh\necho "${p} version ${version}"\n`);
    chmodSync(join(top, p), 0o644); // the install makes them executable
  }
  writeFileSync(join(top, 'README.md'), 'fleet\n');
  const out = join(dir, `fleet-v${version}-linux-amd64.tar.gz`);
  execFileSync('tar', ['-czf', out, '-C', join(dir, `rel-${version}`), `fleet-v${version}-linux-amd64`]);
  return readFileSync(out);
}

const tarballs = new Map<string, Buffer>([['/fleet-v1.0.0-linux-amd64.tar.gz', release('1.0.0')], ['/fleet-v1.0.1-linux-amd64.tar.gz', release('1.0.1')]]);
const requests: string[] = [];
const server = createServer((req, res) => {
  requests.push(req.url ?? '');
  const body = tarballs.get(req.url ?? '');
  if (!body) return void res.writeHead(404).end('not found\n');
  res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': body.length }).end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => server.close(() => r())));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** cloud-config for a spec naming `url` and `sha256`: the install unit's text and the write_files. */
async function render(url: string, sha256: string, format: 'cloud-config' | 'butane' = 'cloud-config'): Promise<{ unit: string; files: BootFile[] }> {
  const spec = join(dir, 'cluster.yaml');
  writeFileSync(spec, FIXTURE.replace(/url: \S+/, `url: ${url}`).replace(/sha256: \S+/, `sha256: ${sha256}`));
  const r = await runFleetkit(['cloud-config', spec, '--role', 'web', ...(format === 'butane' ? ['--format', 'butane', '--ip', '10.0.0.21'] : [])], { cwd: dir });
  if (r.code !== 0) throw new Error(r.stderr);
  if (bootDocumentProblems(format, r.stdout).length) throw new Error(bootDocumentProblems(format, r.stdout).join('\n'));
  const doc = parse(r.stdout) as Record<string, any>;
  if (format === 'butane') {
    const unit = (doc.systemd.units as any[]).find((u) => u.name === 'fleet-install.service').contents as string;
    return { unit, files: (doc.storage.files as any[]).map((f) => ({ path: f.path, content: f.contents.inline, permissions: f.mode.toString(8) })) };
  }
  const unit = (doc.coreos.units as any[]).find((u) => u.name === 'fleet-install.service').content as string;
  return { unit, files: (doc.write_files as any[]).map((f) => ({ path: f.path, content: f.content, permissions: f.permissions })) };
}

const v100 = tarballs.get('/fleet-v1.0.0-linux-amd64.tar.gz')!;
const v101 = tarballs.get('/fleet-v1.0.1-linux-amd64.tar.gz')!;
const programSha = (version: string, p: string): string => sha(Buffer.from(`#!/bin/sh\necho "${p} version ${version}"\n`));

t.test('the right sha256: fleetd and fleetctl installed in /opt/bin, executable, the stamp written, no download left', async (t) => {
  const { unit, files } = await render(`${base}/fleet-v1.0.0-linux-amd64.tar.gz`, sha(v100));
  const r = await runInstallUnit(unit, files);
  t.same({ ran: r.ran, code: r.code, failed: r.failed }, { ran: true, code: 0, failed: undefined }, r.output);
  t.equal(r.files['/opt/bin/fleetd'], `0755 ${programSha('1.0.0', 'fleetd')}`, 'fleetd from the tarball, mode 0755');
  t.equal(r.files['/opt/bin/fleetctl'], `0755 ${programSha('1.0.0', 'fleetctl')}`);
  t.ok(r.files[`/var/lib/fleetkit/fleet-installed-${sha(v100)}`], 'the stamp named after the sha256');
  t.same(Object.keys(r.files).filter((f) => f.startsWith('/var/lib/')), [`/var/lib/fleetkit/fleet-installed-${sha(v100)}`], 'no download or README left behind');
  t.same(r.dirs, ['/opt/bin', '/var/lib/fleetkit']);
});

t.test('a wrong sha256: refused, nothing installed, no download left', async (t) => {
  // The file served is the 1.0.1 release, the spec names 1.0.0's sha256 (a tampered or swapped file).
  const { unit, files } = await render(`${base}/fleet-v1.0.1-linux-amd64.tar.gz`, sha(v100));
  const r = await runInstallUnit(unit, files);
  t.equal(r.code, 1, 'the unit fails');
  t.equal(r.failed, '/usr/bin/sha256sum --check', 'at the check, before anything is unpacked');
  t.match(r.output, /fleet\.tar\.gz: FAILED/);
  t.same(Object.keys(r.files).filter((f) => !f.startsWith('/etc/')), [], 'no file in /opt or /var/lib: no fleetd, no stamp, no download');
});

t.test('a URL that answers 404: the unit fails at the download, nothing installed', async (t) => {
  const { unit, files } = await render(`${base}/missing.tar.gz`, sha(v100));
  const r = await runInstallUnit(unit, files);
  t.equal(r.failed, '/usr/bin/curl -fsSL');
  t.equal(r.code, 22, 'curl -f: exit 22 on an HTTP error');
  t.same(Object.keys(r.files).filter((f) => !f.startsWith('/etc/')), []);
});

t.test('next boot: the same release is not fetched again; a spec naming another release replaces it', async (t) => {
  const first = await render(`${base}/fleet-v1.0.0-linux-amd64.tar.gz`, sha(v100));
  // What the first boot left: fleetd and the stamp of 1.0.0.
  const left = `mkdir -p /opt/bin /var/lib/fleetkit && echo old > /opt/bin/fleetd && touch /var/lib/fleetkit/fleet-installed-${sha(v100)}`;
  const before = requests.length;
  const same = await runInstallUnit(first.unit, first.files, { before: left });
  t.equal(same.ran, false, 'skipped: fleetd and this release\'s stamp are there');
  t.equal(requests.length, before, 'nothing fetched');
  const next = await render(`${base}/fleet-v1.0.1-linux-amd64.tar.gz`, sha(v101));
  const upgraded = await runInstallUnit(next.unit, next.files, { before: left });
  t.equal(upgraded.code, 0, upgraded.output);
  t.equal(upgraded.files['/opt/bin/fleetd'], `0755 ${programSha('1.0.1', 'fleetd')}`, 'the new release\'s fleetd');
});

t.test('Butane (Fedora CoreOS) runs the same install', async (t) => {
  const { unit, files } = await render(`${base}/fleet-v1.0.0-linux-amd64.tar.gz`, sha(v100), 'butane');
  const r = await runInstallUnit(unit, files);
  t.equal(r.code, 0, r.output);
  t.equal(r.files['/opt/bin/fleetd'], `0755 ${programSha('1.0.0', 'fleetd')}`);
});
