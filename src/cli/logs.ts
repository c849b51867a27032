/**
 * `fleetkit logs NAME…`: journal lines of units, as journalctl shows them and with journalctl's flags,
 * read here or over SSH on the machine fleet placed each unit on (as `fleetctl journal` does), merged by
 * time when several units or machines are read.
 */
import { ExitCode, FleetkitError, RemoteError, UsageError } from '../errors.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { localMachineId } from '../ops/local-machine.js';
import { LOG_OUTPUTS, type LogOutput } from '../ops/log-lines.js';
import { parseLines, parseLogName, parsePriority } from '../ops/log-names.js';
import { fleetLogPlan, localLogPlan, type LogPlan } from '../ops/log-targets.js';
import { anyLogEntry, showLogs } from '../ops/show-logs.js';
import { startFailure, unreachable } from '../ops/unreachable.js';
import { durationOption, parseCommandArgs } from './args.js';
import { useColor, type Command } from './io.js';

export const HELP = `usage: fleetkit logs [NAME…] [-u NAME]… [options]

Journal lines of units, read with journalctl and its flags. A NAME is a unit (web@2.service), an instance
(web@2), a service (web: web.service and every web@N.service) or a glob (web@*, "db-?"). Lines of several
units are merged by time, each prefixed with its unit. fleet says where each unit runs: this machine's units
are read from the local journal, other machines' over SSH to their IP (ssh USER@IP journalctl …), as
fleetctl journal does. Units fleet does not list (destroyed ones) are read from the local journal, which
keeps their lines.

options:
  -u, --unit NAME          a unit, instance, service or glob (repeatable; same as a NAME argument)
  -n, --lines N            the newest N entries (default 10; all with --since/--until); "all" for every one
  -S, --since T            entries since T, as journalctl reads it: "2024-05-01 10:00", -1h, "1 hour ago",
                           today, yesterday, @1716000000 (systemd.time(7))
  -U, --until T            entries until T, read the same way
  -p, --priority P         a level (emerg alert crit err warning notice info debug, or 0-7) and the more
                           important ones, or a range such as warning..err
  -r, --reverse            newest first
  -f, --follow             keep printing new entries (not with -r); a glob or service is matched against
                           the units the journal knows when it starts, as journalctl does
  -o, --output FORMAT      short (default), short-iso, cat (messages only) or json (one object per line)
  --no-pager               accepted for journalctl's sake: fleetkit never pages
  --user                   user units (journalctl --user-unit) instead of system units
  -D, --journal-dir DIR    read this journal directory (journalctl -D)
  --systemd                no fleet: every journal is this machine's
  --endpoint URL           fleet's API (default FLEETCTL_ENDPOINT, else unix:///var/run/fleet.sock)
  --timeout D              how long fleet may take to answer (default 5s)
  --machine-id ID          this host's machine id (default /etc/machine-id): its units are read locally
  --ssh-user U             user for SSH (default core)
  --ssh-option OPT         an ssh -o option, e.g. Port=2222 (repeatable)
`;

