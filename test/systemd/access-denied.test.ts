/**
 * A D-Bus refusal reads as a sentence. The refusal comes from a real dbus-daemon whose policy denies
 * `StartUnit` to the systemd manager's name — the same mechanism (bus policy) that refuses an unprivileged
 * caller on a system bus. The name is held by this test, which never sees the denied call: the bus answers
 * `org.freedesktop.DBus.Error.AccessDenied` itself.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import dbus from 'dbus-next';
import { runFleetkit } from '../cli/load-io.js';

const dir = await mkdtemp(join(tmpdir(), 'fk-dbus-policy-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await writeFile(join(dir, 'bus.conf'), `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <deny send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.systemd1.Manager" send_member="StartUnit"/>
  </policy>
</busconfig>
`);
const daemon = spawn('dbus-daemon', ['--config-file', join(dir, 'bus.conf'), '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
t.teardown(() => void daemon.kill());
const address = await new Promise<string>((resolve, reject) => {
  daemon.once('error', reject);
  createInterface({ input: daemon.stdout! }).once('line', (l) => resolve(l.trim()));
});

// Hold the manager's name with StartUnit, and Subscribe to show that a client no longer calls it.
const owner = dbus.sessionBus({ busAddress: address });
t.teardown(() => owner.disconnect());
const calls: string[] = [];
class Manager extends dbus.interface.Interface {
  Subscribe(): void {
    calls.push('Subscribe');
  }
  StartUnit(): string {
    calls.push('StartUnit');
    return '/org/freedesktop/systemd1/job/1';
  }
}
Manager.configureMembers({
  methods: {
    Subscribe: { inSignature: '', outSignature: '' },
    StartUnit: { inSignature: 'ss', outSignature: 'o' },
  },
});
const mgr = new Manager('org.freedesktop.systemd1.Manager');
owner.export('/org/freedesktop/systemd1', mgr);
await owner.requestName('org.freedesktop.systemd1', 0);

t.test('AccessDenied from the bus is a plain sentence with a hint, exit 1', async (t) => {
  const r = await runFleetkit(['start', 'web.service', '--systemd', '--user'], { env: { DBUS_SESSION_BUS_ADDRESS: address } });
  t.equal(r.code, 1);
  t.match(r.stdout, /web.service\s+-\s+-/);
  t.match(r.stderr, 'web.service: systemd refused to start web.service: permission denied');
  t.notMatch(r.stderr, /org\.freedesktop|Rejected send message/, 'no D-Bus error names or raw text');
  t.same(calls, [], 'the denied call never reached the name owner, and nothing subscribed');
});
