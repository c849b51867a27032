/**
 * The version that introduced every systemd directive and docker flag fleetkit can emit, with its source.
 * `check-unit.ts` checks rendered units against it, and a test renders every example and test spec for
 * every target and fails on a directive or flag missing here, so the table stays complete.
 *
 * Sources: systemd's man pages (systemd.unit(5), systemd.service(5), systemd.exec(5)) note "Added in
 * version N" per setting; settings older than those notes carry none (noted here as `since: 0`). Docker's
 * flags come from its release notes (CHANGELOG.md of moby/moby and docker/cli) and pull requests.
 */
import type { DockerVersion } from './targets.js';

/** A `[Section] Name=` directive. */
export interface DirectiveRow {
  readonly section: string;
  readonly name: string;
  /** First systemd release with it; 0: older than the man pages' version notes. */
  readonly since: number;
  readonly source: string;
}

/**
 * A value that a directive gained later than the directive itself, or only in combination with another
 * setting: `Restart=on-failure` was refused for `Type=oneshot` before systemd 244.
 */
export interface ValueRow {
  readonly section: string;
  readonly name: string;
  /** The values this row is about. */
  readonly values: readonly string[];
  /** Only when the unit also has this setting. */
  readonly with?: { readonly name: string; readonly value: string };
  readonly since: number;
  readonly source: string;
}

/** A docker subcommand, or `global` for the flags before it. */
export type DockerCommand = 'global' | 'run' | 'exec' | 'stop' | 'kill' | 'rm' | 'volume';

/** A docker CLI flag of one subcommand. */
export interface DockerFlagRow {
  readonly command: DockerCommand;
  /** Every spelling: `--env`, `-e`. Empty for the row of the subcommand itself. */
  readonly names: readonly string[];
  /** Takes a value (`-e X`, `--env=X`); boolean flags may still be written `--rm=true`. */
  readonly value: boolean;
  readonly since: DockerVersion;
  readonly source: string;
}

const UNIT5 = 'systemd.unit(5)';
const SERVICE5 = 'systemd.service(5)';
const EXEC5 = 'systemd.exec(5)';
const noted = (page: string, n: number): string => `${page}: "Added in version ${n}."`;
const older = (page: string): string => `${page}: no version note (older than the notes)`;

/** Every directive fleetkit writes, and the common ones asked for through `x-systemd`. */
export const DIRECTIVES: readonly DirectiveRow[] = [
  { section: 'Unit', name: 'Description', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'Documentation', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'Wants', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'Requires', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'Requisite', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'BindsTo', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'PartOf', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'Upholds', since: 249, source: noted(UNIT5, 249) },
  { section: 'Unit', name: 'Conflicts', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'Before', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'After', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'OnFailure', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'OnSuccess', since: 249, source: noted(UNIT5, 249) },
  // on-failure:N (plan-container.ts): [Unit] since 229, when they moved from [Service] as StartLimitInterval=/StartLimitBurst=.
  { section: 'Unit', name: 'StartLimitIntervalSec', since: 229, source: noted(UNIT5, 229) },
  { section: 'Unit', name: 'StartLimitBurst', since: 229, source: noted(UNIT5, 229) },
  { section: 'Unit', name: 'PropagatesReloadTo', since: 201, source: noted(UNIT5, 201) },
  { section: 'Unit', name: 'ReloadPropagatedFrom', since: 201, source: noted(UNIT5, 201) },
  { section: 'Service', name: 'Type', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'ExitType', since: 250, source: noted(SERVICE5, 250) },
  { section: 'Service', name: 'RemainAfterExit', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'ExecStart', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'ExecStartPre', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'ExecStartPost', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'ExecCondition', since: 243, source: noted(SERVICE5, 243) },
  { section: 'Service', name: 'ExecReload', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'ExecStop', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'ExecStopPost', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'Restart', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'RestartSec', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'RestartSteps', since: 254, source: noted(SERVICE5, 254) },
  { section: 'Service', name: 'RestartMaxDelaySec', since: 254, source: noted(SERVICE5, 254) },
  { section: 'Service', name: 'RestartMode', since: 254, source: noted(SERVICE5, 254) },
  { section: 'Service', name: 'RestartPreventExitStatus', since: 189, source: noted(SERVICE5, 189) },
  { section: 'Service', name: 'RestartForceExitStatus', since: 215, source: noted(SERVICE5, 215) },
  { section: 'Service', name: 'SuccessExitStatus', since: 189, source: noted(SERVICE5, 189) },
  { section: 'Service', name: 'TimeoutSec', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'TimeoutStartSec', since: 188, source: noted(SERVICE5, 188) },
  { section: 'Service', name: 'TimeoutStopSec', since: 188, source: noted(SERVICE5, 188) },
  { section: 'Service', name: 'TimeoutAbortSec', since: 243, source: noted(SERVICE5, 243) },
  { section: 'Service', name: 'TimeoutStartFailureMode', since: 246, source: noted(SERVICE5, 246) },
  { section: 'Service', name: 'TimeoutStopFailureMode', since: 246, source: noted(SERVICE5, 246) },
  { section: 'Service', name: 'RuntimeMaxSec', since: 229, source: noted(SERVICE5, 229) },
  { section: 'Service', name: 'RuntimeRandomizedExtraSec', since: 250, source: noted(SERVICE5, 250) },
  { section: 'Service', name: 'WatchdogSec', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'NotifyAccess', since: 0, source: older(SERVICE5) },
  { section: 'Service', name: 'OOMPolicy', since: 243, source: noted(SERVICE5, 243) },
  { section: 'Service', name: 'OpenFile', since: 253, source: noted(SERVICE5, 253) },
  { section: 'Service', name: 'ReloadSignal', since: 253, source: noted(SERVICE5, 253) },
  // systemd.exec(5): fleetkit writes SyslogIdentifier= and Environment=; the others are common x-systemd asks.
  { section: 'Service', name: 'SyslogIdentifier', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'Environment', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'EnvironmentFile', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'User', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'Group', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'WorkingDirectory', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'LimitNOFILE', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'Nice', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'StandardOutput', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'StandardError', since: 0, source: older(EXEC5) },
  { section: 'Service', name: 'LogLevelMax', since: 236, source: noted(EXEC5, 236) },
  { section: 'Service', name: 'LogRateLimitIntervalSec', since: 240, source: noted(EXEC5, 240) },
  { section: 'Service', name: 'LogRateLimitBurst', since: 240, source: noted(EXEC5, 240) },
  { section: 'Service', name: 'LoadCredential', since: 247, source: noted(EXEC5, 247) },
  { section: 'Service', name: 'SetCredential', since: 247, source: noted(EXEC5, 247) },
];

