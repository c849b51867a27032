/**
 * `fleetkit logs` against the real systemd + journald of the test environment: the lines units really
 * wrote, a service merged over its instances in time order with instance prefixes, `-f` following new
 * lines, journalctl's flags checked against journalctl itself, a destroyed unit's lines, a closed pipe
 * through a real shell, the local/remote decision through the fleet test server, and failures as sentences.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetClient } from '../../src/fleet/fleet-client.js';
import { parseFleetEndpoint } from '../../src/fleet/endpoint.js';
import { freePort, systemdPart, waitFor } from '../env/parts.js';
import { runCommand } from '../env/part-runtime.js';
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
  '[Service]\nExecStart=/bin/sh -c \'echo "%i first"; echo "<3>%i bad"; echo "<4>%i warn"; exec sleep 1000\'\nExecReload=/bin/sh -c \'echo "%i reload"; sleep 0.2\'\n');
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
  const r = await runFleetkit(['logs', SAY, ...local, '-o', 'cat', '-n', 'all'], { env });
  t.equal(r.code, 0, r.stderr);
  t.same(own(r.stdout), [`${SAY}@1 | 1 first`, `${SAY}@2 | 2 first`, `${SAY}@1 | 1 reload`, `${SAY}@2 | 2 reload`]);
  const all = r.stdout.split('\n').filter(Boolean);
  t.equal(all.at(-1), `${SAY}@2 | Reloaded ${SAY}@2.service.`, 'the newest line comes last');
  const last2 = await runFleetkit(['logs', SAY, ...local, '-o', 'cat', '-n', '2'], { env });
  t.same(last2.stdout.split('\n').filter(Boolean), all.slice(-2), '-n counts merged lines, across instances');
});

t.test('-f prints the backlog, then new lines of every instance as they are written', async (t) => {
  const run = startFleetkit(['logs', SAY, ...local, '-o', 'cat', '-n', 'all', '-f'], { env });
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
  t.equal(unknown.stderr, 'fleetkit logs: fleet lists no unit matching "nosuch", and this machine\'s journal has no lines of one\n  hint: \'fleetkit status\' lists the units; give a unit (web@2.service), an instance (web@2), a service (web) or a glob ("web@*")\n');

  // Destroyed in fleet: fleet no longer lists it, and the journal of the machine it ran on (this one) still has its lines.
  await fleet.deleteUnit(`${SAY}@1.service`);
  const gone = await runFleetkit(['logs', `${SAY}@1`, ...common], { env });
  t.equal(gone.code, 0, gone.stderr);
  t.same(own(gone.stdout).slice(0, 2), ['1 first', '1 reload'], 'a unit fleet no longer lists is read from this host');
});

t.test('bad input and missing tools read as plain sentences', async (t) => {
  const unknown = await runFleetkit(['logs', `${P}-nosuch@1`, ...local], { env });
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, `fleetkit logs: this machine's journal has no lines of any unit matching "${P}-nosuch@1"\n`);
  const noGlob = await runFleetkit(['logs', `${P}-nosuch@*`, ...local], { env });
  t.equal(noGlob.code, 2, 'a glob no unit matches (journalctl refuses it with ENODATA) is the same mistake');
  t.match(noGlob.stderr, `has no lines of any unit matching "${P}-nosuch@*"`);

  const empty = await mkdtemp(join(tmpdir(), 'fk-empty-path-'));
  const noJournalctl = await runFleetkit(['logs', `${SAY}@1`, ...local], { env: { ...env, PATH: empty } });
  t.equal(noJournalctl.code, 1);
  t.equal(noJournalctl.stderr.split('\n')[0], `fleetkit logs: cannot read the journal of ${SAY}@1.service: journalctl is not installed here (not found on PATH)`);

  const badLines = await runFleetkit(['logs', SAY, ...local, '-n', 'many'], { env });
  t.equal(badLines.code, 2);
  t.match(badLines.stderr, '--lines must be a whole number ≥ 0 or "all", not "many"');
  const badOutput = await runFleetkit(['logs', SAY, ...local, '-o', 'xml'], { env });
  t.match(badOutput.stderr, '-o must be one of short, short-iso, cat, json, not "xml"');
  const badTime = await runFleetkit(['logs', SAY, ...local, '-S', 'an hour'], { env });
  t.equal(badTime.code, 2);
  t.match(badTime.stderr, /^fleetkit logs: "an hour" is not a time journalctl understands\n  hint: give a time as systemd.time\(7\) reads it/);
  const backwards = await runFleetkit(['logs', SAY, ...local, '-S', 'today', '-U', 'yesterday'], { env });
  t.equal(backwards.code, 2);
  t.match(backwards.stderr, '--since is after --until');
  const badPriority = await runFleetkit(['logs', SAY, ...local, '-p', 'warn'], { env });
  t.equal(badPriority.code, 2);
  t.match(badPriority.stderr, '-p "warn" is not a priority');
  const both = await runFleetkit(['logs', SAY, ...local, '-f', '-r'], { env });
  t.equal(both.code, 2);
  t.match(both.stderr, '-f and -r cannot be used together');
});

/** journalctl's own output for the same query, the referee for fleetkit's formats. */
async function journalctl(args: readonly string[]): Promise<string> {
  const r = await runCommand('journalctl', ['-D', sd.journalDir, '--no-pager', '-q', ...args]);
  if (r.code !== 0) throw new Error(`journalctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

t.test('short and short-iso lines are the ones journalctl prints', async (t) => {
  for (const o of ['short', 'short-iso', 'cat']) {
    const ours = await runFleetkit(['logs', `${SAY}@2`, ...local, '-o', o, '-n', 'all'], { env });
    t.equal(ours.code, 0, ours.stderr);
    t.equal(ours.stdout, await journalctl(['--user-unit', `${SAY}@2.service`, '-o', o, '-n', 'all']), `-o ${o}`);
  }
});

t.test('-p: levels by name and number, and ranges, as journalctl selects them', async (t) => {
  await journalHas(`${SAY}@1.service`, '1 warn');
  const cat = async (...args: string[]): Promise<string[]> => {
    const r = await runFleetkit(['logs', `${SAY}@1`, ...local, '-o', 'cat', '-n', 'all', ...args], { env });
    t.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  t.same(await cat('-p', 'err'), ['1 bad'], 'err and more important');
  t.same(await cat('-p', '3'), ['1 bad']);
  t.same(await cat('--priority', 'warning'), ['1 bad', '1 warn']);
  t.same(await cat('-p', 'warning..warning'), ['1 warn'], 'a range of one');
  t.same(await cat('-p', '4..0'), ['1 bad', '1 warn'], 'a range either way round');
  t.ok((await cat('-p', 'info')).includes('1 first'));
  t.notOk((await cat('-p', 'notice')).includes('1 first'), 'info lines are below notice');
});

t.test('-S/-U: relative and absolute times as systemd.time(7) reads them', async (t) => {
  const entries = (await runFleetkit(['logs', `${SAY}@1`, ...local, '-o', 'json', '-n', 'all'], { env })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { message: string; timestampUs: string });
  const first = entries.find((e) => e.message === '1 first')!;
  const reload = entries.find((e) => e.message === '1 reload')!;
  t.ok(Number(reload.timestampUs) > Number(first.timestampUs));
  // journalctl reads a local time with microseconds: "2026-05-01 10:00:00.123456".
  const stamp = (us: number): string => {
    const d = new Date(Math.floor(us / 1000));
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(us % 1_000_000, 6)}`;
  };
  const own1 = async (...args: string[]): Promise<string[]> => {
    const r = await runFleetkit(['logs', `${SAY}@1`, ...local1, '-o', 'cat', ...args], { env });
    t.equal(r.code, 0, r.stderr);
    return own(r.stdout);
  };
  const local1 = ['--systemd', '--user', '--journal-dir', sd.journalDir];
  const T = Number(reload.timestampUs);
  const ownOf = (keep: (us: number) => boolean): string[] => own(entries.filter((e) => keep(Number(e.timestampUs))).map((e) => e.message).join('\n'));
  t.same(await own1('-S', stamp(T)), ownOf((us) => us >= T), 'since an absolute time');
  t.same(await own1('-U', stamp(T - 1), '-n', 'all'), ownOf((us) => us < T), 'until an absolute time');
  t.same(ownOf((us) => us < T), ['1 first']);
  // A window that ends before this unit's first line: the unit may log again (a second reload) at any time
  // after its first lines, so only the time before them is certainly empty.
  const firstS = Math.floor(Number(first.timestampUs) / 1e6);
  t.same(await own1('-S', `@${firstS - 3}`, '-U', `@${firstS - 1}`), [], 'an empty window prints nothing');
  for (const since of ['-1h', '1 hour ago', 'today', 'yesterday']) {
    t.same((await own1('--since', since)).slice(0, 2), ['1 first', '1 reload'], `--since ${since}`);
  }
  for (const until of ['-1h', '1 hour ago', 'yesterday']) t.same(await own1('--until', until), [], `--until ${until}: nothing this test wrote`);
  const empty = await runFleetkit(['logs', `${SAY}@1`, ...local1, '-U', 'yesterday'], { env });
  t.same([empty.code, empty.stdout, empty.stderr], [0, '', ''], 'filters that leave nothing: no output and success, as journalctl');
});

