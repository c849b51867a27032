/**
 * `fleetkit doctor`'s checks, in the order they print, from what the command line and the spec say about
 * this host; and the report's two forms (text, one JSON object per check).
 */
import type { EtcdOptions } from '../etcd/connect.js';
import type { FleetEndpoint } from '../fleet/endpoint.js';
import type { FleetClientOptions } from '../fleet/fleet-client.js';
import type { RequiredVersions } from '../target/required-versions.js';
import { agentCheck } from './check-agent.js';
import { clockCheck } from './check-clock.js';
import { EtcdSession, etcdChecks } from './check-etcd.js';
import { flannelCheck, type FlannelCheckOptions } from './check-flannel.js';
import { fleetCheck } from './check-fleet.js';
import { hostsFileCheck, type HostsFileCheckOptions } from './check-hosts-file.js';
import { versionChecks } from './check-versions.js';
import { runChecks, type CheckDef, type CheckReport, type CheckStatus } from './check.js';

/** Every check's name, in the order doctor runs and prints them. */
export const CHECK_NAMES = ['systemd', 'docker-socket', 'docker', 'etcd', 'etcd-v2', 'flannel', 'fleet', 'agent', 'hosts-file', 'clock'] as const;

export interface DoctorOptions {
  readonly needs: RequiredVersions;
  readonly systemctl: string;
  readonly docker: string;
  readonly dockerHost: string;
  /** The environment systemctl and docker run with. */
  readonly env: NodeJS.ProcessEnv;
  readonly etcd: EtcdOptions & { readonly prefix: string };
  /** fleet's endpoint, or why the cluster is checked without fleet. */
  readonly fleet: FleetEndpoint | string;
  /** fleetctl's TLS files or tunnel for that endpoint. */
  readonly fleetConnection?: Pick<FleetClientOptions, 'tls' | 'connect'> | undefined;
  /** flannel's settings, or why flannel is not checked. */
  readonly flannel: FlannelCheckOptions | string;
  readonly stateDir: string;
  readonly hostsFile: HostsFileCheckOptions;
  readonly maxClockSkewMs: number;
  /** Per check, ms. */
  readonly timeoutMs: number;
  /** Only these checks are reported (the ones they need still run). Default all. */
  readonly only?: readonly string[] | undefined;
}

/** Runs the checks; `onReport` gets each reported check in order as soon as it is known. */
export async function runDoctor(o: DoctorOptions, onReport?: (r: CheckReport) => void): Promise<CheckReport[]> {
  const session = new EtcdSession(o.etcd);
  const defs: CheckDef[] = [
    ...versionChecks({ needs: o.needs, systemctl: o.systemctl, docker: o.docker, dockerHost: o.dockerHost, env: o.env }),
    ...etcdChecks(session, typeof o.fleet === 'string' ? o.fleet : undefined),
    flannelCheck(session, o.flannel),
    fleetCheck(o.fleet, o.fleetConnection),
    agentCheck(o.stateDir),
    hostsFileCheck(o.hostsFile),
    clockCheck(session, o.maxClockSkewMs),
  ];
  const wanted = new Set(o.only?.length ? o.only : CHECK_NAMES);
  // A reported check's prerequisites run too; nothing else does.
  const needed = new Set<string>();
  const add = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const dep of defs.find((d) => d.name === name)?.after ?? []) add(dep);
  };
  wanted.forEach(add);
  try {
    const reports = await runChecks(defs.filter((d) => needed.has(d.name)), o.timeoutMs, (r) => {
      if (wanted.has(r.check)) onReport?.(r);
    });
    return reports.filter((r) => wanted.has(r.check));
  } finally {
    session.close();
  }
}

const WORD: Readonly<Record<CheckStatus, string>> = { ok: 'ok', fail: 'FAIL', unknown: 'UNKNOWN', skip: 'skip' };
const NAME_WIDTH = Math.max(...CHECK_NAMES.map((n) => n.length));

/** One check as text: `ok       etcd          etcd 3.4.23 answers …`, and `  hint: …` under it when there is one. */
export function formatReport(r: CheckReport): string {
  const head = `${WORD[r.status].padEnd(7)}  ${r.check.padEnd(NAME_WIDTH)}  ${r.message}\n`;
  return r.hint && r.status !== 'ok' ? `${head}${' '.repeat(9 + NAME_WIDTH + 2)}hint: ${r.hint}\n` : head;
}

/** One check as a JSON line: `check`, `status`, `message`, `hint` (null when none), `ms`. */
export function reportJson(r: CheckReport): string {
  return `${JSON.stringify({ check: r.check, status: r.status, message: r.message, hint: r.hint, ms: r.ms })}\n`;
}

/** The closing line: `doctor: 8 ok, 1 failed, 0 unknown, 1 skipped`. */
export function summaryLine(reports: readonly CheckReport[]): string {
  const n = (s: CheckStatus): number => reports.filter((r) => r.status === s).length;
  return `doctor: ${n('ok')} ok, ${n('fail')} failed, ${n('unknown')} unknown, ${n('skip')} skipped\n`;
}

/** True when every reported check is ok or does not apply. */
export function healthy(reports: readonly CheckReport[]): boolean {
  return reports.every((r) => r.status === 'ok' || r.status === 'skip');
}
