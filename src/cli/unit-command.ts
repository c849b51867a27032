/**
 * The arguments and output of `load`, `start`, `stop`, `unload` and `destroy`: parse the options, open the
 * UnitHost they name, plan (`src/load/plan.ts`), print the plan with `--dry-run` or execute it
 * (`src/load/execute.ts`), print the summary. The five command files only name their verb.
 */
import { ExitCode, UsageError } from '../errors.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { FLEET_CONNECTION_HELP, fleetConnectionFlagSpec, fleetConnectionFrom } from '../fleet/connection.js';
import { execute } from '../load/execute.js';
import { etcdEvidence } from '../load/rolling-facts.js';
import { splitRolling } from '../load/rolling.js';
import { etcdFacts } from '../load/facts-source.js';
import { etcdFlagSpec, etcdOptionsFrom } from './etcd-flags.js';
import { etcdOfNamed, namedAnnouncements, readNamedUnits } from './named-units.js';
import { failureJournal } from '../load/failure-journal.js';
import { oneHostPlacementWarnings } from '../load/one-host-placement.js';
import { describePlan, plan, type Step, type Verb } from '../load/plan.js';
import { resolveSelection } from '../load/selection.js';
import { labelsContainer, type StopFacts } from '../load/stop-facts.js';
import { isHostUnit, templateOf } from '../unit/names.js';
import { openUnitHost } from '../unithost/open-unit-host.js';
import { mayRun, type UnitHost } from '../unithost/unit-host.js';
import type { DesiredUnit } from '../load/desired-unit.js';
import { durationOption, intOption, parseCommandArgs } from './args.js';
import type { CliIO, Command } from './io.js';
import { Progress, printSummary } from './unit-report.js';
import { targetOption } from './target-option.js';
import { CLUSTER_FLAGS_HELP, clusterFileFlags, clusterFlagSpec } from './cluster-flags.js';

type UnitVerb = Verb;

/** The verbs that take units down, and wait (unless --no-block) until the agents see their containers down. */
const TAKES_DOWN: ReadonlySet<Verb> = new Set(['stop', 'unload', 'destroy']);

