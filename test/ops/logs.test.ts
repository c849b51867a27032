/**
 * `fleetkit logs` against the real systemd + journald of the test environment: the lines units really
 * wrote, a service merged over its instances in time order with instance prefixes, `-f` following new
 * lines, the local/remote decision through the fleet test server, and failures as sentences.
 */
import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetClient } from '../../src/fleet/fleet-client.js';
import { parseFleetEndpoint } from '../../src/fleet/endpoint.js';
import { systemdPart, waitFor } from '../env/parts.js';
import { fleetServerPart } from '../fleet-server/server.js';
import { runFleetkit } from '../cli/load-io.js';
import { startFleetkit } from './stream-io.js';

const sd = await systemdPart(t);
const P = `fklg${process.pid}`;
const SAY = `${P}-say`;
const dir = await mkdtemp(join(tmpdir(), 'fk-logs-'));
const env = { PATH: process.env['PATH'], ...sd.env };
const local = ['--systemd', '--user', '--journal-dir', sd.journalDir];

// Each instance says "<i> first" when it starts and "<i> reload" on every reload; the short sleeps keep the
// writing process alive long enough for journald to tie its lines to the unit.
await writeFile(join(sd.unitDir, `${SAY}@.service`),
  '[Service]\nExecStart=/bin/sh -c \'echo "%i first"; exec sleep 1000\'\nExecReload=/bin/sh -c \'echo "%i reload"; sleep 0.2\'\n');
const reloaded = await sd.systemctl(['daemon-reload']);
if (reloaded.code !== 0) throw new Error(`daemon-reload failed: ${reloaded.stderr}`);

/** The lines the units' own processes wrote (the manager's "Started…" lines dropped). */
function own(out: string): string[] {
  return out.split('\n').filter((l) => /(^|\| )\d (first|reload)$/.test(l));
}

async function journalHas(unit: string, line: string, times = 1): Promise<void> {
  await waitFor(async () => (await sd.journalLines(unit)).filter((l) => l === line).length >= times, { what: `"${line}" ×${times} in the journal of ${unit}` });
}
async function act(verb: 'start' | 'reload', i: number, line: string, times = 1): Promise<void> {
  const r = await sd.systemctl([verb, `${SAY}@${i}.service`]);
  if (r.code !== 0) throw new Error(`systemctl ${verb} failed: ${r.stderr}`);
  await journalHas(`${SAY}@${i}.service`, line, times);
}
// Interleaved across the two instances: a time-ordered merge differs from one instance after the other.
await act('start', 1, '1 first');
await act('start', 2, '2 first');
await act('reload', 1, '1 reload');
await act('reload', 2, '2 reload');
t.teardown(() => sd.systemctl(['stop', `${SAY}@1.service`, `${SAY}@2.service`]));

