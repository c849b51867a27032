/**
 * `npm run image` as the tests run it: scripts/image.mjs against a test engine (DOCKER_HOST), from the
 * dist/fleetkit.cjs that `npm run build` made (`--no-bundle`: other test files read dist/ meanwhile).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DockerPart } from '../env/parts.js';
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

/** Builds the image into `docker`'s engine. */
export async function buildImage(docker: DockerPart): Promise<ImageBuild> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'scripts/image.mjs'), '--no-bundle'], {
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