const optionSpec = {
  ...clusterFlagSpec,
  systemd: { type: 'boolean' },
  user: { type: 'boolean' },
  runtime: { type: 'boolean' },
  'unit-dir': { type: 'string' },
  'journal-dir': { type: 'string' },
  settle: { type: 'string' },
  endpoint: { type: 'string' },
  'request-timeout': { type: 'string' },
  ...fleetConnectionFlagSpec,
  'block-attempts': { type: 'string' },
  parallel: { type: 'string' },
  wait: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  'no-block': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  stable: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  replace: { type: 'boolean' },
  'max-unavailable': { type: 'string' },
  ...etcdFlagSpec,
  prune: { type: 'boolean' },
  'no-start': { type: 'boolean' },
  'no-announcements': { type: 'boolean' },
  target: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const summaries: Record<UnitVerb, string> = {
  load: 'submit units (fleet) or write them (systemd) and start them; unchanged units cost nothing',
  start: 'start units (load them first when given as SPEC or files)',
  stop: 'stop units (fleet: desired state loaded) and wait until their containers are down, as the agents report them in etcd',
  unload: 'unload units (fleet: desired state inactive; systemd: stop and disable) and wait until their containers are down, as the agents report them in etcd',
  destroy: 'stop units and remove them (fleet: DELETE; systemd: remove the unit files) and wait until their containers are down, as the agents report them in etcd',
};

function help(verb: UnitVerb): string {
  const what = verb === 'load' ? '[SPEC | UNIT_FILES…]' : '[SPEC | UNIT_FILES… | UNITS…]';
  return `usage: fleetkit ${verb} ${what} [options]

${summaries[verb]}.
SPEC (default ./cluster.yaml) is rendered in memory. units/web@2.service resolves units/web@.service beside it.

target:
  --endpoint URL         fleet API: unix:///PATH or http(s)://HOST:PORT (default $FLEETCTL_ENDPOINT,
                         else unix:///var/run/fleet.sock)
  --request-timeout D    per request to fleet, headers and body (default 10s)
${FLEET_CONNECTION_HELP}  --systemd              the local systemd over D-Bus instead of fleet
  --user                 with --systemd: the user manager (DBUS_SESSION_BUS_ADDRESS)
  --runtime              with --systemd: /run/systemd/system (or $XDG_RUNTIME_DIR/systemd/user)
  --unit-dir DIR         with --systemd: write unit files here (linked when outside systemd's path)
  --journal-dir DIR      with --systemd: journal directory for failure reports (journalctl -D)
  --settle D             with --systemd: look once more this long after the last start (default 0)

behaviour:
${verb === 'load' ? '  --no-start             load only (fleet: desired state loaded)\n' : ''}${verb === 'load' || verb === 'start' ? '  --replace              replace units that differ (otherwise list the difference and exit 1); running\n                         units are replaced one at a time: stopped, waited on until down, started anew\n                         and waited on until healthy, stopping at the first failure (the rest keep their\n                         old version); a global unit (fleet: no target state per machine) is down on every\n                         machine at once while it is replaced; with --no-block, only units that do not\n                         run are replaced (at once), and running ones are refused;\n                         a unit whose container runs an older config than its unit (the agents\' facts)\n                         differs too, and is restarted the same way\n  --max-unavailable N    with --replace: replace up to N running units at a time (default 1)\n  --etcd URL…            where the agents publish container facts and announcements, read while waiting\n                         (default: the spec\'s etcd; also --etcd-prefix, --etcd-ca/-cert/-key/-user/-password-file);\n                         with --replace, a replaced unit counts once its new container runs and is announced again\n  --prune                destroy units of this cluster that are no longer in the spec\n  --no-announcements     do not wait for announcements in etcd (a unit with a sidekick then counts once both\n                         are active)\n' : ''}${TAKES_DOWN.has(verb) ? '  --etcd URL…            where the agents publish container facts (default: the spec\'s etcd, else\n                         $ETCDCTL_ENDPOINTS, else http://127.0.0.1:2379; also --etcd-prefix, --etcd-ca/-cert/-key/\n                         -user/-password-file)\n' : ''}  --target NAME          render SPEC for these hosts: current or legacy (default: the spec's x-fleetkit.target)
${CLUSTER_FLAGS_HELP}
  --parallel N           requests/jobs in flight (default 16)
  --no-wait, --no-block  do not wait for units to settle
  --block-attempts N     wait at most N polls of 250 ms (fleetctl's; --timeout in its own unit)
  --timeout D            how long to wait (default 60s)
  --stable D             a unit with Restart= must stay active this long to count as healthy (default 3s);
                         3 restarts within the wait, or restarting when it ends, is a crash loop
  --dry-run              print the plan (what would be created, replaced, started, removed) and change nothing
  --json                 one JSON document on stdout

A started unit counts only when healthy: active and not restarting. A crash loop fails the unit at once,
with its exit status and last journal lines. A container unit with a discovery sidekick (x-announce) counts
once its container is announced in etcd (the spec's etcd, or --etcd): an announcement made before its
container started does not count, and an etcd that cannot be read leaves the unit unknown (exit 1).${verb === 'start' ? `
Units named without a spec: the discovery sidekicks a named container unit wants (Wants=) are started with
it, each in its own row; a sidekick not on the host at all fails the unit at once (nothing announces it).
Their sidekicks' units name the keys and the cluster's agent unit the etcd (--etcd overrides it); when
nothing names one, a unit that needs an announcement is unknown (exit 1).` : ''}${verb === 'stop' ? `
Units named without a spec: the discovery sidekicks a named container unit wants are stopped with it.` : ''}${TAKES_DOWN.has(verb) ? `
A ${verb === 'stop' ? 'stopped' : verb === 'unload' ? 'unloaded' : 'destroyed'} unit that runs a container counts only once the cluster's agent reports the container exited or
removed (read from the spec's etcd, or --etcd, or for units named without a spec the etcd their cluster's
agent unit names); with no report, or a report its agent no longer keeps up
(killed, stopped or cut off from etcd), it is counted unknown.` : ''}

exit status: 0 all went well, 1 something failed, differs or is unknown, 2 bad usage.`;
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
    } else {
      for (const f of ['endpoint', 'tunnel', 'ca-file', 'cert-file', 'key-file'] as const) if (v[f] !== undefined) throw new UsageError(`--${f} is for fleet; --systemd talks to the local systemd`);
    }
    if (v['block-attempts'] !== undefined && v.timeout !== undefined) throw new UsageError('--block-attempts and --timeout both bound the wait: give one');
    if (v['no-start'] && verb !== 'load') throw new UsageError('--no-start is an option of load');
    if (v['no-announcements'] && verb !== 'load' && verb !== 'start') throw new UsageError('--no-announcements is an option of load and start');
    if ((v.replace || v.prune) && verb !== 'load' && verb !== 'start') throw new UsageError(`--${v.replace ? 'replace' : 'prune'} is an option of load and start`);
    if (v.wait && (v['no-wait'] || v['no-block'])) throw new UsageError(`--wait and --${v['no-wait'] ? 'no-wait' : 'no-block'} contradict each other`);
    if (v['max-unavailable'] !== undefined && !v.replace) throw new UsageError('--max-unavailable needs --replace', 'it says how many running units a replace may take down at a time');
    const maxUnavailable = intOption('max-unavailable', v['max-unavailable'], 1);
    const parallel = intOption('parallel', v.parallel, 16);
    const timeoutMs = v['block-attempts'] !== undefined ? intOption('block-attempts', v['block-attempts'], 1) * 250 : durationOption('timeout', v.timeout, 60_000);
    const requestTimeoutMs = durationOption('request-timeout', v['request-timeout'], 10_000);
    const endpoint = v.systemd ? undefined : fleetEndpointFrom(v.endpoint, io.env);
    const connection = endpoint && fleetConnectionFrom(endpoint, { tunnel: v.tunnel, caFile: v['ca-file'], certFile: v['cert-file'], keyFile: v['key-file'] }, io.env);

    const sel = await resolveSelection(positionals, io.cwd, verb === 'load' ? 'files' : verb === 'start' ? 'either' : 'names', targetOption(v.target, `fleetkit ${verb}`), clusterFileFlags(v));
    if (v.target !== undefined && sel.kind !== 'spec') throw new UsageError('--target needs a SPEC: unit files and names are already rendered');
    if (v.prune && sel.kind !== 'spec') throw new UsageError('--prune needs a SPEC: only a spec says which units belong to the cluster');
    const json = Boolean(v.json);
    const warned = new Set<string>();
    const warn = (text: string): void => {
      if (warned.has(text)) return;
      warned.add(text);
      io.stderr.write(`warning: ${text}\n`);
    };
    if (sel.kind === 'spec') for (const w of sel.warnings) warn(w);
    // systemd runs every unit here: what of the units' fleet placement that leaves unmet is worth a line.
    if (v.systemd && sel.kind !== 'names' && (verb === 'load' || verb === 'start')) for (const w of oneHostPlacementWarnings(sel.desired.map((d) => d.unit))) warn(w);
    const wait = !(v['no-wait'] || v['no-block']);
    const host = await openUnitHost(v.systemd
      ? { kind: 'systemd', user: Boolean(v.user), runtime: Boolean(v.runtime), unitDir: v['unit-dir'], journalDir: v['journal-dir'], settleMs: durationOption('settle', v.settle, 0), env: io.env }
      : { kind: 'fleet', endpoint: endpoint!, requestTimeoutMs, parallel, signal: io.signal, ...(connection ? { connection } : {}) });
    // etcd, as the spec (or --etcd, or etcd's default) names it: the agents' container facts (restart counts
    // where the host keeps none: fleet) and the announcements a container with a sidekick needs. Connected only
    // when read.
    // Units named without a spec (start web@1, stop web@1): the discovery sidekicks they want go with them
    // (src/cli/named-units.ts); for a start, their own text on the host says the sidekicks' keys and the etcd.
    const named = sel.kind === 'names' && (verb === 'start' || verb === 'stop') ? await readNamedUnits(host, sel.names, verb, Boolean(v.systemd)) : undefined;
    const names = named?.names ?? (sel.kind === 'names' ? sel.names : []);
    // The etcd of units named without a spec, from their cluster's agent unit: their announcements (start) and
    // the container facts a start or a taking down waits on.
    const namedEtcd = sel.kind === 'names' && wait && (verb === 'start' || TAKES_DOWN.has(verb)) ? await etcdOfNamed(host, named?.units ?? [...(await host.units(sel.names)).values()], v, io.env) : undefined;
    const factsEtcd = sel.kind !== 'names' && wait ? etcdOptionsFrom(v, sel.kind === 'spec' ? sel.etcd : undefined, io.env) : verb === 'start' ? namedEtcd?.etcd : undefined;
    const facts = factsEtcd && etcdFacts(factsEtcd, factsEtcd.prefix, Math.min(requestTimeoutMs, 2000));
    const namedAnn = namedEtcd && named && !v['no-announcements'] ? namedAnnouncements(named, namedEtcd.unchecked, facts && { read: facts.announcements, endpoint: facts.endpoint, check: facts.check }) : undefined;
    let result;
    const closers: (() => void)[] = [];
    try {
      const desired = sel.kind === 'names' ? undefined : sel.desired.map((d) => ({ desired: d, def: host.definitionOf(d) }));
      // Only what the plan compares is read: every definition for a spec (stale ones are recognised by their
      // cluster marker), else just the desired ones.
      const current = await host.definitions(sel.kind === 'spec' || verb === 'destroy' ? undefined : sel.kind === 'names' ? names : desired!.map((x) => x.def.id));
      const planWith = (running?: ReadonlyMap<string, readonly string[]>): Step[] => plan({
        verb, start: !v['no-start'], replace: Boolean(v.replace), prune: Boolean(v.prune),
        cluster: sel.kind === 'spec' ? sel.cluster : undefined,
        desired, names, current,
        // fleetkit's own units go last: while the containers' units are unloaded, their sidekicks withdraw
        // through the agent and watch-hosts writes the removals.
        removeLast: new Set([...current.keys(), ...names].filter(isHostUnit)),
        ...(running ? { running } : {}),
      });
      let steps = planWith();
      // A unit whose definition stays may still run an older container (load/outdated.ts): the agents' facts of
      // those units are read, and the plan made again with them. Read whether or not load waits: --no-block
      // must not call such a unit unchanged either.
      if ((verb === 'load' || verb === 'start') && !v['no-start'] && desired) {
        const same = new Set(steps.flatMap((st) => (st.kind === 'unchanged' ? [st.id] : [])));
        const names = desired.filter((x) => x.desired.start && same.has(x.def.id)).map((x) => x.desired.unit.name);
        const etcd = names.length && !facts ? etcdOptionsFrom(v, sel.kind === 'spec' ? sel.etcd : undefined, io.env) : undefined;
        const source = etcd ? etcdFacts(etcd, etcd.prefix, Math.min(requestTimeoutMs, 2000)) : names.length ? facts : undefined;
        if (etcd && source) closers.push(() => source.close());
        const running = new Map([...(source ? await source.facts(names) : [])].flatMap(([n, f]) => (f.configHashes ? [[n, f.configHashes] as const] : [])));
        if (running.size) steps = planWith(running);
      }
      if (v.replace && !wait && desired) await refuseUnwaitedReplace(host, steps, desired.map((x) => ({ desired: x.desired, id: x.def.id })));
      if (v['dry-run']) {
        const text = describePlan(steps);
        io.stdout.write(json ? `${JSON.stringify({ verb, host: host.endpoint, steps }, null, 2)}\n` : `${host.endpoint}: ${verb} would\n${text.map((l) => `  ${l}`).join('\n') || '  change nothing'}\n`);
        return steps.some((st) => st.kind === 'conflict' || st.kind === 'outdated') ? ExitCode.failed : ExitCode.ok;
      }
      // A rolling replace of a spec sees each new container run through the agents' facts in its etcd.
      // Unit files name no etcd: --etcd gives it.
      const evidence = v.replace && (sel.kind === 'spec' || v.etcd?.length) ? etcdEvidence(etcdOptionsFrom(v, sel.kind === 'spec' ? sel.etcd : undefined, io.env)) : undefined;
      if (evidence) closers.push(() => evidence.close());
      // A stop, unload or destroy waits for the agents to see each container down (src/load/stop-facts.ts), read
      // from the spec's etcd (or --etcd); etcd is connected only when a container unit is taken down.
      let stopFacts: StopFacts | undefined;
      if (TAKES_DOWN.has(verb) && wait) {
        const etcd = namedEtcd?.etcd ?? etcdOptionsFrom(v, sel.kind === 'spec' ? sel.etcd : undefined, io.env);
        const source = etcdEvidence({ ...etcd, callTimeoutMs: Math.min(requestTimeoutMs, 2000) });
        closers.push(() => source.close());
        const lines = new Map([...current].map(([id, d]) => [id, d.lines] as const));
        for (const x of desired ?? []) lines.set(x.desired.unit.name, x.def.lines);
        stopFacts = {
          runsContainer: (name) => labelsContainer(lines.get(name) ?? lines.get(templateOf(name) ?? '') ?? []),
          read: (units) => source.facts(units),
          keepers: (records) => source.keepers(records),
          where: `etcd at ${etcd.endpoints.join(',')} (prefix ${etcd.prefix})`,
        };
      }
      result = await execute(host, steps, {
        ...(evidence ? { evidence } : {}),
        ...(stopFacts ? { stopFacts } : {}),
        verb, wait, timeoutMs, parallel, signal: io.signal, maxUnavailable: wait ? maxUnavailable : 0,
        desired: desired?.map((x) => ({ desired: x.desired, id: x.def.id })),
        health: {
          stableMs: durationOption('stable', v.stable, 3000), journal: (ref) => failureJournal(ref, io.env),
          ...(facts ? { facts: facts.keptFacts } : {}),
          // fleet keeps no restart count: the facts before the start jobs are the baseline of this run's restarts.
          ...(facts && !v.systemd ? { factsBefore: facts.facts } : {}),
          ...(facts && desired && !v['no-announcements'] ? { announcements: { units: desired.map((x) => x.desired.unit), read: facts.announcements, endpoint: facts.endpoint, check: facts.check } } : {}),
          ...(namedAnn ? { announcements: namedAnn } : {}),
        },
        progress: (total, label) => new Progress(io.stderr, total, label, json),
      });
    } finally {
      host.close();
      for (const close of closers) close();
      facts?.close();
    }
    const ok = printSummary(io, result.outcomes, { json, verb, stale: result.stale, pruned: Boolean(v.prune) });
    // What --no-block leaves unsaid: the host took the request, and the containers may run on for their stop timeout.
    if (!wait && !json && TAKES_DOWN.has(verb) && result.outcomes.some((o) => o.ok && o.change !== 'unchanged' && o.change !== 'absent' && o.change !== 'kept')) {
      io.stderr.write(`not waited (--no-${v['no-block'] ? 'block' : 'wait'}): the host took the request; the containers may run until their stop timeout (fleetkit status shows when they are down)\n`);
    }
    return ok ? ExitCode.ok : ExitCode.failed;
  };
}


