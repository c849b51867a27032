/**
 * Work done once per test run although every test file is a process of its own: the first file to ask does
 * it under a lock and leaves the result in the run's shared directory; the others wait for that result.
 *
 * The shared directory: under test/env/run.mjs, inside the shared engine's dir (FLEETKIT_TEST_DOCKER_DIR),
 * which engine.sh removes when the run ends, so nothing is left for the leftover check; a file run alone
 * has a run of its own, and uses that run's root (removed when its root test ends).
 */
import { watch } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runContext } from '../env/part-runtime.js';

/** Where results shared by the run's test files live (made on first use). */
export async function runSharedDir(): Promise<string> {
  const dir = join(process.env.FLEETKIT_TEST_DOCKER_DIR ?? runContext().root, 'shared');
  await mkdir(dir, { recursive: true });
  return dir;
}

/** True while process `pid` exists (EPERM: it exists, it is just not ours to signal). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `lock` (a file made with O_EXCL holding this pid). False while another live process holds it; a
 * lock whose holder died (a crashed test file) is removed, so the next try can take it.
 */
async function tryLock(lock: string): Promise<boolean> {
  try {
    await writeFile(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const holder = Number(await readFile(lock, 'utf8').catch(() => ''));
  // 0: the holder has made the file but not yet written its pid.
  if (holder && !alive(holder)) await rm(lock, { force: true });
  return false;
}

/** Resolves at the next change in `dir` (a file made, renamed or removed), or after `ms`. */
function nextChange(dir: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
    const watcher = watch(dir, done);
    const timer = setTimeout(done, ms);
  });
}

/** What `make` gives: the value, and whether other test files may use it (a failure is not shared). */
export interface Made<T> {
  readonly value: T;
  readonly share: boolean;
}

/**
 * The run's one `name`: read from `<shared dir>/<name>.json` when some test file has made it, otherwise
 * made here by `make` (while holding `<name>.lock`) and written there for the others. `made` says
 * whether this call did the work.
 */
export async function oncePerRun<T>(name: string, make: () => Promise<Made<T>>, o: { timeoutMs: number }): Promise<{ value: T; made: boolean }> {
  const dir = await runSharedDir();
  const result = join(dir, `${name}.json`);
  const lock = join(dir, `${name}.lock`);
  const read = async (): Promise<T | undefined> => {
    const text = await readFile(result, 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  };
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const ready = await read();
    if (ready !== undefined) return { value: ready, made: false };
    if (await tryLock(lock)) {
      try {
        // The previous holder may have finished between the read above and the lock.
        const late = await read();
        if (late !== undefined) return { value: late, made: false };
        const m = await make();
        if (m.share) {
          // Written whole, then renamed: a reader never sees half a result.
          await writeFile(`${result}.${process.pid}`, JSON.stringify(m.value));
          await rename(`${result}.${process.pid}`, result);
        }
        return { value: m.value, made: true };
      } finally {
        await rm(lock, { force: true });
      }
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${o.timeoutMs} ms waiting for another test file to make ${name} (${lock})`);
    // The result appearing is an event; a holder that crashes is not, hence the bound on the wait.
    await nextChange(dir, 1000);
  }
}
