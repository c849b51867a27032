/**
 * `npm run image` as the tests run it: scripts/image.mjs against a test engine (DOCKER_HOST), from the
 * dist/fleetkit.cjs that `npm run build` made (`--no-bundle`: other test files read dist/ meanwhile).
 *
 * Built once per run (once-per-run.ts): the first test file that needs the image builds it into its engine
 * and keeps a `docker save` archive beside the build's record; every other engine that needs it (the
 * shared one, or a test's private one) loads that archive.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DockerPart } from '../env/parts.js';
import { oncePerRun, runSharedDir } from './once-per-run.js';
import { ROOT, VERSION } from './standalone.js';

/** The tag scripts/image.mjs gives the image. */
export const IMAGE = `fleetkit:${VERSION}`;

/** What one build printed and how long it took. */
export interface ImageBuild {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Builds the image into `docker`'s engine; with `save`, also writes it there as a `docker save` archive. */
export async function buildImage(docker: DockerPart, save?: string): Promise<ImageBuild> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'scripts/image.mjs'), '--no-bundle', ...(save ? ['--save', save] : [])], {
    cwd: ROOT,
    env: { ...process.env, DOCKER_HOST: docker.dockerHost, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** The run's build of the image, and its image ID. */
interface RunImage {
  readonly build: ImageBuild;
  readonly id: string;
}

/** How the image came to be in an engine, and what the run's one build printed. */
export interface EnsuredImage {
  /** The run's build (made by this or another test file). */
  readonly build: ImageBuild;
  /** `built` here, `loaded` from the run's archive, or already `present`. */
  readonly how: 'built' | 'loaded' | 'present';
  /** How long this call took. */
  readonly ms: number;
}

async function imageId(docker: DockerPart): Promise<string> {
  const r = await docker.docker(['image', 'inspect', '--format', '{{.Id}}', IMAGE]);
  return r.code === 0 ? r.stdout.trim() : '';
}

let runImage: Promise<{ value: RunImage; made: boolean }> | undefined;
// The first call of a process that built the image reports `built`; later ones find it `present`.
let builtReported = false;

/**
 * Makes sure `docker`'s engine has IMAGE, as the run built it. A failed build is returned (`build.code`),
 * not thrown, so the test that asked reports what scripts/image.mjs printed.
 */
export async function ensureImage(docker: DockerPart): Promise<EnsuredImage> {
  const started = Date.now();
  const archive = join(await runSharedDir(), 'fleetkit-image.tar');
  runImage ??= oncePerRun<RunImage>('fleetkit-image', async () => {
    const build = await buildImage(docker, archive);
    const id = build.code === 0 ? await imageId(docker) : '';
    return { value: { build, id }, share: id !== '' };
  }, { timeoutMs: 300_000 });
  const { value, made } = await runImage;
  const done = (how: EnsuredImage['how']): EnsuredImage => ({ build: value.build, how, ms: Date.now() - started });
  if (value.build.code !== 0) return done('built');
  if ((await imageId(docker)) === value.id) {
    const how = made && !builtReported ? 'built' : 'present';
    builtReported ||= made;
    return done(how);
  }
  const load = await docker.docker(['image', 'load', '--quiet', '--input', archive]);
  if (load.code !== 0) throw new Error(`docker image load --input ${archive} failed (exit ${load.code}): ${load.stderr.trim()}`);
  const id = await imageId(docker);
  if (id !== value.id) throw new Error(`${IMAGE} loaded from ${archive} is ${id || 'missing'}, not the run's build ${value.id}`);
  return done('loaded');
}
