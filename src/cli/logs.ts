/**
 * `fleetkit logs UNIT|SERVICE`: journal lines of a unit, or of every instance of a service merged by time,
 * read with journalctl here or over SSH on the unit's machine (as `fleetctl journal` does).
 */
import { ExitCode, UsageError } from '../errors.js';
import { fleetEndpointFrom } from '../fleet/endpoint.js';
import { localMachineId } from '../ops/local-machine.js';
import { fleetLogTargets, systemdLogTargets, type LogTarget } from '../ops/log-targets.js';
import type { LogOutput } from '../ops/log-lines.js';
import { showLogs } from '../ops/show-logs.js';
import { intOption, parseCommandArgs } from './args.js';
import { useColor, type Command } from './io.js';

const HELP = `usage: fleetkit logs UNIT|SERVICE [options]

Journal lines of a unit (web@2.service, web@2) or of every instance of a service (web), merged by time and
prefixed with the instance. Units on this machine are read from the local journal; units on other machines
over SSH to the machine's IP from fleet (ssh USER@IP journalctl …), as fleetctl journal does.

options:
  -f, --follow             keep printing new lines
  -n, --lines N            the last N lines (default 10; all with --since)
  --since T                lines since T, as journalctl reads it (2024-05-01 10:00, -1h, yesterday)
  -o, --output FORMAT      short (default), json (one object per line) or cat (messages only)
  --user                   user units (journalctl --user-unit) instead of system units
  --journal-dir DIR        read this journal directory (journalctl -D)
  --systemd                no fleet: find the units in the local systemd (D-Bus); all journals are local
  --endpoint URL           fleet's API (default FLEETCTL_ENDPOINT, else unix:///var/run/fleet.sock)
  --machine-id ID          this host's machine id (default /etc/machine-id): its units are read locally
  --ssh-user U             user for SSH (default core)
  --ssh-option OPT         an ssh -o option, e.g. Port=2222 (repeatable)
`;

const options = {
  follow: { type: 'boolean', short: 'f' },
  lines: { type: 'string', short: 'n' },
  since: { type: 'string' },
  output: { type: 'string', short: 'o' },
  user: { type: 'boolean' },
  'journal-dir': { type: 'string' },
  systemd: { type: 'boolean' },
  endpoint: { type: 'string' },
  'machine-id': { type: 'string' },
  'ssh-user': { type: 'string' },
  'ssh-option': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const OUTPUTS: readonly LogOutput[] = ['short', 'json', 'cat'];

export const run: Command = async (argv, io) => {
  const { values: v, positionals } = parseCommandArgs('fleetkit logs', argv, options);
  if (v.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'logs needs a unit or service name' : `logs takes one unit or service name, got ${positionals.length}`, "e.g. 'fleetkit logs web@2' or 'fleetkit logs web'");
  }
  const name = positionals[0]!;
  const output = (v.output ?? 'short') as LogOutput;
  if (!OUTPUTS.includes(output)) throw new UsageError(`-o must be one of ${OUTPUTS.join(', ')}, not "${v.output}"`);
  const lines = v.lines === undefined && v.since !== undefined ? undefined : intOption('lines', v.lines, 10, 0);
  const sshUser = v['ssh-user'] ?? 'core';
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(sshUser)) throw new UsageError(`--ssh-user "${sshUser}" is not a user name`);
  for (const o of v['ssh-option'] ?? []) {
    if (!/^[A-Za-z]+[= ]/.test(o)) throw new UsageError(`--ssh-option "${o}" is not an ssh option`, 'write it as ssh -o takes it, e.g. Port=2222');
  }

  let targets: LogTarget[];
  if (v.systemd) {
    const { SystemdManager } = await import('../systemd/systemd-manager.js');
    const manager = await SystemdManager.connect({ user: Boolean(v.user), env: io.env });
    try {
      targets = await systemdLogTargets(manager, name);
    } finally {
      manager.close();
    }
  } else {
    const { FleetClient } = await import('../fleet/fleet-client.js');
    const fleet = new FleetClient({ endpoint: fleetEndpointFrom(v.endpoint, io.env), timeoutMs: 5000 });
    try {
      targets = await fleetLogTargets(fleet, name, await localMachineId(v['machine-id']));
    } finally {
      fleet.close();
    }
  }
  await showLogs({
    targets,
    user: Boolean(v.user),
    journalDir: v['journal-dir'],
    lines,
    since: v.since,
    follow: Boolean(v.follow),
    output,
    color: useColor(io),
    ssh: { user: sshUser, options: v['ssh-option'] ?? [] },
    env: io.env,
    signal: io.signal,
    write: (line) => io.stdout.write(`${line}\n`),
  });
  return ExitCode.ok;
};
