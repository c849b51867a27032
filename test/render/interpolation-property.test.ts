/**
 * Property: a value that interpolation puts into a service's environment reaches the container byte for byte.
 * Random values (with `$`, `%`, quotes, backslashes, newlines, tabs, `;`, `#`, `{}` and non-ASCII text) come
 * from the shell's environment and from an env_file, go through `${VAR}` substitution, the renderer's quoting
 * for systemd, and are read back from ExecStart by systemd's rules (src/unit/parse-command-line.ts); a few
 * run for real on the test environment's systemd and dockerd and are checked with `docker inspect`. Only a
 * NUL character may be refused, with a located message.
 */
import t from 'tap';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseCluster } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';
import { valuesOf } from '../../src/unit/model.js';
import { SpecError } from '../../src/errors.js';
import { prng } from '../support/prng.js';
import { dockerPart, systemdPart, waitFor } from '../env/parts.js';

const POOL = ['$', '$$', '${', '}', '%', '%i', '"', "'", '\\', '\\n', '\n', '\t', ' ', ';', '#', '=', ':-', 'é', '漢', '😀', '\u00a0', 'a', 'Z', '0', '_', '-', '/', '`'];

function randomValue(next: () => number): string {
  const len = Math.floor(next() * 12);
  let s = '';
  for (let i = 0; i < len; i++) s += POOL[Math.floor(next() * POOL.length)];
  return s;
}

/** The `-e NAME=value` words of a rendered ExecStart, read back as systemd reads them. */
function envWords(execStart: string): Map<string, string> {
  const { argv } = parseExecLine(execStart, { specifiers: { i: '1', n: 'web@1.service', p: 'web', N: 'web@1' } });
  const out = new Map<string, string>();
  argv.forEach((w, i) => {
    if (argv[i - 1] !== '-e') return;
    const eq = w.indexOf('=');
    out.set(w.slice(0, eq), w.slice(eq + 1));
  });
  return out;
}

function specFor(service: string, image = 'local/busybox:latest', docker = '/usr/bin/docker'): string {
  return [
    'name: prop',
    // No containers' hosts file: no watcher runs here, and the values, not names, are under test.
    `x-fleetkit: { runtime: { docker: ${docker} }, hosts: { containers: false } }`,
    'services:',
    `  ${service}:`,
    `    image: ${image}`,
    '    command: ["/bin/sleep", "1000"]',
    '    environment:',
    '      FROM_SHELL: "${V}"',
    '      AROUND: "<${V}>${W:-}"',
    '      DEFAULTED: "${UNSET:-$V}"',
    '    env_file: ./prop.env',
    '',
  ].join('\n');
}

/**
 * What the env_file holds: the value in single quotes, which a .env file takes as written; a value that
 * holds a `'` or ends in `\` (which would escape the closing quote) cannot be written so and is left out.
 */
const envFileOf = (value: string): string | undefined => (value.includes("'") || value.endsWith('\\') ? undefined : `FROM_FILE='${value}'\n`);

function render(service: string, value: string, other: string, docker?: string) {
  const envFile = envFileOf(value) ?? '';
  const parsed = parseCluster(specFor(service, undefined, docker), 'compose.yaml', { env: { V: value, W: other }, readEnvFile: () => envFile });
  const unit = renderCluster(parsed.spec).files.find((f) => f.name === `${service}@.service`);
  const execStart = unit ? valuesOf(unit.unit, 'Service', 'ExecStart')[0] : undefined;
  return { execStart: execStart ?? '', text: unit?.text ?? '', hasFile: envFile !== '' };
}

t.test('random values reach the -e words byte for byte (systemd quoting read back)', async (t) => {
  const next = prng(0x15a);
  let checked = 0;
  for (let i = 0; i < 400; i++) {
    const value = randomValue(next);
    const other = randomValue(next);
    const { execStart, hasFile } = render('web', value, other);
    const env = envWords(execStart);
    const want: Record<string, string> = { FROM_SHELL: value, AROUND: `<${value}>${other}`, DEFAULTED: value === '' ? '' : value, ...(hasFile ? { FROM_FILE: value } : {}) };
    for (const [k, v] of Object.entries(want)) {
      if (env.get(k) !== v) t.fail(`${k}: ${JSON.stringify(v)} came back as ${JSON.stringify(env.get(k))} from ${execStart}`);
      else checked++;
    }
  }
  t.ok(checked > 1400, `${checked} values compared`);
});

t.test('a NUL character is refused, located at the value', async (t) => {
  const err = t.throws(() => parseCluster(specFor('web'), 'compose.yaml', { env: { V: 'a\0b' }, readEnvFile: () => '' })) as SpecError;
  t.ok(err instanceof SpecError);
  t.match(err.format(), /^compose\.yaml:8:19: services\.web\.environment\.FROM_SHELL: the value of FROM_SHELL contains a NUL character/m);
  const fromFile = t.throws(() => parseCluster(specFor('web'), 'compose.yaml', { env: { V: 'ok' }, readEnvFile: () => 'FROM_FILE="a\\0000b"\n' })) as SpecError;
  t.match(fromFile.format(), /services\.web\.environment\.FROM_FILE: the value of FROM_FILE contains a NUL character/);
});

/** The docker CLI on PATH (the units run it by its absolute path). */
function dockerBinary(): string {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(d, 'docker'), constants.X_OK);
      return join(d, 'docker');
    } catch {
      // not here
    }
  }
  throw new Error('no docker CLI on PATH');
}

t.test('on the real systemd and dockerd: docker inspect shows the values', async (t) => {
  const sd = await systemdPart(t);
  const engine = await dockerPart(t);
  const docker = dockerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'fleetkit-interp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const next = prng(0x15b);
  // Five random values plus one that holds every troublesome character at once.
  const values = [...Array.from({ length: 5 }, () => randomValue(next)), '$HOME %i "q" \'s\' \\ \\n\n\ttab ; # ${X} 漢😀'];
  for (const [i, value] of values.entries()) {
    const service = `interp${process.pid}x${i}`;
    const { execStart, text: unitText } = render(service, value, '', docker);
    t.ok(execStart.includes('-e'), 'rendered');
    writeFileSync(join(sd.unitDir, `${service}@.service`), unitText);
    t.teardown(async () => {
      await sd.systemctl(['stop', `${service}@1.service`]);
      rmSync(join(sd.unitDir, `${service}@.service`), { force: true });
    });
    t.equal((await sd.systemctl(['daemon-reload'])).code, 0);
    const started = await sd.systemctl(['start', `${service}@1.service`]);
    t.equal(started.code, 0, `started: ${started.stderr}`);
    let env: string[] = [];
    await waitFor(
      async () => {
        const r = await engine.docker(['inspect', '-f', '{{json .Config.Env}}', `${service}-1`]);
        if (r.code !== 0) return false;
        env = JSON.parse(r.stdout) as string[];
        return true;
      },
      { what: `container ${service}-1`, timeoutMs: 60_000 },
    );
    const got = Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    t.equal(got.FROM_SHELL, value, `FROM_SHELL ${JSON.stringify(value)}`);
    t.equal(got.AROUND, `<${value}>`, 'AROUND');
    t.equal(got.DEFAULTED, value, 'DEFAULTED');
    if (envFileOf(value) !== undefined) t.equal(got.FROM_FILE, value, 'FROM_FILE (env_file)');
  }
});
