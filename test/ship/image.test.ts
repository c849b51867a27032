/**
 * The image `npm run image` builds without a registry, on the real dockerd of the test environment: its
 * entrypoint, its files, `docker run IMAGE --version`, the `fleetkit` command the sidekick execs; and
 * image/Dockerfile (which needs a registry and so cannot be built here) checked against it line by line.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dockerPart } from '../env/parts.js';
import { IMAGE, ensureImage } from './image-build.js';
import { ROOT, VERSION } from './standalone.js';

// Pinned: the units render `docker run … IMAGE ARGS` and `docker exec CONTAINER fleetkit ARGS`.
const ENTRYPOINT = ['/usr/bin/node', '/usr/lib/fleetkit/fleetkit.cjs'];
const ENV_PATH = 'PATH=/usr/bin:/bin';

interface ImageConfig {
  Entrypoint: string[] | null;
  Cmd: string[] | null;
  Env: string[] | null;
  WorkingDir: string;
}

const docker = await dockerPart(t);
// The run's one build (this file's, or another's that needed the image first), in the shared engine.
const { build: built, how } = await ensureImage(docker);
const inspect = await docker.docker(['image', 'inspect', '--format', '{{json .Config}} {{.Size}}', IMAGE]);
const [configJson = '{}', sizeText = '0'] = inspect.stdout.trim().split(' ');
const config = JSON.parse(configJson) as ImageConfig;
const size = Number(sizeText);

t.test(`npm run image builds ${IMAGE} offline`, async (t) => {
  t.equal(built.code, 0, `scripts/image.mjs exits 0: ${built.stderr.trim()}`);
  t.equal(built.stdout, `${IMAGE}\n`, 'prints the tag');
  t.equal(inspect.code, 0, inspect.stderr);
  t.strictSame(config.Entrypoint, ENTRYPOINT);
  t.equal(config.Cmd ?? null, null, 'no CMD: arguments go straight to fleetkit');
  t.strictSame(config.Env, [ENV_PATH]);
  t.equal(config.WorkingDir, '/');
  // node itself is ~99 MB; everything else (libraries, /etc, the bundle) must stay a few MB.
  const node = statSync(process.execPath).size;
  t.ok(size < node + 12e6, `image ${(size / 1e6).toFixed(1)} MB = node ${(node / 1e6).toFixed(1)} MB + ${((size - node) / 1e6).toFixed(1)} MB`);
  t.comment(`image ${IMAGE}: ${(size / 1e6).toFixed(1)} MB, built in ${built.ms} ms (${built.stderr.trim()}); in this engine: ${how}`);
});

t.test('docker run IMAGE --version, and the fleetkit command on PATH', async (t) => {
  const run = await docker.docker(['run', '--rm', '--net=host', IMAGE, '--version']);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, `fleetkit ${VERSION}\n`);
  const viaPath = await docker.docker(['run', '--rm', '--net=host', '--entrypoint', 'fleetkit', IMAGE, '--version']);
  t.equal(viaPath.code, 0, viaPath.stderr);
  t.equal(viaPath.stdout, `fleetkit ${VERSION}\n`, 'image/fleetkit runs by its #! line, no shell');
  const bad = await docker.docker(['run', '--rm', '--net=host', IMAGE, 'gen', '/nonexistent.yaml', '--stdout']);
  t.equal(bad.code, 2, 'exit codes pass through');
  t.match(bad.stderr, '/nonexistent.yaml');
});

t.test('the sidekick\'s command uses the code cache made at build time (V8 accepts it)', async (t) => {
  const created = await docker.docker(['create', '--net=host', '--entrypoint', 'fleetkit', IMAGE, 'announce', '--help']);
  t.equal(created.code, 0, created.stderr);
  const id = created.stdout.trim();
  t.teardown(async () => void (await docker.docker(['rm', id])));
  const ran = await docker.docker(['start', '-a', id]);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, /^usage: fleetkit announce/);
  // A rejected or missing cache is rewritten after the run, which would show as a changed file.
  const diff = await docker.docker(['diff', id]);
  t.notMatch(diff.stdout, 'fleetkit.cjs.cache', `no cache rewritten in the container (docker diff: ${JSON.stringify(diff.stdout)})`);
});

t.test('the image holds node, its libraries, a minimal /etc and fleetkit — nothing else', async (t) => {
  const created = await docker.docker(['create', IMAGE]);
  t.equal(created.code, 0, created.stderr);
  const id = created.stdout.trim();
  t.teardown(async () => void (await docker.docker(['rm', id])));
  const tar = execFileSync('sh', ['-c', 'docker export "$1" | tar -t', 'sh', id], {
    env: { ...process.env, DOCKER_HOST: docker.dockerHost },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const files = tar.split('\n').filter((f) => f && !f.endsWith('/')).map((f) => `/${f.replace(/^\.\//, '')}`);
  // docker adds these to every container.
  const docker_ = new Set(['/.dockerenv', '/etc/hostname', '/etc/mtab', '/etc/hosts', '/etc/resolv.conf', '/dev/console', '/dev/pts', '/dev/shm', '/proc', '/sys']);
  const ours = files.filter((f) => !docker_.has(f)).sort();
  const libs = ours.filter((f) => /^\/(usr\/)?lib(64)?\/.*\.so/.test(f));
  t.strictSame(ours.filter((f) => !libs.includes(f)), [
    '/etc/group', '/etc/nsswitch.conf', '/etc/passwd', '/usr/bin/fleetkit', '/usr/bin/node', '/usr/lib/fleetkit/fleetkit.cjs',
    '/usr/lib/fleetkit/fleetkit.cjs.cache',
  ]);
  t.ok(libs.some((f) => /ld-linux.*\.so/.test(f)), 'the dynamic loader');
  t.ok(libs.some((f) => /\/libc\.so/.test(f)), 'libc');
  t.ok(libs.length <= 10, `only the libraries node links (${libs.join(' ')})`);
  t.notOk(files.includes('/bin/sh'), 'no shell');
});

/** The instructions of a Dockerfile's last stage, continuation lines joined. */
function lastStage(text: string): Array<{ op: string; args: string }> {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const all = lines.map((l) => ({ op: l.split(/\s+/)[0]!.toUpperCase(), args: l.replace(/^\S+\s*/, '') }));
  const from = all.map((i) => i.op).lastIndexOf('FROM');
  return all.slice(from);
}

