/**
 * `status` and `events` given load's `--systemd` file flags (as a user copying load's command line does):
 * they ask the manager for units by name, wherever the files are, so `--unit-dir`, `--runtime` and
 * `--journal-dir` mean nothing to them. Each is refused in one line saying so (exit 2), not as an unknown
 * option, before anything is read; help and completion do not offer them, while load's still do.
 */
import t from 'tap';
import { join, resolve } from 'node:path';
import { runFleetkit } from './load-io.js';

const SPEC = join(resolve(import.meta.dirname, '../..'), 'examples/e2e/cluster.yaml');
// Nothing may be contacted: a bus and an endpoint that do not exist would fail otherwise, and later.
const env = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus', FLEETCTL_ENDPOINT: 'unix:///nonexistent/fleet.sock' };

t.test('each flag refused in one line that says why, for status and events, with and without --systemd', async (t) => {
  const cases: ReadonlyArray<{ args: string[]; line: string }> = [
    { args: ['status', SPEC, '--systemd', '--user', '--unit-dir', '/tmp/units'], line: "fleetkit status: --unit-dir is not an option of status: status asks systemd for the cluster's units by name, wherever their files are (--unit-dir tells load where to write them)" },
    { args: ['status', SPEC, '--unit-dir', '/tmp/units'], line: "fleetkit status: --unit-dir is not an option of status: status asks fleet for the cluster's units by name, wherever their files are (--unit-dir tells load where to write them)" },
    { args: ['status', SPEC, '--systemd', '--runtime'], line: "fleetkit status: --runtime is not an option of status: status asks systemd for the cluster's units by name, wherever their files are (--runtime tells load to write them under /run)" },
    { args: ['status', SPEC, '--systemd', '--user', '--journal-dir', '/tmp/journal'], line: 'fleetkit status: --journal-dir is not an option of status: status reads no journal (fleetkit logs --journal-dir DIR does)' },
    { args: ['events', SPEC, '--systemd', '--user', '--unit-dir', '/tmp/units'], line: "fleetkit events: --unit-dir is not an option of events: events asks systemd for the cluster's units by name, wherever their files are (--unit-dir tells load where to write them)" },
  ];
  for (const c of cases) {
    const r = await runFleetkit(c.args, { env });
    t.equal(r.code, 2, `${c.args.join(' ')}: bad usage`);
    t.equal(r.stderr, `${c.line}\n`, `${c.args.join(' ')}: one line, no hint, no stack`);
    t.equal(r.stdout, '', 'nothing on stdout');
  }
  const unknown = await runFleetkit(['status', SPEC, '--systemd', '--bogus'], { env });
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^fleetkit status: Unknown option '--bogus'/, 'other unknown flags stay unknown');
});

t.test('help and completion: status and events do not offer them, load does', async (t) => {
  const bash = await runFleetkit(['completion', 'bash']);
  t.equal(bash.code, 0, bash.stderr);
  const optsOf = (cmd: string): string[] => (new RegExp(`^ +${cmd}\\) opts="([^"]*)"`, 'm').exec(bash.stdout)?.[1] ?? '').split(' ');
  for (const cmd of ['status', 'events']) {
    const help = await runFleetkit([cmd, '--help']);
    t.notMatch(help.stdout, /--unit-dir|--runtime|--journal-dir/, `${cmd} --help does not list them`);
    t.ok(optsOf(cmd).includes('--systemd'), `${cmd}'s completion is read`);
    t.same(optsOf(cmd).filter((o) => ['--unit-dir', '--runtime', '--journal-dir'].includes(o)), [], `${cmd}'s completion does not offer them`);
  }
  t.same(optsOf('load').filter((o) => ['--unit-dir', '--runtime', '--journal-dir'].includes(o)), ['--runtime', '--unit-dir', '--journal-dir'], 'load offers them');
});
