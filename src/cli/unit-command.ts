/**
 * The shared body of `load`, `start`, `stop`, `unload` and `destroy`: one set of options, one way to resolve
 * SPEC / unit files / names, one runner per target (fleet's API, or the local systemd with `--systemd`), one
 * summary. The five command files only name their verb.
 */
import { ExitCode, UsageError } from '../errors.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { durationOption, intOption, parseCommandArgs } from './args.js';
import type { CliIO, Command } from './io.js';
import { Progress, printSummary } from './unit-report.js';
import { resolveSelection } from './unit-sources.js';
import { targetOption } from './target-option.js';
import type { UnitRunOptions, UnitRunResult, UnitVerb } from './unit-run.js';

const optionSpec = {
  systemd: { type: 'boolean' },
  user: { type: 'boolean' },
  runtime: { type: 'boolean' },
  'unit-dir': { type: 'string' },
  'journal-dir': { type: 'string' },
  settle: { type: 'string' },
  endpoint: { type: 'string' },
  'request-timeout': { type: 'string' },
  parallel: { type: 'string' },
  wait: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  replace: { type: 'boolean' },
  prune: { type: 'boolean' },
  'no-start': { type: 'boolean' },
  target: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const summaries: Record<UnitVerb, string> = {
  load: 'submit units (fleet) or write them (systemd) and start them; unchanged units cost nothing',
  start: 'start units (load them first when given as SPEC or files)',
  stop: 'stop units (fleet: desired state loaded)',
  unload: 'unload units (fleet: desired state inactive; systemd: stop and disable)',
  destroy: 'stop units and remove them (fleet: DELETE; systemd: remove the unit files)',
};

function help(verb: UnitVerb): string {
  const what = verb === 'load' ? '[SPEC | UNIT_FILES…]' : '[SPEC | UNIT_FILES… | UNITS…]';
  return `usage: fleetkit ${verb} ${what} [options]

${summaries[verb]}.
SPEC (default ./cluster.yaml) is rendered in memory. units/web@2.service resolves units/web@.service beside it.

target:
  --endpoint URL         fleet API: unix:///PATH or http(s)://HOST:PORT (default $FLEETCTL_ENDPOINT,
                         else unix:///var/run/fleet.sock)
  --request-timeout D    per request to fleet (default 10s)
  --systemd              the local systemd over D-Bus instead of fleet
  --user                 with --systemd: the user manager (DBUS_SESSION_BUS_ADDRESS)
  --runtime              with --systemd: /run/systemd/system (or $XDG_RUNTIME_DIR/systemd/user)
  --unit-dir DIR         with --systemd: write unit files here (linked when outside systemd's path)
  --journal-dir DIR      with --systemd: journal directory for failure reports (journalctl -D)
  --settle D             with --systemd: a started unit must still be active after this (default 250ms)

behaviour:
${verb === 'load' ? '  --no-start             load only (fleet: desired state loaded)\n' : ''}${verb === 'load' || verb === 'start' ? '  --replace              replace units that differ (otherwise list the difference and exit 1)\n  --prune                destroy units of this cluster that are no longer in the spec\n' : ''}  --target NAME          render SPEC for these hosts: current or legacy (default: the spec's x-fleetkit.target)
  --parallel N           requests/jobs in flight (default 16)
  --no-wait              do not wait for units to settle
  --timeout D            how long to wait (default 60s)
  --json                 one JSON document on stdout

exit status: 0 all went well, 1 something failed or differs, 2 bad usage.
`;
}

/** Builds the command for one verb. */
export function unitCommand(verb: UnitVerb): Command {
  return async (argv: readonly string[], io: CliIO): Promise<number> => {
    const { values: v, positionals } = parseCommandArgs(`fleetkit ${verb}`, argv, optionSpec);
    if (v.help) {
      io.stdout.write(help(verb));
      return ExitCode.ok;
    }
    if (v.user && !v.systemd) throw new UsageError('--user needs --systemd', 'fleet has no user scope');
    if (!v.systemd) {
      for (const f of ['runtime', 'unit-dir', 'journal-dir', 'settle'] as const) if (v[f] !== undefined) throw new UsageError(`--${f} needs --systemd`);
    } else if (v.endpoint !== undefined) {
      throw new UsageError('--endpoint is for fleet; --systemd talks to the local systemd');
    }
    if (v['no-start'] && verb !== 'load') throw new UsageError('--no-start is an option of load');
    if ((v.replace || v.prune) && verb !== 'load' && verb !== 'start') throw new UsageError(`--${v.replace ? 'replace' : 'prune'} is an option of load and start`);
    if (v.wait && v['no-wait']) throw new UsageError('--wait and --no-wait contradict each other');
    const parallel = intOption('parallel', v.parallel, 16);
    const timeoutMs = durationOption('timeout', v.timeout, 60_000);
    const requestTimeoutMs = durationOption('request-timeout', v['request-timeout'], 10_000);
    const endpoint = v.systemd ? undefined : fleetEndpointFrom(v.endpoint, io.env);

    const sel = await resolveSelection(positionals, io.cwd, verb === 'load' ? 'files' : verb === 'start' ? 'either' : 'names', targetOption(v.target, `fleetkit ${verb}`));
    if (v.target !== undefined && sel.kind !== 'spec') throw new UsageError('--target needs a SPEC: unit files and names are already rendered');
    if (v.prune && sel.kind !== 'spec') throw new UsageError('--prune needs a SPEC: only a spec says which units belong to the cluster');
    const json = Boolean(v.json);
    const warned = new Set<string>();
    const opts: UnitRunOptions = {
      replace: Boolean(v.replace),
      prune: Boolean(v.prune),
      start: !v['no-start'],
      wait: !v['no-wait'],
      timeoutMs,
      parallel,
      signal: io.signal,
      env: io.env,
      user: Boolean(v.user),
      runtime: Boolean(v.runtime),
      unitDir: v['unit-dir'],
      journalDir: v['journal-dir'],
      settleMs: durationOption('settle', v.settle, 250),
      progress: (total, label) => new Progress(io.stderr, total, label, json),
      warn: (text) => {
        if (warned.has(text)) return;
        warned.add(text);
        io.stderr.write(`warning: ${text}\n`);
      },
    };
    if (sel.kind === 'spec') for (const w of sel.warnings) opts.warn(w);

    let result: UnitRunResult;
    if (v.systemd) {
      const { runSystemd } = await import('./unit-systemd.js');
      result = await runSystemd(sel, verb, opts);
    } else {
      const { FleetClient } = await import('../fleet/fleet-client.js');
      const { runFleet } = await import('./unit-fleet.js');
      const client = new FleetClient({ endpoint: endpoint!, timeoutMs: requestTimeoutMs, maxSockets: parallel, signal: io.signal });
      try {
        result = await runFleet(client, sel, verb, opts);
      } finally {
        client.close();
      }
    }
    const ok = printSummary(io, result.outcomes, { json, verb, stale: result.stale, pruned: opts.prune });
    return ok ? ExitCode.ok : ExitCode.failed;
  };
}