t.test('one unit: the lines it wrote, in journalctl short, cat and json form', async (t) => {
  const cat = await runFleetkit(['logs', `${SAY}@1`, ...local, '-o', 'cat'], { env });
  t.equal(cat.code, 0, cat.stderr);
  t.same(own(cat.stdout), ['1 first', '1 reload']);
  t.match(cat.stdout, `Reloading ${SAY}@1.service...`, "the manager's lines about the unit, as journalctl shows them");
  const short = await runFleetkit(['logs', `${SAY}@1.service`, ...local], { env });
  t.match(short.stdout, /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ sh\[\d+\]: 1 first$/m);
  t.match(short.stdout, /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ sh\[\d+\]: 1 reload$/m);
  const parse = (out: string): Array<Record<string, unknown>> => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const all = parse((await runFleetkit(['logs', `${SAY}@1`, ...local, '-o', 'json', '-n', '100'], { env })).stdout);
  const json = await runFleetkit(['logs', `${SAY}@1`, ...local, '-o', 'json', '-n', '2'], { env });
  const lines = parse(json.stdout);
  // The manager's "Reloading…" and the unit's own line can carry the same instant: compare with the full
  // list rather than pin an order journald does not promise.
  t.same(lines, all.slice(-2), '-n 2 is the last two entries');
  const reload = all.find((l) => l['message'] === '1 reload')!;
  t.match(reload, { instance: `${SAY}@1`, unit: `${SAY}@1.service`, machine: null, message: '1 reload', identifier: 'sh', priority: 6 });
  t.match(all.at(-1), { message: `Reloaded ${SAY}@1.service.`, identifier: 'systemd' });
  t.match(reload['time'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.equal(Math.floor(Number(reload['timestampUs']) / 1000), Date.parse(reload['time'] as string));
});

t.test('a service merges its instances by time, each line prefixed with its instance', async (t) => {
  const r = await runFleetkit(['logs', SAY, ...local, '-o', 'cat'], { env });
  t.equal(r.code, 0, r.stderr);
  t.same(own(r.stdout), [`${SAY}@1 | 1 first`, `${SAY}@2 | 2 first`, `${SAY}@1 | 1 reload`, `${SAY}@2 | 2 reload`]);
  const all = r.stdout.split('\n').filter(Boolean);
  t.equal(all.at(-1), `${SAY}@2 | Reloaded ${SAY}@2.service.`, 'the newest line comes last');
  const last2 = await runFleetkit(['logs', SAY, ...local, '-o', 'cat', '-n', '2'], { env });
  t.same(last2.stdout.split('\n').filter(Boolean), all.slice(-2), '-n counts merged lines, across instances');
});

t.test('-f prints the backlog, then new lines of every instance as they are written', async (t) => {
  const run = startFleetkit(['logs', SAY, ...local, '-o', 'cat', '-f'], { env });
  t.teardown(() => run.stop());
  const backlog = await run.waitLine(/2 reload$/);
  await sd.systemctl(['reload', `${SAY}@1.service`]);
  const next = await run.waitLine(/ \| 1 reload$/, { from: backlog.index + 1 });
  t.equal(next.line, `${SAY}@1 | 1 reload`);
  await sd.systemctl(['reload', `${SAY}@2.service`]);
  await run.waitLine(/ \| 2 reload$/, { from: next.index + 1 });
  t.equal(await run.stop(), 0, 'ends cleanly when interrupted');
  t.same(own(run.lines.join('\n')), [
    `${SAY}@1 | 1 first`, `${SAY}@2 | 2 first`, `${SAY}@1 | 1 reload`, `${SAY}@2 | 2 reload`,
    `${SAY}@1 | 1 reload`, `${SAY}@2 | 2 reload`,
  ], 'nothing repeated, nothing skipped');
});

t.test('through fleet: the local machine reads its journal, another machine is reached over ssh', async (t) => {
  const LOCAL = 'd'.repeat(32);
  const REMOTE = 'e'.repeat(32);
  const server = await fleetServerPart(t, {
    socketPath: join(dir, 'fleet.sock'),
    machines: [{ id: LOCAL, primaryIP: '10.9.9.9' }, { id: REMOTE, primaryIP: '127.0.0.1' }],
  });
  const fleet = new FleetClient({ endpoint: parseFleetEndpoint(server.endpoint) });
  t.teardown(() => fleet.close());
  for (const [i, m] of [[1, LOCAL], [2, REMOTE]] as const) {
    await fleet.putUnit({ name: `${SAY}@${i}.service`, options: [{ section: 'Service', name: 'ExecStart', value: '/bin/true' }, { section: 'X-Fleet', name: 'MachineID', value: m }] }, 'launched');
  }
  const common = ['--endpoint', server.endpoint, '--machine-id', LOCAL, '--user', '--journal-dir', sd.journalDir, '-o', 'cat'];
  const here = await runFleetkit(['logs', `${SAY}@1`, ...common], { env });
  t.equal(here.code, 0, here.stderr);
  t.same(own(here.stdout).slice(0, 2), ['1 first', '1 reload'], 'the local journal, through fleet');

  const there = await runFleetkit(['logs', `${SAY}@2`, ...common, '--ssh-option', 'Port=1'], { env });
  t.equal(there.code, 1);
  t.match(there.stderr, /^fleetkit logs: cannot read the journal of fklg\d+-say@2\.service on core@127\.0\.0\.1: ssh failed: .*(Connection refused|port 1)/);
  t.match(there.stderr, /hint: check that sshd runs on 127\.0\.0\.1 and accepts your key for user core/);
  t.notMatch(there.stderr, /\n\s+at /, 'no stack trace');

  // A global unit has one journal per machine: the local one is read, the other one is asked over ssh.
  await fleet.putUnit({ name: `${P}-glob.service`, options: [{ section: 'Service', name: 'ExecStart', value: '/bin/true' }, { section: 'X-Fleet', name: 'Global', value: 'true' }] }, 'launched');
  const global = await runFleetkit(['logs', `${P}-glob`, ...common, '--ssh-option', 'Port=1'], { env });
  t.match(global.stderr, `cannot read the journal of ${P}-glob.service on core@127.0.0.1: ssh failed`);

  const unknown = await runFleetkit(['logs', 'nosuch', ...common], { env });
  t.equal(unknown.code, 2);
  t.equal(unknown.stderr, 'fleetkit logs: fleet has no unit or service named "nosuch"\n  hint: \'fleetkit status\' lists the units; give a unit (web@2.service, web@2) or a service name (web)\n');
});

t.test('bad input and missing tools read as plain sentences', async (t) => {
  const unknown = await runFleetkit(['logs', `${P}-nosuch@1`, ...local], { env });
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, `fleetkit logs: the user systemd has no unit or service named "${P}-nosuch@1"`);

  const empty = await mkdtemp(join(tmpdir(), 'fk-empty-path-'));
  const noJournalctl = await runFleetkit(['logs', `${SAY}@1`, ...local], { env: { ...env, PATH: empty } });
  t.equal(noJournalctl.code, 1);
  t.equal(noJournalctl.stderr.split('\n')[0], `fleetkit logs: cannot read the journal of ${SAY}@1.service: journalctl is not installed here (not found on PATH)`);

  const badLines = await runFleetkit(['logs', SAY, ...local, '-n', 'many'], { env });
  t.equal(badLines.code, 2);
  t.match(badLines.stderr, '--lines must be a whole number ≥ 0, not "many"');
  const badOutput = await runFleetkit(['logs', SAY, ...local, '-o', 'xml'], { env });
  t.match(badOutput.stderr, '-o must be one of short, json, cat, not "xml"');
});
