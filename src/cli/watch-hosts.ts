/**
 * `fleetkit watch-hosts [SPEC] [options] [-- HOOK ARGV…]`: keeps the cluster's block of a hosts file in step
 * with the announcements in etcd (see src/hosts/watch-hosts.ts). Runs until SIGTERM, or once with --once.
 */
import { resolve } from 'node:path';
import { ExitCode, isFleetkitError, UsageError } from '../errors.js';
import { connectEtcd, etcdError } from '../etcd/connect.js';
import { FLANNEL_DEFAULT_PREFIX } from '../flannel/flannel-etcd.js';
import { isHostName } from '../hosts/parse-announcement.js';
import { splitCommand } from '../hosts/split-command.js';
import type { ClusterSpec } from '../cluster/types.js';
import { durationOption, parseCommandArgs } from './args.js';
import { etcdFlagSpec, etcdOptionsFrom } from './etcd-flags.js';
import { CLUSTER_FLAGS_HELP, clusterFlagSpec, readClusterSpec } from './cluster-flags.js';
import type { Command } from './io.js';
import { createLogger } from '../log/logger.js';
import { clusterDir } from '../etcd/key-layout.js';

const HELP = `usage: fleetkit watch-hosts [SPEC] [options] [-- HOOK ARGV…]

Keeps "IP HOSTNAME HOSTNAME.CLUSTER" lines for every live announcement under <prefix>/<cluster>/ in a
marked block of a hosts file (everything outside the block is kept as it is).

options:
  --etcd URL…              etcd endpoints (repeat or comma-separate); also --etcd-ca/-cert/-key/-user/-password-file
  --prefix, --etcd-prefix P   announcement prefix (default /services)
  --cluster NAME           cluster name (default: the spec's name)
  --out FILE               the hosts file (default: the spec's hosts.file, else /etc/hosts)
  --keep-inode             write in place instead of renaming, so containers that bind-mount FILE see updates
  --containers-file FILE   also keep FILE whole, for the cluster's containers to mount as /etc/hosts:
                           localhost, every instance, bare service names and aliases (always in place)
  --prepare                make the --containers-file (localhost lines) if it is missing, then exit
  --follow-symlink         when FILE is a symbolic link, write the file it points to (default: refuse)
  --flannel-prefix P       only count entries inside the flannel subnet of their host (spec: flannel.prefix,
                           ${FLANNEL_DEFAULT_PREFIX} by default when the spec has a flannel block)
  --exec CMD               run CMD after each write (split into words, no shell); "-- ARGV…" gives argv as is
  --shell                  run the --exec command with /bin/sh -c
  --exec-timeout D         kill a hook still running after D (default 10s)
  --debounce D             a change that finds the watcher idle is written at once; changes that come
                           while a write is due wait until quiet for D (default 10ms)
  --max-delay D            …but no later than D after the first change (default 250ms)
  --once                   read, write, exit
${CLUSTER_FLAGS_HELP}
`;

