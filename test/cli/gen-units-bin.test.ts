// The built command (bin/gen-units.cjs → dist/fleetkit.cjs, made by `npm run build`), as a user runs it:
// stdout is one path per unit to start (pipe-able into xargs fleetctl start), exit codes 0/1/2.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-genbin-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function genUnits(...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin/gen-units.cjs'), ...args], { cwd: root, encoding: 'utf8' });
}

t.test('renders the seed example and prints instance paths (exit 0)', async (t) => {
  const out = join(dir, 'units');
  const r = genUnits('examples/seed/cluster.yaml', '-o', out);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '');
  t.strictSame(r.stdout.split('\n'), [
    `${out}/fleetkit-agent-web.service`,
    `${out}/fleetkit-hosts-web.service`,
    `${out}/apache@1.service`,
    `${out}/apache@2.service`,
    `${out}/apache-discovery@1.service`,
    `${out}/apache-discovery@2.service`,
    '',
  ]);
  t.equal(genUnits('examples/seed/cluster.yaml', '-o', out, '--check').status, 0, '--check right after: in sync');
  appendFileSync(join(out, 'apache@.service'), 'Nice=5\n');
  const check = genUnits('examples/seed/cluster.yaml', '-o', out, '--check');
  t.equal(check.status, 1, '--check after an edit: exit 1');
  t.match(check.stdout, '-Nice=5\n');
});

t.test('a bad spec: exit 2, FILE:LINE:COL message, no stack', async (t) => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'name: x\nservices:\n  web:\n    image: nginx\n    ports: ["99999:80"]\n');
  const r = genUnits(bad, '-o', join(dir, 'never'));
  t.equal(r.status, 2);
  t.equal(r.stdout, '');
  t.match(r.stderr, `${bad}:5:`);
  t.match(r.stderr, 'services.web.ports[0]');
  t.notMatch(r.stderr, /\n\s+at /);
});

t.test('the gen-units bundle holds precompiled templates and no template compiler or heavy client', async (t) => {
  const bundle = readFileSync(join(root, 'dist/gen-units.cjs'), 'utf8');
  t.notMatch(bundle, 'Parse error on line', 'no handlebars compiler (its parser error text is absent)');
  t.match(bundle, 'Wants= starts the discovery sidekick with every start', 'the templates are inside (precompiled)');
  t.notMatch(bundle, /grpc|dockerode|dbus-next/, 'no etcd, docker or D-Bus client');
});