const options = {
  unit: { type: 'string', short: 'u', multiple: true },
  follow: { type: 'boolean', short: 'f' },
  lines: { type: 'string', short: 'n' },
  since: { type: 'string', short: 'S' },
  until: { type: 'string', short: 'U' },
  priority: { type: 'string', short: 'p' },
  reverse: { type: 'boolean', short: 'r' },
  output: { type: 'string', short: 'o' },
  'no-pager': { type: 'boolean' },
  user: { type: 'boolean' },
  'journal-dir': { type: 'string', short: 'D' },
  systemd: { type: 'boolean' },
  endpoint: { type: 'string' },
  timeout: { type: 'string' },
  'machine-id': { type: 'string' },
  'ssh-user': { type: 'string' },
  'ssh-option': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

export const run: Command = async (argv, io) => {
  const { values: v, positionals } = parseCommandArgs('fleetkit logs', argv, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const given = [...positionals, ...(v.unit ?? [])];
  if (given.length === 0) throw new UsageError('logs needs a unit, service or glob name', "e.g. 'fleetkit logs web@2', 'fleetkit logs web' or 'fleetkit logs \"web@*\"'");
  const names = given.map(parseLogName);
  const output = (v.output ?? 'short') as LogOutput;
  if (!LOG_OUTPUTS.includes(output)) throw new UsageError(`-o must be one of ${LOG_OUTPUTS.join(', ')}, not "${v.output}"`);
  if (v.priority !== undefined) parsePriority(v.priority);
  // journalctl refuses both (journalctl.c): a reversed stream has no end to follow from.
  if (v.follow && v.reverse) throw new UsageError('-f and -r cannot be used together', 'follow shows new entries as they come, oldest first');
  const timed = v.since !== undefined || v.until !== undefined;
  const lines = v.lines !== undefined ? parseLines(v.lines) : timed ? undefined : 10;
  const timeoutMs = durationOption('timeout', v.timeout, 5000);
  const sshUser = v['ssh-user'] ?? 'core';
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(sshUser)) throw new UsageError(`--ssh-user "${sshUser}" is not a user name`);
  for (const o of v['ssh-option'] ?? []) {
    if (!/^[A-Za-z]+[= ]/.test(o)) throw new UsageError(`--ssh-option "${o}" is not an ssh option`, 'write it as ssh -o takes it, e.g. Port=2222');
  }

  let plan: LogPlan;
  if (v.systemd) plan = localLogPlan(names);
  else {
    const { FleetClient } = await import('../fleet/fleet-client.js');
    const fleet = new FleetClient({ endpoint: fleetEndpointFrom(v.endpoint, io.env), timeoutMs });
    try {
      plan = await fleetLogPlan(fleet, names, await localMachineId(v['machine-id']));
    } catch (e) {
      // Not reaching fleet is said in one line, as events says it; fleet's refusals keep their own words.
      if (e instanceof RemoteError && ['ERR_FLEET_UNREACHABLE', 'ERR_FLEET_TIMEOUT', 'ERR_FLEET_CLOSED'].includes(e.code)) {
        throw unreachable('fleet', { endpoint: fleet.endpoint.text, check: 'is fleetd running there? check --endpoint or FLEETCTL_ENDPOINT (--systemd reads this machine\'s journal without fleet)' }, startFailure(e, timeoutMs));
      }
      throw e;
    } finally {
      fleet.close();
    }
  }
  const common = { plan, user: Boolean(v.user), journalDir: v['journal-dir'], ssh: { user: sshUser, options: v['ssh-option'] ?? [] }, env: io.env, signal: io.signal };
  const shown = await showLogs({
    ...common,
    names,
    filter: { lines, since: v.since, until: v.until, priority: v.priority, reverse: Boolean(v.reverse) },
    follow: Boolean(v.follow),
    output,
    // Decided by the request, not by what it found: the same command always prints the same layout.
    labelled: names.length > 1 || names.some((n) => n.several) || plan.sources.length > 1,
    color: useColor(io),
    write: (line) => io.stdout.write(`${line}\n`),
  });
  // Nothing shown may be the filters' doing (journalctl prints nothing then, too) or a name no journal has
  // ever seen: the second is a mistake worth saying.
  if (shown === 0 && !v.follow && !io.signal.aborted && !(await anyLogEntry(common))) {
    const what = `unit matching ${given.map((g) => `"${g}"`).join(', ')}`;
    const message = v.systemd
      ? `this machine's journal has no lines of any ${what}`
      : plan.unlisted.length === names.length
        ? `fleet lists no ${what}, and this machine's journal has no lines of one`
        : `the journals read have no lines of any ${what}`;
    throw new FleetkitError('ERR_UNKNOWN_UNIT', message, {
      hint: "'fleetkit status' lists the units; give a unit (web@2.service), an instance (web@2), a service (web) or a glob (\"web@*\")",
      exitCode: ExitCode.usage,
    });
  }
  return ExitCode.ok;
};