/** Values and combinations newer than their directive. */
export const VALUES: readonly ValueRow[] = [
  {
    section: 'Service',
    name: 'Restart',
    values: ['on-failure', 'on-abnormal', 'on-watchdog', 'on-abort'],
    with: { name: 'Type', value: 'oneshot' },
    since: 244,
    // Before 244 systemd refuses the whole unit: "Restart= setting other than no, which isn't allowed for Type=oneshot".
    source: 'systemd NEWS 244; systemd/systemd#13754 "Allow restart for oneshot units"',
  },
];

/**
 * Unit properties fleetkit reads (`systemctl show -P NAME`, D-Bus): on an older systemd they are absent, and
 * a reader must take absence as "unknown", never as zero.
 */
export const PROPERTIES: readonly DirectiveRow[] = [
  { section: 'org.freedesktop.systemd1.Service', name: 'NRestarts', since: 235, source: 'org.freedesktop.systemd1(5); systemd NEWS 235 ("NRestarts")' },
];

const CLI_1_12 = 'Docker 1.12.0 release notes (moby/moby CHANGELOG.md): run --health-* flags, moby/moby#23218';
const OLD_CLI = 'docker run reference; part of the CLI in every release since Docker 1.0';

/** Every docker flag fleetkit writes. Versions are those of the Docker release (engine and CLI). */
export const DOCKER_FLAGS: readonly DockerFlagRow[] = [
  { command: 'global', names: ['-H', '--host'], value: true, since: [1, 0], source: 'dockerd/docker -H, part of every release (docker(1))' },
  { command: 'run', names: [], value: false, since: [1, 0], source: OLD_CLI },
  { command: 'stop', names: [], value: false, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--rm'], value: false, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--name'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-e', '--env'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-p', '--publish'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-v', '--volume'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-h', '--hostname'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-u', '--user'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-w', '--workdir'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--entrypoint'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--env-file'], value: true, since: [1, 0], source: 'Docker 0.10 release notes (--env-file)' },
  { command: 'run', names: ['-l', '--label'], value: true, since: [1, 6], source: 'Docker 1.6.0 release notes (container labels)' },
  { command: 'run', names: ['--volume-driver'], value: true, since: [1, 8], source: 'Docker 1.8.0 release notes (volume plugins, --volume-driver)' },
  { command: 'run', names: ['--net', '--network'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--uts'], value: true, since: [1, 7], source: 'Docker 1.7.0 release notes (--uts=host)' },
  { command: 'run', names: ['--health-cmd'], value: true, since: [1, 12], source: CLI_1_12 },
  { command: 'run', names: ['--health-interval'], value: true, since: [1, 12], source: CLI_1_12 },
  { command: 'run', names: ['--health-timeout'], value: true, since: [1, 12], source: CLI_1_12 },
  { command: 'run', names: ['--health-retries'], value: true, since: [1, 12], source: CLI_1_12 },
  { command: 'run', names: ['--no-healthcheck'], value: false, since: [1, 12], source: CLI_1_12 },
  { command: 'run', names: ['--health-start-period'], value: true, since: [17, 5], source: 'Docker 17.05 (moby/moby#28938; docker/cli#116)' },
  { command: 'run', names: ['--init'], value: false, since: [1, 13], source: 'Docker 1.13.0 release notes: "Add --init flag to docker run" (moby/moby#26061)' },
  { command: 'run', names: ['--pull'], value: true, since: [20, 10], source: 'Docker 20.10 release notes: "Add --pull=missing|always|never to run and create commands" (docker/cli#1498)' },
  // Compose's one-flag service keys (docker-run-args.ts). Versions from Docker's release notes (moby/moby
  // CHANGELOG.md up to 17.03, docker/cli and docker/docs release notes after) and the docker run reference.
  { command: 'run', names: ['--platform'], value: true, since: [20, 10], source: 'Engine API 1.41 (Docker 20.10): "platform" on POST /containers/create; experimental-only in the CLI before' },
  { command: 'run', names: ['--domainname'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--expose'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--privileged'], value: false, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--dns'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--dns-search'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-m', '--memory'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['-c', '--cpu-shares'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'run', names: ['--cap-add'], value: true, since: [1, 2], source: 'Docker 1.2.0 release notes: "--cap-add and --cap-drop"' },
  { command: 'run', names: ['--cap-drop'], value: true, since: [1, 2], source: 'Docker 1.2.0 release notes: "--cap-add and --cap-drop"' },
  { command: 'run', names: ['--device'], value: true, since: [1, 2], source: 'Docker 1.2.0 release notes: "--device"' },
  { command: 'run', names: ['--security-opt'], value: true, since: [1, 3], source: 'Docker 1.3.0 release notes: "--security-opt" (SELinux/AppArmor labels)' },
  { command: 'run', names: ['--add-host'], value: true, since: [1, 3], source: 'Docker 1.3.0 release notes: "--add-host"; the host-gateway value needs 20.10' },
  { command: 'run', names: ['--memory-swap'], value: true, since: [1, 3], source: 'Docker 1.3 (moby/moby#8105 "--memory-swap")' },
  { command: 'run', names: ['--read-only'], value: false, since: [1, 5], source: 'Docker 1.5.0 release notes: "read-only root file system (--read-only)"' },
  { command: 'run', names: ['--pid'], value: true, since: [1, 5], source: 'Docker 1.5.0 release notes: "--pid=host"' },
  { command: 'run', names: ['--ipc'], value: true, since: [1, 5], source: 'Docker 1.5.0 release notes: "--ipc"; the shareable and private modes need 17.06' },
  { command: 'run', names: ['--ulimit'], value: true, since: [1, 6], source: 'Docker 1.6.0 release notes: "--ulimit"' },
  { command: 'run', names: ['--log-driver'], value: true, since: [1, 6], source: 'Docker 1.6.0 release notes: "logging drivers (--log-driver)"' },
  { command: 'run', names: ['--cgroup-parent'], value: true, since: [1, 6], source: 'Docker 1.6.0 release notes: "--cgroup-parent"' },
  { command: 'run', names: ['--cpuset-cpus'], value: true, since: [1, 6], source: 'Docker 1.6.0 release notes: "--cpuset-cpus" (was --cpuset)' },
  { command: 'run', names: ['--log-opt'], value: true, since: [1, 7], source: 'Docker 1.7.0 release notes: "--log-opt"' },
  { command: 'run', names: ['--oom-kill-disable'], value: false, since: [1, 7], source: 'Docker 1.7.0 release notes: "--oom-kill-disable"' },
  { command: 'run', names: ['--cpu-period'], value: true, since: [1, 7], source: 'Docker 1.7.0 release notes: "--cpu-period and --cpu-quota"' },
  { command: 'run', names: ['--cpu-quota'], value: true, since: [1, 7], source: 'Docker 1.7.0 release notes: "--cpu-period and --cpu-quota"' },
  { command: 'run', names: ['--group-add'], value: true, since: [1, 8], source: 'Docker 1.8.0 release notes: "--group-add"' },
  { command: 'run', names: ['--memory-swappiness'], value: true, since: [1, 8], source: 'Docker 1.8.0 release notes: "--memory-swappiness"' },
  { command: 'run', names: ['--stop-signal'], value: true, since: [1, 9], source: 'Docker 1.9.0 release notes: "--stop-signal"' },
  { command: 'run', names: ['--memory-reservation'], value: true, since: [1, 9], source: 'Docker 1.9.0 release notes: "--memory-reservation"' },
  { command: 'run', names: ['--tmpfs'], value: true, since: [1, 10], source: 'Docker 1.10.0 release notes: "--tmpfs"' },
  { command: 'run', names: ['--shm-size'], value: true, since: [1, 10], source: 'Docker 1.10.0 release notes: "--shm-size"' },
  { command: 'run', names: ['--oom-score-adj'], value: true, since: [1, 10], source: 'Docker 1.10.0 release notes: "--oom-score-adj"' },
  { command: 'run', names: ['--userns'], value: true, since: [1, 10], source: 'Docker 1.10.0 release notes: user namespaces, "--userns=host" in 1.11' },
  { command: 'run', names: ['--pids-limit'], value: true, since: [1, 11], source: 'Docker 1.11.0 release notes: "--pids-limit"' },
  { command: 'run', names: ['--sysctl'], value: true, since: [1, 12], source: 'Docker 1.12.0 release notes: "--sysctl"' },
  { command: 'run', names: ['--storage-opt'], value: true, since: [1, 12], source: 'Docker 1.12.0 release notes: "--storage-opt size=" on run' },
  { command: 'run', names: ['--runtime'], value: true, since: [1, 12], source: 'Docker 1.12.0 release notes: "--runtime"' },
  { command: 'run', names: ['--cpus'], value: true, since: [1, 13], source: 'Docker 1.13.0 release notes: "--cpus" (moby/moby#27958)' },
  { command: 'run', names: ['--dns-option'], value: true, since: [1, 13], source: 'Docker 1.13.0: --dns-option (the 1.9 spelling --dns-opt kept as an alias)' },
  { command: 'run', names: ['--device-cgroup-rule'], value: true, since: [17, 4], source: 'Docker 17.04 release notes: "--device-cgroup-rule" (moby/moby#22563)' },
  { command: 'run', names: ['--mount'], value: true, since: [17, 6], source: 'Docker 17.06.0-ce release notes: "Add --mount flag to docker run and docker create" (moby/moby#32251)' },
  { command: 'run', names: ['--gpus'], value: true, since: [19, 3], source: 'Docker 19.03 release notes: "--gpus" for NVIDIA GPUs (docker/cli#1714)' },
  { command: 'run', names: ['--cgroupns'], value: true, since: [20, 10], source: 'Docker 20.10 release notes: "--cgroupns" (cgroup v2 support)' },
  { command: 'run', names: ['--health-start-interval'], value: true, since: [25, 0], source: 'Docker 25.0 release notes / Engine API 1.44: HealthConfig.StartInterval, "--health-start-interval" (moby/moby#40894)' },
  { command: 'volume', names: [], value: false, since: [1, 9], source: 'Docker 1.9.0 release notes: "docker volume" commands (create, inspect, ls, rm)' },
  { command: 'exec', names: [], value: false, since: [1, 3], source: 'Docker 1.3.0 release notes (docker exec)' },
  { command: 'stop', names: ['-t', '--time'], value: true, since: [1, 0], source: OLD_CLI },
  { command: 'kill', names: [], value: false, since: [1, 0], source: OLD_CLI },
  { command: 'rm', names: [], value: false, since: [1, 0], source: OLD_CLI },
];

/** The directive row of `[section] name`, if known. */
export function directiveRow(section: string, name: string): DirectiveRow | undefined {
  return DIRECTIVES.find((r) => r.section === section && r.name === name);
}

/** The flag row of `flag` (`--pull`, `-e`) in `command`, if known. */
export function flagRow(command: DockerCommand, flag: string): DockerFlagRow | undefined {
  return DOCKER_FLAGS.find((r) => r.command === command && r.names.includes(flag));
}

/** The row of a docker subcommand itself, if known. */
export function commandRow(command: string): DockerFlagRow | undefined {
  return DOCKER_FLAGS.find((r) => r.command === command && r.names.length === 0);
}
