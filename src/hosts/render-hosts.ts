/**
 * The hosts text, pure: a marked block `# BEGIN fleetkit CLUSTER` … `# END fleetkit CLUSTER` holding one
 * `IP HOSTNAME HOSTNAME.CLUSTER` line per entry, and its merge into an existing file such as /etc/hosts where
 * everything outside the block belongs to someone else and is kept byte for byte.
 */
import { FleetkitError } from '../errors.js';
import type { HostEntry } from './parse-announcement.js';

/** What the header names. */
export interface RenderHostsOptions {
  readonly cluster: string;
  readonly revision: number;
}

/** The marker lines of a cluster's block. */
export function blockMarkers(cluster: string): { readonly begin: string; readonly end: string } {
  return { begin: `# BEGIN fleetkit ${cluster}`, end: `# END fleetkit ${cluster}` };
}

/** Lines already rendered, per entry (entries are made once per record): a write re-renders only new ones. */
const lineCache = new WeakMap<HostEntry, { readonly cluster: string; readonly line: string }>();

/** The entry lines alone (no header): what decides whether the file must change. */
export function renderEntryLines(entries: readonly HostEntry[], cluster: string): string {
  let text = '';
  for (const e of entries) {
    let c = lineCache.get(e);
    if (c?.cluster !== cluster) lineCache.set(e, (c = { cluster, line: `${e.ip} ${e.hostname} ${e.hostname}.${cluster}\n` }));
    text += c.line;
  }
  return text;
}

/**
 * Renders the block: markers, a header naming cluster and revision, the entry lines (`lines`, when the caller
 * has them from renderEntryLines already). Ends with a newline.
 */
export function renderHosts(entries: readonly HostEntry[], opts: RenderHostsOptions, lines = renderEntryLines(entries, opts.cluster)): string {
  const { begin, end } = blockMarkers(opts.cluster);
  return (
    `${begin}\n` +
    `# Managed by fleetkit watch-hosts: cluster ${opts.cluster}, etcd revision ${opts.revision}, ${entries.length} entries. Edits inside this block are overwritten.\n` +
    lines +
    `${end}\n`
  );
}

interface BlockSpan {
  /** Offset of the BEGIN line's first byte. */
  readonly start: number;
  /** Offset just past the END line (past its newline when it has one). */
  readonly stop: number;
}

/** The first line from `from` on that is `marker` plus only trailing white space (as a line-by-line scan would find). */
function findMarkerLine(text: string, marker: string, from: number): BlockSpan | undefined {
  // indexOf, not a scan of every line: the file can hold 10,000 lines and is checked on every write.
  for (let i = text.indexOf(marker, from); i >= 0; i = text.indexOf(marker, i + 1)) {
    if (i > 0 && text.charCodeAt(i - 1) !== 10) continue;
    const nl = text.indexOf('\n', i + marker.length);
    const lineEnd = nl < 0 ? text.length : nl;
    if (/^\s*$/.test(text.slice(i + marker.length, lineEnd))) return { start: i, stop: nl < 0 ? text.length : nl + 1 };
  }
  return undefined;
}

/** Finds the cluster's block: the first BEGIN line and the first END line after it. */
function findBlock(existing: string, cluster: string): BlockSpan | undefined {
  const { begin, end } = blockMarkers(cluster);
  const b = findMarkerLine(existing, begin, 0);
  if (!b) return undefined;
  const e = findMarkerLine(existing, end, b.stop);
  if (!e) {
    throw new FleetkitError('ERR_HOSTS_BLOCK', `the hosts file has "${begin}" but no "${end}" after it`, {
      hint: 'fix the file by hand (add the END line or remove the BEGIN line); fleetkit will not guess where its block ends',
    });
  }
  return { start: b.start, stop: e.stop };
}

/**
 * Replaces the cluster's block in `existing` with `block` (from renderHosts), or appends it when there is
 * none. Bytes outside the block are kept exactly, including a missing final newline before the block (a
 * newline is then inserted so the BEGIN marker starts a line) and after it.
 */
export function mergeManagedBlock(existing: string, block: string, cluster: string): string {
  const span = findBlock(existing, cluster);
  if (span) {
    // An END line at end of file without a newline: keep it that way only if nothing follows; the block
    // itself always ends with a newline, which is ours to choose.
    return existing.slice(0, span.start) + block + existing.slice(span.stop);
  }
  if (existing === '') return block;
  return existing + (existing.endsWith('\n') ? '' : '\n') + block;
}

/** The entry lines currently inside the cluster's block (comments dropped), or undefined when no block. */
export function managedEntryLines(existing: string, cluster: string): string | undefined {
  const span = findBlock(existing, cluster);
  if (!span) return undefined;
  return existing
    .slice(span.start, span.stop)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => `${l}\n`)
    .join('');
}
