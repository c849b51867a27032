// Every command that reads a SPEC takes -p/--project-name and --env-file (src/cli/cluster-flags.ts) and
// prints the file's interpolation warnings, as gen-units does. The flags are checked before any outside
// system is asked, so a bad -p and a missing --env-file give the same located usage error everywhere; the
// warnings are shown by the commands that then go on (against closed loopback ports and short deadlines).
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFleetkit } from './load-io.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-cluster-flags-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const spec = join(dir, 'compose.yaml');
writeFileSync(spec, `x-fleetkit:
  etcd: { endpoints: ["http://127.0.0.1:9"] }
  hosts: { file: ${join(dir, 'hosts')} }
services:
  web:
    image: "nginx:\${TAG:-1.25}"
    environment: { GREETING: "\${GREETING}" }
`);
writeFileSync(join(dir, 'vars.env'), 'TAG=1.27\n');
const CLOSED = 'http://127.0.0.1:9';

/** Each command with its SPEC and the flags that make it end soon against closed ports. */
const COMMANDS: Record<string, string[]> = {
  'gen-units': ['gen', spec, '--stdout'],
  load: ['load', spec, '--endpoint', CLOSED, '--timeout', '1s'],
  start: ['start', spec, '--endpoint', CLOSED, '--timeout', '1s'],
  stop: ['stop', spec, '--endpoint', CLOSED, '--timeout', '1s'],
  unload: ['unload', spec, '--endpoint', CLOSED, '--timeout', '1s'],
  destroy: ['destroy', spec, '--endpoint', CLOSED, '--timeout', '1s'],
  status: ['status', spec, '--endpoint', CLOSED, '--etcd', CLOSED, '--timeout', '500ms'],
  events: ['events', spec, '--endpoint', CLOSED, '--etcd', CLOSED],
  doctor: ['doctor', spec, '--check', 'etcd', '--timeout', '500ms'],
  'cloud-config': ['cloud-config', spec],
  'watch-hosts': ['watch-hosts', spec, '--once'],
};

t.test('a bad -p and a missing --env-file: the same usage error from every command, before any connection', async (t) => {
  await Promise.all(Object.entries(COMMANDS).map(async ([name, argv]) => {
    const p = await runFleetkit([...argv, '-p', 'Bad Name!'], { cwd: dir });
    t.equal(p.code, 2, `${name} -p: exit 2 (${p.stderr})`);
    t.match(p.stderr, /-p\/--project-name/, `${name}: names the flag`);
    const e = await runFleetkit([...argv, '--env-file', join(dir, 'nope.env')], { cwd: dir });
    t.equal(e.code, 2, `${name} --env-file: exit 2`);
    t.match(e.stderr, `--env-file ${join(dir, 'nope.env')}: cannot read: ENOENT`, name);
  }));
});

t.test('the interpolation warnings are printed, located, by the commands that go on', async (t) => {
  const quick = ['gen-units', 'load', 'status', 'doctor', 'cloud-config', 'watch-hosts'];
  await Promise.all(quick.map(async (name) => {
    const r = await runFleetkit([...COMMANDS[name]!, '--env-file', join(dir, 'vars.env'), '-p', 'shop'], { cwd: dir });
    t.match(r.stderr, /warning: \S*compose\.yaml:7:\d+: services\.web\.environment\.GREETING: variable GREETING is not set/, `${name} warns (exit ${r.code}: ${r.stderr.slice(0, 400)})`);
  }));
  const gen = await runFleetkit([...COMMANDS['gen-units']!, '--env-file', join(dir, 'vars.env'), '-p', 'shop'], { cwd: dir });
  t.match(gen.stdout, 'nginx:1.27', '--env-file gave TAG');
  t.match(gen.stdout, 'Cluster=shop', '-p gave the name');
});