t.test('-r, -n all, -u and globs', async (t) => {
  const lines = async (...args: string[]): Promise<string[]> => {
    const r = await runFleetkit(['logs', ...args, ...local, '-o', 'cat'], { env });
    t.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  const all = await lines(SAY, '-n', 'all');
  t.same(await lines(SAY, '-n', 'all', '-r'), [...all].reverse(), '-r: newest first');
  t.same(await lines(SAY, '-r', '-n', '2'), all.slice(-2).reverse(), '-r -n 2: the newest two, newest first');
  t.same(await lines(`${SAY}@*`, '-n', 'all'), all, 'a glob selects what the service name does here');
  t.same(await lines('-u', `${SAY}@1`, '--unit', `${SAY}@2.service`, '-n', 'all', '--no-pager'), all, '-u, repeated');
  t.ok(all.length > 10, 'more than the default 10');
  t.equal((await lines(SAY)).length, 10, 'the default is the newest 10, as fleetctl journal');
});

t.test('a destroyed unit: its unit file gone, its lines still shown', async (t) => {
  const GONE = `${P}-gone`;
  const file = join(sd.unitDir, `${GONE}.service`);
  await writeFile(file, '[Service]\nType=oneshot\nExecStart=/bin/sh -c \'echo "last words"; sleep 0.2\'\n');
  await sd.systemctl(['daemon-reload']);
  await sd.systemctl(['start', `${GONE}.service`]);
  await journalHas(`${GONE}.service`, 'last words');
  await rm(file);
  await sd.systemctl(['daemon-reload']);
  const shown = await sd.systemctl(['show', '-p', 'LoadState', `${GONE}.service`]);
  t.equal(shown.stdout.trim(), 'LoadState=not-found', 'systemd no longer knows the unit');
  const r = await runFleetkit(['logs', GONE, ...local, '-o', 'cat'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^${GONE} \\| last words$`, 'm'), 'a service name: lines prefixed with the unit');
});

const BIN = fileURLToPath(new URL('../../bin/fleetkit.cjs', import.meta.url));

/** Runs a bash pipeline; resolves with its exit status (pipefail: the first failing command's), stdout and stderr. */
function pipeline(script: string, onStdout?: (soFar: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -o pipefail; ${script}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      onStdout?.(stdout);
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('a closed pipe: `logs … | head -1` exits 0 with nothing on stderr', async (t) => {
  const LOUD = `${P}-loud`;
  // 3,000 lines of 80 bytes: far more than a pipe holds, so fleetkit is still writing when head exits.
  await writeFile(join(sd.unitDir, `${LOUD}.service`), `[Service]\nType=oneshot\nExecStart=/bin/sh -c 'i=0; while [ $i -lt 3000 ]; do echo "line $i ${'x'.repeat(64)}"; i=$((i+1)); done; sleep 0.2'\n`);
  await sd.systemctl(['daemon-reload']);
  await sd.systemctl(['start', `${LOUD}.service`]);
  await waitFor(async () => (await sd.journalLines(`${LOUD}.service`, 5)).some((l) => l.startsWith('line 2999 ')), { what: 'the last loud line' });
  const args = ['logs', `${LOUD}.service`, ...local, '-n', 'all'].map((a) => `'${a}'`).join(' ');
  const r = await pipeline(`node ${BIN} ${args} | head -1`);
  t.same(r, { code: 0, stdout: `${(await journalctl(['--user-unit', `${LOUD}.service`, '-n', 'all'])).split('\n')[0]}\n`, stderr: '' });

  // Following: head leaves after the first line; the next line fleetkit writes meets the closed pipe.
  const newest = (await journalctl(['--user-unit', `${SAY}@1.service`, '-o', 'cat', '-n', '1'])).trim();
  let reloaded = false;
  const followed = await pipeline(`node ${BIN} 'logs' '${SAY}@1' ${local.map((a) => `'${a}'`).join(' ')} -o cat -n 1 -f | head -1`, (soFar) => {
    if (!reloaded && soFar.includes('\n')) {
      reloaded = true;
      void sd.systemctl(['reload', `${SAY}@1.service`]);
    }
  });
  t.same(followed, { code: 0, stdout: `${newest}\n`, stderr: '' }, '-f ends quietly at the first write after head left');
});

t.test('fleet unreachable: a silent fleet and a closed port end within --timeout in one line', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s)); // accepts, never answers
  const port = await freePort();
  await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const check = "is fleetd running there\\? check --endpoint or FLEETCTL_ENDPOINT \\(--systemd reads this machine's journal without fleet\\)";
  const hung = await runFleetkit(['logs', SAY, '--endpoint', `http://127.0.0.1:${port}`, '--timeout', '1s'], { env });
  t.equal(hung.code, 1);
  t.match(hung.stderr, new RegExp(`^fleetkit logs: fleet at http://127\\.0\\.0\\.1:${port}/?: no answer within 1000 ms; ${check}\\n$`));
  const closed = await freePort();
  const refused = await runFleetkit(['logs', SAY, '--endpoint', `http://127.0.0.1:${closed}`], { env });
  t.equal(refused.code, 1);
  t.match(refused.stderr, new RegExp(`^fleetkit logs: fleet at http://127\\.0\\.0\\.1:${closed}/?: connection refused; ${check}\\n$`));
});
