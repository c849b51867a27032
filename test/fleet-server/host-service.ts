/**
 * A container unit on a simulated fleet machine, run the way systemd runs it (systemd.service(5)), so that
 * what the machine publishes to the fleet test server is what a real fleetd would publish (fleet's agent
 * copies systemd's LoadState/ActiveState/SubState once a second, systemd/manager.go GetUnitStates):
 *
 * - ExecStartPre (`docker kill`/`docker rm` of the container's name) while `activating/start-pre`;
 * - the unit's own `docker run`, in the foreground, with its image, command and fleetkit's labels, so the
 *   machine's real agent sees the container and publishes its facts: `active/running` while it runs;
 * - when it exits: Restart= (`always`, `on-success`, `on-failure`, `no`) with SuccessExitStatus= decides;
 *   a restart waits RestartSec= in `activating/auto-restart`, then starts again; more starts than
 *   StartLimitBurst= (default 5) within StartLimitIntervalSec= (default 10 s) end `failed/failed`, as
 *   systemd's start limit does; no restart ends `inactive/dead` (a clean exit) or `failed/failed`;
 * - a stop runs ExecStop= (`docker stop`) and ends the loop; one that comes while `docker run` is still
 *   creating the container stops it once it exists (systemd kills the unit's `docker run` on a stop; the
 *   container it was creating would run on, here the stop is repeated until the run has ended).
 *
 * Left out, because the simulated machines share one dockerd and have no containers' hosts file: the bind
 * mount of the cluster's containers' hosts file over /etc/hosts (see host-sim.ts).
 */
import type { DockerPart } from '../env/parts.js';
import { unwrapAwait } from '../../src/unit/wrapped-command.js';
import type { SystemdState } from './server.js';

export const START_PRE: SystemdState = { loadState: 'loaded', activeState: 'activating', subState: 'start-pre' };
export const RUNNING: SystemdState = { loadState: 'loaded', activeState: 'active', subState: 'running' };
export const AUTO_RESTART: SystemdState = { loadState: 'loaded', activeState: 'activating', subState: 'auto-restart' };
export const FAILED: SystemdState = { loadState: 'loaded', activeState: 'failed', subState: 'failed' };
export const DEAD: SystemdState = { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };

/** The [Service] settings the loop follows, read from the unit's options. */
export interface ServiceSettings {
  readonly restart: string;
  readonly restartSecMs: number;
  readonly startLimitIntervalMs: number;
  readonly startLimitBurst: number;
  readonly successExitStatus: ReadonlySet<number>;
}

/** A systemd time span (`5`, `2s`, `500ms`, `1min`, `infinity`) in ms; `infinity` and 0 are 0 (no limit). */
function spanMs(text: string | undefined, fallbackMs: number): number {
  if (text === undefined || text.trim() === '') return fallbackMs;
  if (text.trim() === 'infinity') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m)?$/.exec(text.trim());
  if (!m) return fallbackMs;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'min' || unit === 'm' ? n * 60_000 : n * 1000);
}

/** The settings from a unit's options (last value wins, as systemd reads them; defaults are systemd's). */
export function serviceSettings(options: readonly { section: string; name: string; value: string }[]): ServiceSettings {
  const last = (section: string, name: string): string | undefined => options.filter((o) => o.section === section && o.name === name).at(-1)?.value;
  return {
    restart: last('Service', 'Restart') ?? 'no',
    restartSecMs: spanMs(last('Service', 'RestartSec'), 100),
    startLimitIntervalMs: spanMs(last('Unit', 'StartLimitIntervalSec'), 10_000),
    startLimitBurst: Number(last('Unit', 'StartLimitBurst') ?? 5),
    successExitStatus: new Set(options.filter((o) => o.section === 'Service' && o.name === 'SuccessExitStatus').flatMap((o) => o.value.split(/\s+/)).map(Number).filter(Number.isInteger)),
  };
}

/** Whether systemd restarts after an exit with `code` (Restart= table of systemd.service(5), exits only). */
export function restartsAfter(s: ServiceSettings, code: number): boolean {
  const clean = code === 0 || s.successExitStatus.has(code);
  if (s.restart === 'always') return true;
  if (s.restart === 'on-success') return clean;
  if (s.restart === 'on-failure') return !clean;
  return false; // no; on-abnormal, on-abort and on-watchdog restart after signals and timeouts, not after an exit
}

/** `docker run` words without the containers' hosts file mount (the simulation has none to mount). */
export function withoutHostsMount(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^--mount=.*target=\/etc\/hosts/.test(a)) continue;
    if ((a === '--mount' || a === '-v' || a === '--volume') && /(target=|:)\/etc\/hosts/.test(args[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^(-v|--volume)=.*:\/etc\/hosts/.test(a)) continue;
    out.push(a);
  }
  return out;
}

/** A running container unit: its state reports go to `report`; `stop()` ends it as `systemctl stop` does. */
export interface HostService {
  stop(): Promise<void>;
  /** The container's output lines so far (what journald would hold of the unit's stdout and stderr). */
  readonly output: string[];
}

/**
 * Starts the unit: the ExecStartPre step first (so the hook's answer is the state after it), then the loop in
 * the background. `argv` is the ExecStart line's words with specifiers expanded.
 */
export async function startService(docker: DockerPart, argv: readonly string[], name: string, settings: ServiceSettings, report: (s: SystemdState) => void): Promise<{ service: HostService; first: SystemdState }> {
  const words = unwrapAwait(argv);
  const run = withoutHostsMount(words.slice(1));
  const output: string[] = [];
  const starts: number[] = [];
  let stopping = false;
  let wake: (() => void) | undefined;
  const pre = async (): Promise<void> => {
    await docker.docker(['rm', '-f', name]);
  };
  const limitHit = (): boolean => {
    const now = Date.now();
    starts.push(now);
    if (settings.startLimitIntervalMs <= 0 || settings.startLimitBurst <= 0) return false;
    while (starts.length && now - starts[0]! > settings.startLimitIntervalMs) starts.shift();
    return starts.length > settings.startLimitBurst;
  };
  limitHit();
  await pre();
  const loop = (async (): Promise<void> => {
    for (;;) {
      if (stopping) return;
      const r = await docker.docker(run);
      output.push(...`${r.stdout}${r.stderr}`.split('\n').filter(Boolean));
      if (stopping) return;
      if (!restartsAfter(settings, r.code)) {
        report(r.code === 0 || settings.successExitStatus.has(r.code) ? DEAD : FAILED);
        return;
      }
      report(AUTO_RESTART);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.restartSecMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (stopping) return;
      if (limitHit()) {
        report(FAILED);
        return;
      }
      report(START_PRE);
      await pre();
      if (stopping) return;
      report(RUNNING);
    }
  })();
  const service: HostService = {
    output,
    async stop() {
      stopping = true;
      wake?.();
      // ExecStop=docker stop: the container ends (143), docker run returns, the loop ends. A stop that comes
      // while `docker run` is still creating the container finds none to stop, and the run then starts it for
      // good: so it is stopped again until the loop has ended (bounded: a create takes well under the 60 s).
      let ended = false;
      void loop.then(() => (ended = true));
      for (let attempt = 0; !ended && attempt < 240; attempt++) {
        await docker.docker(['stop', '-t', '10', name]);
        await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, 250))]);
      }
      if (!ended) throw new Error(`${name}: the unit's docker run did not end after its stop`);
      await docker.docker(['rm', '-f', name]);
    },
  };
  return { service, first: RUNNING };
}
