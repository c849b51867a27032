/**
 * Targets: the host generation a render is for, named by the oldest systemd and Docker it must run on.
 * Every directive and docker flag fleetkit emits is checked against the target's versions
 * (`feature-table.ts`, `check-unit.ts`). Pure.
 */

/** The targets' names, as written in `x-fleetkit.target` and `--target`. */
export const TARGET_NAMES = ['current', 'legacy'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** A Docker release as `[major, minor]`: 1.12, 17.09, 20.10. */
export type DockerVersion = readonly [major: number, minor: number];

/** A host generation. */
export interface Target {
  readonly name: TargetName;
  /** Oldest systemd the units must load and behave on. */
  readonly systemd: number;
  /** Oldest Docker engine and CLI the units' docker commands must work with. */
  readonly docker: DockerVersion;
  /** Where such hosts are found, for messages and help. */
  readonly hosts: string;
}

/** The targets. `current` is the default. */
export const TARGETS: Readonly<Record<TargetName, Target>> = {
  current: { name: 'current', systemd: 252, docker: [20, 10], hosts: 'Flatcar, Debian 12' },
  // Container Linux shipped systemd 231 with Docker 1.12 (later 17.09) and fleet.
  legacy: { name: 'legacy', systemd: 231, docker: [1, 12], hosts: 'CoreOS Container Linux with fleet' },
};

export const DEFAULT_TARGET: TargetName = 'current';

/** True when `s` names a target. */
export function isTargetName(s: unknown): s is TargetName {
  return typeof s === 'string' && (TARGET_NAMES as readonly string[]).includes(s);
}

/** `20.10`, `1.12`, `17.05`. */
export function formatDocker(v: DockerVersion): string {
  // Year-based releases (17.05 to 20.10) write the month with two digits; from 23.0 on, versions are semver.
  return `${v[0]}.${v[0] >= 17 && v[0] < 23 ? String(v[1]).padStart(2, '0') : v[1]}`;
}

/** Parses `20.10` / `1.12` into a DockerVersion; undefined when it is not one. */
export function parseDocker(s: string): DockerVersion | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(s);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** True when a feature from Docker `since` exists on `have`. */
export function dockerHas(have: DockerVersion, since: DockerVersion): boolean {
  return have[0] !== since[0] ? have[0] > since[0] : have[1] >= since[1];
}

/** One line describing a target, for help texts: `legacy: systemd ≥ 231, Docker ≥ 1.12 (CoreOS Container Linux with fleet)`. */
export function describeTarget(t: Target): string {
  return `${t.name}: systemd ≥ ${t.systemd}, Docker ≥ ${formatDocker(t.docker)} (${t.hosts})`;
}
