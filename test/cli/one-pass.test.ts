/**
 * One pass: a file with ten different problems — interpolation (a required variable, a broken template, a
 * value from .env that is not a number), the schema (an unknown key), values (a port, a restart policy, a
 * duration), a cross-reference (machineOf), an env file that is missing and fleetkit's own settings — gives
 * ten located messages in one run of the real gen-units, sorted by line, exit 2, and no stack trace.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/gen-units.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-one-pass-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(join(dir, 'compose.yaml'), `name: shop
x-fleetkit:
  etcd: { prefix: "no-slash" }
services:
  web:
    image: "nginx:\${TAG:?set TAG to the release to run}"
    command: "nginx -g \${oops"
    scale: \${WEB_SCALE}
    ports: ["80a:80"]
    restart: sometimes
    helthcheck: { test: [CMD, "true"] }
    x-fleet: { machineOf: [db@3.service] }
  db:
    image: postgres:16
    stop_grace_period: soon
    env_file: ./db.env
`);
writeFileSync(join(dir, '.env'), 'WEB_SCALE=three\n');

t.test('ten problems, one run', async (t) => {
  const env = { ...process.env };
  delete env.TAG;
  const r = spawnSync(process.execPath, [bin, '-o', join(dir, 'units')], { cwd: dir, env, encoding: 'utf8' });
  t.equal(r.status, 2, 'exit 2: bad input');
  t.equal(r.stdout, '', 'no unit path printed');
  t.notOk(existsSync(join(dir, 'units')), 'nothing written');
  t.notMatch(r.stderr, /^\s+at /m, 'no stack trace');
  const located = r.stderr.split('\n').filter((l) => /^(gen-units: )?compose\.yaml:\d+:\d+: /.test(l));
  t.same(located.map((l) => l.replace(/^gen-units: /, '').replace(/: .*/, '')), [
    'compose.yaml:3:19',
    'compose.yaml:6:12',
    'compose.yaml:7:14',
    'compose.yaml:8:12',
    'compose.yaml:9:13',
    'compose.yaml:10:14',
    'compose.yaml:11:5',
    'compose.yaml:12:27',
    'compose.yaml:15:24',
    'compose.yaml:16:15',
  ], 'ten messages, each with its line and column, in file order');
  const says = [
    /x-fleetkit\.etcd\.prefix: expected a key prefix like \/services/,
    /services\.web\.image: required variable TAG is missing a value: set TAG to the release to run/,
    /services\.web\.command: invalid interpolation format in "nginx -g \$\{oops"/,
    /services\.web\.scale: expected a whole number, got "three"/,
    /services\.web\.ports\[0\]: expected a whole number from 1 to 65535, got "80a"/,
    /services\.web\.restart: expected no, always, on-failure\[:N\] or unless-stopped/,
    /services\.web\.helthcheck: unknown key "helthcheck"/,
    /services\.web\.x-fleet\.machineOf: db@3\.service is never rendered/,
    /services\.db\.stop_grace_period: expected a duration/,
    /services\.db\.env_file: env file "\.\/db\.env" cannot be read: no such file/,
  ];
  says.forEach((re, i) => t.match(located[i], re));
  t.equal(r.stderr.split('\n').filter((l) => l.startsWith('  hint: ')).length, 10, 'each with a hint');
  t.match(r.stderr, /^10 problems; nothing was written\.$/m);
});
