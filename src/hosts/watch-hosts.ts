/**
 * The hosts watcher: etcd (through src/etcd/watch-prefixes) → HostsState → coalesced, atomic writes of the
 * cluster's block → the hook. The last good file stays whatever etcd does: the state only changes on a
 * successful read or a delivered change, never on an error.
 */
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { FleetkitError, isFleetkitError } from '../errors.js';
import { readPrefixes, watchPrefixes } from '../etcd/watch-prefixes.js';
import { Coalescer } from './coalescer.js';
import { assignBareNames, containerLinesOf, renderContainerHosts, renderContainerLines } from './container-hosts.js';
import type { HostEntry } from './parse-announcement.js';
import { HostsState, type HostsKeyLayout } from './hosts-state.js';
import { managedEntryLines, mergeManagedBlock, renderEntryLines, renderHosts } from './render-hosts.js';
import { reservedNames } from './reserved-names.js';
import { HookRunner } from './run-hook.js';
import { createFileSafe, writeFileSafe } from '../fs/write-file-safe.js';

/**
 * How the file is replaced: `rename` (default; readers never see a mix, but the path gets a new inode) or
 * `in-place` (`--keep-inode`: the inode stays, so containers that bind-mount the file see updates). See
 * src/fs/write-file-safe.ts and src/fs/write-in-place.ts.
 */
export type WriteMode = 'rename' | 'in-place';

export interface WatchHostsOptions {
  readonly cluster: string;
  readonly out: string;
  readonly layout: HostsKeyLayout;
  readonly writeMode: WriteMode;
  readonly quietMs: number;
  readonly maxDelayMs: number;
  /** Least time between two writes, ms. Default 50. */
  readonly minIntervalMs?: number;
  readonly hook: { readonly argv: readonly string[]; readonly timeoutMs: number } | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** Read and write once, then return. */
  readonly once?: boolean;
  /** Write through a symlink at `out` (default: refuse). */
  readonly followSymlink?: boolean;
  /** The machine's own names, which no entry may take. Default: the host name and its first label. */
  readonly machineNames?: readonly string[];
  /** The system's hosts file, whose names no entry may take (besides those of `out`). Default /etc/hosts. */
  readonly systemHostsFile?: string;
  /**
   * The cluster's containers' hosts file (src/hosts/container-hosts.ts: instance names, bare service names,
   * aliases), kept besides `out`. Always written in place: the containers bind-mount it as /etc/hosts.
   */
  readonly containersFile?: string;
  /** Header-probe interval for the watch, ms (tests shorten it). */
  readonly probeIntervalMs?: number;
}

/** Counters, for logs and tests. */
export interface WatchHostsStats {
  writes: number;
  skipped: number;
}

