/**
 * `fleetkit await [etcd flags] --need SERVICE=KEY… [--want SERVICE=KEY…] [--timeout D] -- COMMAND…`: the
 * first process of a container unit whose service has `depends_on`. It waits until every dependency is
 * announced in etcd, then runs COMMAND (`docker run …`) as the unit's process. The unit is active while it
 * waits; the journal says what it waits for. Gives up after the timeout with exit code 1, so the unit's
 * `Restart=` decides what comes next.
 */
import { ExitCode, UsageError } from '../errors.js';
import { connectEtcd } from '../etcd/connect.js';
import { createLogger } from '../log/logger.js';
import type { AwaitTarget } from '../await/await-announced.js';
import { durationOption, parseCommandArgs } from './args.js';
import { etcdFlagSpec, etcdOptionsFrom } from './etcd-flags.js';
import type { Command } from './io.js';

const HELP = `usage: fleetkit await [options] --need SERVICE=KEY… -- COMMAND [ARGS…]

Waits until every KEY is present in etcd (a KEY ending in "/" is satisfied by any key under it), then runs
COMMAND with this process's output and signals, and exits with its status. The container units of services
with depends_on start this way: "fleetkit await … -- docker run …".

options:
  --need SERVICE=KEY   a required dependency's announcement (repeat for each key)
  --want SERVICE=KEY   an optional one (Compose's required: false): after the timeout COMMAND runs anyway
  --timeout D          give up after D (default 300s): exit 1 when a --need key is still missing
  --etcd URL…          etcd endpoints; also --etcd-ca/-cert/-key/-user/-password-file
`;

const options = {
  ...etcdFlagSpec,
  need: { type: 'string', multiple: true },
  want: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `db=/services/shop/db/1` → target parts; service names never hold "=". */
function parseTarget(flag: string, value: string): { service: string; key: string } {
  const eq = value.indexOf('=');
  const service = value.slice(0, eq);
  const key = value.slice(eq + 1);
  if (eq <= 0 || !key.startsWith('/')) throw new UsageError(`--${flag} "${value}" is not SERVICE=KEY with an absolute etcd key`, `e.g. --${flag} db=/services/shop/db/1`);
  return { service, key };
}

/** Groups the flags' keys by service, in order. */
function targetsFrom(need: readonly string[], want: readonly string[]): AwaitTarget[] {
  const out: Array<{ service: string; required: boolean; keys: string[] }> = [];
  for (const [flag, list, required] of [['need', need, true], ['want', want, false]] as const) {
    for (const v of list) {
      const { service, key } = parseTarget(flag, v);
      let t = out.find((x) => x.service === service && x.required === required);
      if (!t) out.push((t = { service, required, keys: [] }));
      t.keys.push(key);
    }
  }
  return out;
}

export const run: Command = async (argv, io) => {
  const dd = argv.indexOf('--');
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const command = dd < 0 ? [] : argv.slice(dd + 1);
  const { values: v, positionals } = parseCommandArgs('fleetkit await', own, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'put the command to run after "--"');
  if (command.length === 0) throw new UsageError('await needs a command to run after "--"', 'e.g. fleetkit await --need db=/services/shop/db/1 -- docker run …');
  const targets = targetsFrom(v.need ?? [], v.want ?? []);
  const timeoutMs = durationOption('timeout', v.timeout, 300_000);
  const { line: log } = createLogger(io.stderr, { env: io.env, debug: true });
  const { runCommand } = await import('../await/run-command.js');
  if (targets.length > 0) {
    const etcd = etcdOptionsFrom(v, undefined, io.env);
    const client = await connectEtcd(etcd);
    let result;
    try {
      const { awaitAnnounced } = await import('../await/await-announced.js');
      result = await awaitAnnounced(client, { targets, timeoutMs, log, signal: io.signal });
    } finally {
      client.close();
    }
    const secs = (result.waitedMs / 1000).toFixed(1);
    if (result.outcome === 'aborted') return ExitCode.failed;
    if (result.outcome === 'timeout') {
      log(`<3>gave up waiting for ${result.missing.join(', ')} after ${secs} s: not announced in etcd (${etcd.endpoints.join(',')}); the container was not started`);
      return ExitCode.failed;
    }
    if (result.outcome === 'optional-missing') log(`<4>${result.missing.join(', ')} (required: false) not announced after ${secs} s: starting without ${result.missing.length > 1 ? 'them' : 'it'}`);
    else log(`<5>${targets.map((t) => t.service).filter((s, i, a) => a.indexOf(s) === i).join(', ')} announced after ${secs} s: starting`);
  }
  try {
    return await runCommand(command, io.env as NodeJS.ProcessEnv);
  } catch (e) {
    log(`<3>cannot run ${command[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 127;
  }
};
