/**
 * The CLI's conventions, on the built binaries where a process matters: `help CMD` is `CMD --help`,
 * versions, shell completions run in the real shells, an error's prefix once, `<3>` only when stderr is
 * journald's stream (checked on the real journald of the test systemd and with a redirected stderr),
 * failures as JSON under --json, NO_COLOR, and old flags kept (`--no-block` for `--no-wait`).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from '../../src/cli/commands.js';
import { resolveAliases } from '../../src/cli/args.js';
import { optionsInHelp } from '../../src/cli/completion.js';
import { runCommand } from '../env/part-runtime.js';
import { systemdPart, waitFor } from '../env/parts.js';
import { runFleetkit } from './load-io.js';
import { startFleetkit } from '../ops/stream-io.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FLEETKIT = join(ROOT, 'bin/fleetkit.cjs');
const dir = await mkdtemp(join(tmpdir(), 'fk-conv-'));
const env = { PATH: process.env['PATH'] };

/** Runs a built binary; stderr goes to `stderrFile` when given (a redirected stderr). */
async function bin(file: string, args: readonly string[], o: { env?: Record<string, string>; stderrFile?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const errFile = o.stderrFile ? await open(o.stderrFile, 'w') : undefined;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { env: { PATH: process.env['PATH'] ?? '', ...o.env }, stdio: ['ignore', 'pipe', errFile ? errFile.fd : 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', async (code) => {
      await errFile?.close();
      resolve({ code, stdout, stderr: o.stderrFile ? await readFile(o.stderrFile, 'utf8') : stderr });
    });
  });
}

t.test("'fleetkit help CMD' is 'fleetkit CMD --help', for every command", async (t) => {
  for (const name of [...Object.keys(commands), 'completion']) {
    const a = await runFleetkit(['help', name], { env });
    const b = await runFleetkit([name, '--help'], { env });
    t.equal(a.code, 0, name);
    t.same(a, b, name);
    t.match(a.stdout, new RegExp(`^usage: (fleetkit ${name}|gen-units)`), name);
  }
  const bad = await runFleetkit(['help', 'nosuch'], { env });
  t.same([bad.code, bad.stdout], [2, '']);
  t.match(bad.stderr, 'fleetkit: unknown command "nosuch"');
  t.match((await runFleetkit(['help'], { env })).stdout, /'fleetkit help COMMAND'/);
});

t.test('versions: fleetkit --version and gen-units --version', async (t) => {
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  t.same(await bin(FLEETKIT, ['--version']), { code: 0, stdout: `fleetkit ${version}\n`, stderr: '' });
  t.same(await bin(join(ROOT, 'bin/gen-units.cjs'), ['--version']), { code: 0, stdout: `gen-units (fleetkit) ${version}\n`, stderr: '' });
  t.match((await runFleetkit(['gen', '--help'], { env })).stdout, '--version');
});

t.test('bash completion, sourced in bash: commands, options, help and shells', async (t) => {
  const script = join(dir, 'fleetkit.bash');
  const r = await bin(FLEETKIT, ['completion', 'bash']);
  t.equal(r.code, 0, r.stderr);
  await writeFile(script, r.stdout);
  const complete = async (...words: string[]): Promise<string[]> => {
    const line = words.map((w) => `'${w}'`).join(' ');
    const out = await runCommand('bash', ['-c', `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _fleetkit; printf '%s\\n' "\${COMPREPLY[@]}"; complete -p fleetkit`]);
    t.equal(out.code, 0, out.stderr);
    return out.stdout.trim().split('\n');
  };
  const lo = await complete('fleetkit', 'lo');
  t.same(lo.slice(0, -1), ['load', 'logs']);
  t.equal(lo.at(-1), 'complete -o default -F _fleetkit fleetkit', 'registered for fleetkit, files as the default');
  t.same((await complete('fleetkit', 'logs', '--fo')).slice(0, -1), ['--follow']);
  t.same((await complete('fleetkit', 'events', '--no-')).slice(0, -1), ['--no-announcements']);
  t.same((await complete('fleetkit', 'start', '--no-w')).slice(0, -1), ['--no-wait']);
  t.same((await complete('fleetkit', 'help', 'ev')).slice(0, -1), ['events']);
  t.same((await complete('fleetkit', 'completion', 'f')).slice(0, -1), ['fish']);
  t.same((await complete('fleetkit', 'logs', 'cl')).slice(0, -1), [], 'a word without a dash: the default (file) completion');
});