/**
 * `--replace` with `--no-block`. A running unit is replaced by stopping it, waiting until it is down, then
 * waiting for its new version to be healthy (`load/rolling.ts`): fleet's agent keeps the old process when a
 * running unit's definition is only swapped, so there is no replace of a running unit without those waits.
 * Such a replace is refused before anything is sent, naming the units; units that do not run are replaced
 * at once, without waiting, as --no-block asks.
 */
async function refuseUnwaitedReplace(host: UnitHost, steps: readonly Step[], desired: ReadonlyArray<{ readonly desired: DesiredUnit; readonly id: string }>): Promise<void> {
  const changed = splitRolling(steps, desired).groups.flatMap((g) => [...g.changed]);
  if (!changed.length) return;
  const states = await host.states(changed, { history: false });
  const running = changed.filter((n) => mayRun(states.get(n) ?? { activeState: 'inactive' }));
  if (!running.length) return;
  const shown = running.length > 3 ? `${running.slice(0, 3).join(', ')} and ${running.length - 3} more` : running.join(', ');
  throw new UsageError(`--replace --no-block cannot replace running units (${shown}): each is stopped, waited on until down and its new version waited on until healthy, --max-unavailable at a time; nothing was changed`,
    'drop --no-block to replace them that way, or stop them first (fleetkit stop) to replace them at once without waiting');
}
