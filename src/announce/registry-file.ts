/**
 * The agent's registry on disk (`STATE_DIR/registry.json`), so a restarted agent knows what to announce
 * before any sidekick runs again, and its leases (`STATE_DIR/leases.json`), so a restarted agent takes them
 * over instead of granting new ones. Written atomically (temp + fsync + rename + fsync of the dir): a crash
 * leaves the old or the new file, never half of one.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileSafe } from '../fs/write-file-safe.js';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { validateRegistration, type Registration, type RegistrationLimits } from './registration.js';
import type { Logger } from '../log/logger.js';

/** The file's name inside the state dir. */
export const REGISTRY_FILE = 'registry.json';

/** Reads the registry; entries that no longer validate are dropped with a log line. Missing file → []. */
export async function loadRegistry(stateDir: string, limits: RegistrationLimits, log: Logger): Promise<Registration[]> {
  const path = join(stateDir, REGISTRY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let doc: { registrations?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    log.err(`registry ${path} is not JSON (${(e as Error).message}); starting empty, sidekicks re-register on restart`);
    return [];
  }
  const out: Registration[] = [];
  for (const raw of Array.isArray(doc.registrations) ? doc.registrations : []) {
    try {
      out.push(validateRegistration(raw, limits));
    } catch (e) {
      log.err(`registry ${path}: dropped an entry: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Makes the state dir on a fresh host (a binary-form agent finds no /run/fleetkit after boot), with a
 * message naming the dir when that is not possible.
 */
export async function ensureStateDir(stateDir: string): Promise<void> {
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new UsageError(`cannot create the agent's state dir ${stateDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'run the agent as root, or pass --state-dir DIR that it may write');
  }
}

/** Writes the registry atomically (a crash leaves the old registry or the new one). */
export async function writeRegistry(stateDir: string, registrations: readonly Registration[]): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o750 });
  await writeFileSafe(join(stateDir, REGISTRY_FILE), `${JSON.stringify({ version: 1, registrations }, null, 1)}\n`, { mode: 0o640 });
}

/** The lease ids file's name inside the state dir. */
export const LEASES_FILE = 'leases.json';

/**
 * The lease ids a previous agent process held, by TTL. Anything unreadable is dropped with a log line: the
 * worst outcome is a new lease, whose keys are put again at once.
 */
export async function loadLeases(stateDir: string, log: Logger): Promise<Map<number, string>> {
  const path = join(stateDir, LEASES_FILE);
  const out = new Map<number, string>();
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot read ${path} (${(e as Error).message}): granting new leases`);
    return out;
  }
  const leases = (doc as { leases?: unknown } | null)?.leases;
  if (typeof leases !== 'object' || leases === null) return out;
  for (const [ttl, id] of Object.entries(leases)) {
    // etcd lease ids are positive int64, kept as decimal text (a double would round them).
    if (/^[1-9]\d{0,5}$/.test(ttl) && typeof id === 'string' && /^[1-9]\d{0,18}$/.test(id) && BigInt(id) < 2n ** 63n) out.set(Number(ttl), id);
    else log.warn(`${path}: dropped the entry ${JSON.stringify(ttl)}: not a TTL and a lease id`);
  }
  return out;
}

/** Writes the lease ids atomically (a crash leaves the old file or the new one). */
export async function writeLeases(stateDir: string, leases: ReadonlyMap<number, string>): Promise<void> {
  await writeFileSafe(join(stateDir, LEASES_FILE), `${JSON.stringify({ version: 1, leases: Object.fromEntries(leases) })}\n`, { mode: 0o640 });
}