t.test('zsh and fish completion scripts: valid in their shells; fish completes them', async (t) => {
  const zsh = join(dir, '_fleetkit');
  await writeFile(zsh, (await bin(FLEETKIT, ['completion', 'zsh'])).stdout);
  const zn = await runCommand('zsh', ['-n', zsh]);
  t.equal(zn.code, 0, `zsh -n: ${zn.stderr}`);
  t.match(await readFile(zsh, 'utf8'), /^#compdef fleetkit\n/);
  const fish = join(dir, 'fleetkit.fish');
  await writeFile(fish, (await bin(FLEETKIT, ['completion', 'fish'])).stdout);
  const fc = await runCommand('fish', ['-c', `source '${fish}'; complete -C 'fleetkit lo'; echo ---; complete -C 'fleetkit logs --fo'`]);
  t.equal(fc.code, 0, fc.stderr);
  const [cmds, opts] = fc.stdout.split('---\n');
  t.same(cmds!.trim().split('\n').map((l) => l.split('\t')[0]), ['load', 'logs']);
  t.same(opts!.trim().split('\n').map((l) => l.split('\t')[0]), ['--follow']);
  const bad = await runFleetkit(['completion', 'tcsh'], { env });
  t.equal(bad.code, 2);
  t.match(bad.stderr, 'fleetkit completion: completion takes one shell: bash, zsh, fish');
});

t.test('options in help: indented option lines only', async (t) => {
  t.same(optionsInHelp('usage: x --not-this\n  -f, --follow   keep going\n  --since T      from -1h, not --a-flag-in-prose\n  see --help'), ['-f', '--follow', '--since']);
});

t.test("an error's prefix appears once", async (t) => {
  for (const [args, prefix] of [[['logs', '--bogus'], 'fleetkit logs'], [['gen', 'a.yaml', 'b.yaml'], 'fleetkit gen'], [['events', '--interval'], 'fleetkit events']] as const) {
    const r = await runFleetkit(args, { env });
    t.equal(r.code, 2, args.join(' '));
    t.ok(r.stderr.startsWith(`${prefix}: `), r.stderr);
    t.equal(r.stderr.split(`${prefix}:`).length, 2, `"${prefix}:" once in: ${r.stderr}`);
  }
  const g = await bin(join(ROOT, 'bin/gen-units.cjs'), ['a.yaml', 'b.yaml']);
  t.equal(g.stderr, "gen-units: one spec file at most, got 2\n  hint: run 'gen-units --help'\n");
});

t.test('<3> only when stderr is the journal stream, never in front of a redirected error', async (t) => {
  const file = join(dir, 'stderr.txt');
  const args = ['logs', '--bogus'];
  const plain = await bin(FLEETKIT, args, { stderrFile: file });
  t.equal(plain.stderr, "fleetkit logs: Unknown option '--bogus'\n  hint: run 'fleetkit logs --help' for the options\n");
  // JOURNAL_STREAM inherited from a unit whose stderr was then redirected: it names another stream.
  const redirected = await bin(FLEETKIT, args, { stderrFile: file, env: { JOURNAL_STREAM: '8:12345' } });
  t.equal(redirected.stderr, plain.stderr, 'a redirected error stays plain');
  // JOURNAL_STREAM naming this very stream (dev:ino of the file standing in for journald's socket).
  const st = statSync(file);
  const journal = await bin(FLEETKIT, args, { stderrFile: file, env: { JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
  t.equal(journal.stderr, "<3>fleetkit logs: Unknown option '--bogus'\n<3>  hint: run 'fleetkit logs --help' for the options\n");
});

t.test('under the real journald: the error is filed at priority 3, without the prefix in the text', async (t) => {
  const sd = await systemdPart(t);
  const unit = `fkconv${process.pid}.service`;
  const run = await runCommand('systemd-run', ['--user', '--unit', unit, '--quiet', '--', process.execPath, FLEETKIT, 'logs', '--bogus'], sd.env);
  t.equal(run.code, 0, run.stderr);
  let entries: { MESSAGE: string; PRIORITY: string }[] = [];
  await waitFor(async () => {
    const j = await runCommand('journalctl', ['-D', sd.journalDir, '--user-unit', unit, '-o', 'json', '--no-pager', '-q']);
    entries = j.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { MESSAGE: string; PRIORITY: string }).filter((e) => /^(fleetkit logs|  hint)/.test(e.MESSAGE));
    return entries.length >= 2;
  }, { what: 'the error in the journal' });
  t.same(entries.map((e) => [e.PRIORITY, e.MESSAGE]), [['3', "fleetkit logs: Unknown option '--bogus'"], ['3', "  hint: run 'fleetkit logs --help' for the options"]]);
});

t.test('--json: a failure is one JSON object on stdout, for every command that takes --json', async (t) => {
  for (const [name, c] of Object.entries(commands)) {
    if (!c.json) continue;
    const r = await runFleetkit([name, '--json', '--bogus'], { env });
    t.equal(r.code, 2, name);
    t.equal(r.stderr, '', name);
    t.same(JSON.parse(r.stdout), { code: 'ERR_USAGE', message: "Unknown option '--bogus'", hint: `run 'fleetkit ${name} --help' for the options` }, name);
  }
  const ev = await runFleetkit(['events', '--json', '--no-announcements', '--endpoint', `unix://${dir}/no-fleet.sock`], { env });
  t.equal(ev.code, 1);
  t.match(JSON.parse(ev.stdout), { code: 'ERR_SOURCE_UNREACHABLE', message: /^fleet at unix:.*: no such socket; / });
  await writeFile(join(dir, 'bad.yaml'), 'services:\n  web:\n    image: 5\n    bogus: 1\n');
  const spec = await runFleetkit(['load', '--json', '--systemd', join(dir, 'bad.yaml')], { env, cwd: dir });
  t.equal(spec.code, 2);
  const body = JSON.parse(spec.stdout) as { code: string; message: string; hint: string; problems: { line: number; col: number; path: string; message: string }[] };
  t.equal(body.code, 'ERR_SPEC');
  t.match(body.message, /^\/.*bad\.yaml:3:12: services\.web\.image: .+ \(and 1 more\)$/, 'the first problem, located, on one line');
  t.notMatch(body.message, /\n/);
  // Both problems, in line order (the cluster's name comes from the directory, as in Compose: no problem there).
  t.match(body.problems, [{ line: 3, col: 12, path: 'services.web.image' }, { line: 4, col: 5, path: 'services.web.bogus', message: 'unknown key "bogus"' }]);
  t.equal(body.problems.length, 2);
  const text = await runFleetkit(['events', '--no-announcements', '--endpoint', `unix://${dir}/no-fleet.sock`], { env });
  t.equal(text.stdout, '', 'without --json the failure stays text on stderr');
  t.match(text.stderr, /^fleetkit events: fleet at unix:/);
});

t.test('NO_COLOR: no colour on a terminal when it is set (and not empty)', async (t) => {
  const sd = await systemdPart(t);
  const unit = `fkcolor${process.pid}`;
  await writeFile(join(sd.unitDir, `${unit}.service`), '[Service]\nType=oneshot\nExecStart=/bin/sh -c \'echo "<3>it broke"; sleep 0.2\'\n');
  await sd.systemctl(['daemon-reload']);
  await sd.systemctl(['start', `${unit}.service`]);
  await waitFor(async () => (await sd.journalLines(`${unit}.service`)).includes('it broke'), { what: 'the error line' });
  const logs = async (extra: Record<string, string>): Promise<string> => {
    const run = startFleetkit(['logs', `${unit}.service`, '--systemd', '--user', '-D', sd.journalDir, '-o', 'cat', '-p', 'err'], { env: { ...env, ...sd.env, ...extra }, tty: true });
    t.equal(await run.done, 0, run.stderr());
    return run.lines.join('\n');
  };
  t.equal(await logs({}), '\x1b[31mit broke\x1b[0m', 'an error line red on a terminal');
  t.equal(await logs({ NO_COLOR: '1' }), 'it broke', 'NO_COLOR=1: plain');
  t.equal(await logs({ NO_COLOR: '' }), '\x1b[31mit broke\x1b[0m', 'an empty NO_COLOR is unset (no-color.org)');
  t.equal(await logs({ TERM: 'dumb' }), 'it broke');
});

t.test('old flags keep working; --no-block is --no-wait', async (t) => {
  const spec = { 'no-wait': { type: 'boolean' as const }, wait: { type: 'boolean' as const } };
  t.same(resolveAliases(['--no-block', 'x', '--', '--no-block'], spec), ['--no-wait', 'x', '--', '--no-block'], 'after -- it is an argument');
  t.same(resolveAliases(['--no-block'], { other: { type: 'boolean' } }), ['--no-block'], 'only for commands that have --no-wait');
  for (const verb of ['load', 'start', 'stop', 'unload', 'destroy']) {
    const both = await runFleetkit([verb, '--no-block', '--wait', '--systemd'], { env });
    t.equal(both.code, 2, verb);
    t.match(both.stderr, /--wait and --no-(wait|block) contradict each other/, `${verb}: --no-block is read as --no-wait`);
  }
});