const options = {
  ...etcdFlagSpec,
  ...clusterFlagSpec,
  prefix: { type: 'string' },
  cluster: { type: 'string' },
  out: { type: 'string' },
  exec: { type: 'string' },
  shell: { type: 'boolean' },
  'exec-timeout': { type: 'string' },
  once: { type: 'boolean' },
  'flannel-prefix': { type: 'string' },
  debounce: { type: 'string' },
  'max-delay': { type: 'string' },
  'keep-inode': { type: 'boolean' },
  'follow-symlink': { type: 'boolean' },
  'containers-file': { type: 'string' },
  prepare: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Strips one trailing slash; a prefix is compared with keys by string. */
function trimSlash(p: string): string {
  return p.replace(/\/+$/, '');
}

export const run: Command = async (argv, io) => {
  const dd = argv.indexOf('--');
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const after = dd < 0 ? [] : argv.slice(dd + 1);
  const { values: v, positionals } = parseCommandArgs('fleetkit watch-hosts', own, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length > 1) throw new UsageError(`watch-hosts takes one SPEC file, got ${positionals.length} arguments`, 'put hook arguments after "--"');
  let spec: ClusterSpec | undefined;
  if (positionals[0] !== undefined) {
    spec = await readClusterSpec(positionals[0], v, io, 'fleetkit watch-hosts');
  }
  const cluster = v.cluster ?? spec?.name;
  if (!cluster) throw new UsageError('watch-hosts needs a cluster name', 'pass --cluster NAME or a cluster.yaml');
  if (!isHostName(cluster)) throw new UsageError(`--cluster "${cluster}" is not a DNS name (letters, digits, hyphens, dots)`, 'hosts entries are HOST.CLUSTER');
  if (v.prepare) {
    const file = v['containers-file'] ?? spec?.hosts.containers;
    if (file === undefined) throw new UsageError('--prepare needs --containers-file FILE (or a spec with hosts.containers)');
    const { prepareContainersFile } = await import('../hosts/watch-hosts.js');
    await prepareContainersFile(file, cluster);
    return ExitCode.ok;
  }
  const etcd = etcdOptionsFrom({ ...v, 'etcd-prefix': v.prefix ?? v['etcd-prefix'] }, spec?.etcd, io.env);
  const out = v.out ?? spec?.hosts.file ?? '/etc/hosts';
  const containersFile = v['containers-file'] ?? spec?.hosts.containers;
  if (containersFile !== undefined && resolve(containersFile) === resolve(out)) {
    throw new UsageError(`--containers-file and --out are both ${out}`, 'the containers\' file is fleetkit\'s alone; give it a path of its own');
  }
  const flannelFlag = v['flannel-prefix'] ?? spec?.flannel?.prefix;
  const flannel = flannelFlag === undefined ? undefined : trimSlash(flannelFlag) || FLANNEL_DEFAULT_PREFIX;

  let hookArgv: readonly string[] | undefined;
  if (after.length > 0 && v.exec !== undefined) throw new UsageError('give the hook either as --exec CMD or after "--", not both');
  if (after.length > 0) hookArgv = after;
  else if (v.exec !== undefined) hookArgv = v.shell ? ['/bin/sh', '-c', v.exec] : splitCommand(v.exec);
  else if (spec?.hosts.exec?.length) hookArgv = spec.hosts.exec;
  if (v.shell && v.exec === undefined) throw new UsageError('--shell needs --exec CMD');

  const quietMs = durationOption('debounce', v.debounce, 10);
  const maxDelayMs = durationOption('max-delay', v['max-delay'], 250);
  if (maxDelayMs < quietMs) throw new UsageError(`--max-delay (${maxDelayMs} ms) must not be shorter than --debounce (${quietMs} ms)`);
  const hookTimeoutMs = durationOption('exec-timeout', v['exec-timeout'], 10_000);

  // Every level is written: journald's own filters (journalctl -p) choose what to show.
  const { line: log } = createLogger(io.stderr, { env: io.env, debug: true });
  const client = await connectEtcd(etcd);
  try {
    const { watchHosts } = await import('../hosts/watch-hosts.js');
    log(`<6>watching ${clusterDir(etcd.prefix, cluster)}${flannel ? ` and ${flannel}/` : ''} on ${etcd.endpoints.join(',')} → ${out}`);
    await watchHosts(client, {
      cluster,
      out,
      layout: { announcements: clusterDir(etcd.prefix, cluster), flannel },
      writeMode: v['keep-inode'] ? 'in-place' : 'rename',
      followSymlink: Boolean(v['follow-symlink']),
      ...(containersFile === undefined ? {} : { containersFile }),
      quietMs,
      maxDelayMs,
      hook: hookArgv && { argv: hookArgv, timeoutMs: hookTimeoutMs },
      env: io.env,
      signal: io.signal,
      log,
      once: Boolean(v.once),
    }).catch((e: unknown) => {
      throw isFleetkitError(e) ? e : etcdError(e, `reading ${clusterDir(etcd.prefix, cluster)}`, etcd.endpoints);
    });
  } finally {
    client.close();
  }
  return ExitCode.ok;
};