/** Reads the file, or '' when it does not exist yet. Other errors are thrown (we must not clobber it). */
async function readExisting(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/**
 * What is at the containers' hosts file: it must be a regular file (or nothing yet). A directory there is
 * what `docker run -v FILE:/etc/hosts` leaves when FILE did not exist (Docker before 17.06, the `legacy`
 * target): the watcher can never write it, and every container that mounts it gets a directory as
 * /etc/hosts. fleetkit never removes it (it may be someone's): the error says what it is and what to do.
 */
export async function containersFileProblem(file: string): Promise<FleetkitError | undefined> {
  const st = await lstat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (st === undefined || st.isFile()) return undefined;
  if (st.isDirectory()) {
    return new FleetkitError('ERR_HOSTS_DIRECTORY', `${file} is a directory, not the cluster's containers' hosts file (docker run -v makes a directory where the file it mounts is missing)`, {
      hint: `stop the containers that mount it, check that it is empty and remove it (rmdir ${file}); the next start makes the file`,
    });
  }
  return new FleetkitError('ERR_NOT_A_FILE', `${file} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: the cluster's containers mount it as their /etc/hosts`, {
    hint: `remove it, or give x-fleetkit.hosts.containers another path`,
  });
}

/**
 * Makes sure the containers' hosts file is a regular file before a container mounts it: creates it with the
 * base lines only (localhost, no entries) when nothing is there, and leaves an existing file as it is (an
 * empty one gets the base lines). Created whole and never over a file made meanwhile (createFileSafe), so
 * container units that start together on one machine, each running this first, all mount one inode.
 * Throws ERR_HOSTS_DIRECTORY / ERR_NOT_A_FILE when something else is there. True when it wrote.
 */
export async function prepareContainersFile(file: string, cluster: string): Promise<boolean> {
  const problem = await containersFileProblem(file);
  if (problem) throw problem;
  const base = renderContainerHosts([], { cluster, revision: 0 });
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  if (await createFileSafe(file, base, { mode: 0o644 })) return true;
  const again = await containersFileProblem(file);
  if (again) throw again;
  if ((await readExisting(file)) !== '') return false;
  await writeFileSafe(file, base, { mode: 0o644, inPlace: true, followSymlink: false });
  return true;
}

/** An error for a log line: the message, and the hint of a fleetkit error. */
function describeError(e: unknown): string {
  return isFleetkitError(e) && e.hint ? `${e.message} (${e.hint})` : (e as Error).message;
}

/** Runs the watcher until the signal aborts (or once). Resolves when stopped; the stats say what it did. */
export async function watchHosts(client: Etcd3, opts: WatchHostsOptions): Promise<WatchHostsStats> {
  const { log, cluster, out } = opts;
  const state = new HostsState(opts.layout, log);
  const stats: WatchHostsStats = { writes: 0, skipped: 0 };
  const hook = opts.hook && new HookRunner({ argv: opts.hook.argv, timeoutMs: opts.hook.timeoutMs, env: opts.env, log });
  let retry: NodeJS.Timeout | undefined;
  let writeError: unknown;
  /** Failed writes since the last good one: the first is logged, the rest wait quietly for the fix. */
  let failures = 0;

  /** The file as we last wrote it, and its entry lines: when the file still reads the same, no re-parse. */
  let lastWrite: { readonly content: string; readonly lines: string } | undefined;

  const systemHosts = opts.systemHostsFile ?? '/etc/hosts';
  const machineNames = opts.machineNames ?? [hostname(), hostname().split('.')[0]!];

  /** The containers' file as last written, and the alias refusals last logged per key. */
  let lastContainers: { readonly content: string; readonly lines: string } | undefined;
  const aliasLogged = new Map<string, string>();

  /** Writes the containers' file when its lines changed; true when it wrote. */
  const writeContainers = async (file: string, entries: readonly HostEntry[]): Promise<boolean> => {
    const problem = await containersFileProblem(file);
    if (problem) throw problem;
    const bare = assignBareNames(entries);
    for (const key of [...aliasLogged.keys()]) if (!bare.refused.has(key)) aliasLogged.delete(key);
    for (const [key, why] of bare.refused) {
      if (aliasLogged.get(key) === why) continue;
      aliasLogged.set(key, why);
      log(`<4>${JSON.stringify(key)}: ${why}; left out of ${file}`);
    }
    const lines = renderContainerLines(entries, cluster, bare);
    const existing = await readExisting(file);
    const current = existing === lastContainers?.content ? lastContainers.lines : containerLinesOf(existing);
    if (existing !== '' && current === lines) return false;
    const content = renderContainerHosts(entries, { cluster, revision: state.revision }, lines);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFileSafe(file, content, { mode: 0o644, inPlace: true, followSymlink: false });
    lastContainers = { content, lines };
    log(`<6>wrote ${file}: ${entries.length} entries at revision ${state.revision}`);
    return true;
  };

  const flush = async (): Promise<void> => {
    /** The file being written, for the error line. */
    let writing = out;
    try {
      // Read every time (someone may have edited the rest of /etc/hosts); parse only when it is not ours.
      const existing = await readExisting(out);
      const system = resolve(out) === resolve(systemHosts) ? existing : await readExisting(systemHosts);
      const reserved = reservedNames({ cluster, machineNames, files: [[out, existing], [systemHosts, system]] });
      const { entries } = state.select(reserved);
      const lines = renderEntryLines(entries, cluster);
      const current = existing === lastWrite?.content ? lastWrite.lines : managedEntryLines(existing, cluster);
      let wrote = false;
      if (current !== lines) {
        const next = mergeManagedBlock(existing, renderHosts(entries, { cluster, revision: state.revision }, lines), cluster);
        const res = await writeFileSafe(out, next, { mode: 0o644, inPlace: opts.writeMode === 'in-place', followSymlink: opts.followSymlink ?? false });
        lastWrite = { content: next, lines };
        wrote = true;
        if (res.fellBack) log(`<5>${out} is a mount point: rename is impossible, writing it in place`);
        log(`<6>wrote ${out}: ${entries.length} entries at revision ${state.revision}`);
      }
      // Its own comparison: a changed alias alters this file alone.
      if (opts.containersFile !== undefined) {
        writing = opts.containersFile;
        if (await writeContainers(opts.containersFile, entries)) wrote = true;
      }
      if (!wrote) {
        stats.skipped++;
        log(`<7>revision ${state.revision}: entries unchanged, ${out} left alone`);
        return; // unchanged: no write, no hook
      }
      stats.writes++;
      if (failures > 0) log(`<5>${out} is writable again after ${failures} failed ${failures === 1 ? 'attempt' : 'attempts'}`);
      failures = 0;
    } catch (e) {
      writeError = e;
      if (opts.once) return;
      // Keep the old file (the writer leaves it whole); try again shortly even if etcd stays quiet. One
      // line for the outage, not one a second for as long as the disk stays full.
      if (failures++ === 0) log(`<3>cannot write ${writing}: ${describeError(e)}; keeping the previous file, retrying every second`);
      // A file error (disk full, read-only) may pass, and so may a directory where the containers' file goes
      // (once removed, nothing else would call for a write); a broken block in the file waits for a person.
      if (!retry && (!isFleetkitError(e) || e.code === 'ERR_HOSTS_DIRECTORY')) retry = setTimeout(() => ((retry = undefined), coalescer.poke()), 1000);
      return;
    }
    writeError = undefined;
    const last = state.lastChange;
    hook?.request({ action: last?.action ?? 'set', key: last?.key ?? '', value: last?.value ?? Buffer.alloc(0), file: out, revision: state.revision });
  };
  const coalescer = new Coalescer({ quietMs: opts.quietMs, maxDelayMs: opts.maxDelayMs, minIntervalMs: opts.minIntervalMs ?? 50, flush });

  // The containers mount the file: it must exist (localhost at least) before etcd has answered.
  // A failure here is logged; the first flush tries again and owns the retry.
  if (opts.containersFile !== undefined) {
    const file = opts.containersFile;
    await readExisting(file)
      .then((text) => (text === '' ? writeContainers(file, []) : false))
      .catch((e: unknown) => log(`<3>cannot create ${file}: ${describeError(e)}; retrying with the first write`));
  }

  const prefixes = [opts.layout.announcements, ...(opts.layout.flannel ? [`${opts.layout.flannel}/`] : [])];
  if (opts.once) {
    const snap = await readPrefixes(client, prefixes);
    state.applySnapshot(snap.revision, snap.kvs);
    await flush();
    if (writeError !== undefined) {
      if (isFleetkitError(writeError)) throw writeError;
      throw new FleetkitError('ERR_HOSTS_WRITE', `cannot write ${out}: ${(writeError as Error).message}`, {
        hint: 'check that the directory exists and is writable', cause: writeError,
      });
    }
    await hook?.idle();
    return stats;
  }
  await watchPrefixes(client, {
    prefixes,
    signal: opts.signal,
    log,
    probeIntervalMs: opts.probeIntervalMs,
    onSnapshot: (revision, kvs) => {
      state.applySnapshot(revision, kvs);
      coalescer.poke();
    },
    onChanges: (changes) => {
      for (const c of changes) state.applyChange(c.type, c, c.revision);
      coalescer.poke();
    },
  });
  if (retry) clearTimeout(retry);
  await coalescer.stop();
  await hook?.idle();
  return stats;
}