t.test('image/Dockerfile makes the same image (checked, not built: it needs a registry)', async (t) => {
  const file = join(ROOT, 'image/Dockerfile');
  const stage = lastStage(readFileSync(file, 'utf8'));
  const entry = stage.filter((i) => i.op === 'ENTRYPOINT');
  t.equal(entry.length, 1, 'one ENTRYPOINT');
  t.strictSame(JSON.parse(entry[0]?.args ?? 'null'), config.Entrypoint, 'ENTRYPOINT (exec form) = the imported image\'s');
  t.strictSame(stage.filter((i) => i.op === 'ENV').map((i) => i.args), config.Env, 'ENV = the imported image\'s');
  t.strictSame(stage.filter((i) => i.op === 'WORKDIR').map((i) => i.args), [config.WorkingDir]);
  t.strictSame(stage.filter((i) => i.op === 'CMD'), [], 'no CMD');

  const copies = stage.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/));
  const dest = new Map<string, string>();
  const ignore = readFileSync(join(ROOT, 'image/Dockerfile.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  for (const words of copies) {
    const flags = words.filter((w) => w.startsWith('--'));
    const [src, to] = words.filter((w) => !w.startsWith('--'));
    t.ok(src && to, `COPY ${words.join(' ')}`);
    if (!src || !to) continue;
    dest.set(to, src);
    if (flags.some((f) => f.startsWith('--from='))) continue;
    t.ok(existsSync(join(ROOT, src)), `COPY source ${src} exists after npm run build`);
    t.ok(ignore.includes(src), `${src} is in the build context (Dockerfile.dockerignore)`);
  }
  // The same three files at the same paths as scripts/image.mjs puts them.
  t.equal(dest.get('/usr/bin/node'), '/usr/local/bin/node', 'node at /usr/bin/node (from the official image)');
  t.equal(dest.get('/usr/lib/fleetkit/fleetkit.cjs'), 'dist/fleetkit.cjs');
  t.equal(dest.get('/usr/bin/fleetkit'), 'image/fleetkit');
  t.ok(statSync(join(ROOT, 'image/fleetkit')).mode & 0o111, 'image/fleetkit is executable (COPY keeps the mode)');
  const base = stage[0]?.args ?? '';
  t.match(base, /distroless\/cc-debian12|bookworm/, 'a glibc (Debian 12) base: the node binary needs it');
});
