/**
 * The systemd and Docker on this host against what the cluster's units need (the target's versions, raised
 * by any newer directive or flag in the units), and the Docker engine's API socket. systemd's version is
 * `systemctl --version`'s; Docker's is the lower of the CLI's (`docker --version`, which the units run) and
 * the engine's (the API's `/version`): a flag needs both.
 */
import { execFile } from 'node:child_process';
import { dockerHas, formatDocker, type DockerVersion } from '../target/targets.js';
import type { RequiredVersions } from '../target/required-versions.js';
import { fail, ok, unknown, type CheckContext, type CheckDef, type CheckResult } from './check.js';
import { httpGet, HttpGetError } from './http-get.js';

/** Runs `file args` (no shell) under the check's deadline; resolves with stdout, or rejects with a line. */
function runVersion(file: string, args: readonly string[], ctx: CheckContext, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: ctx.timeoutMs, signal: ctx.signal, encoding: 'utf8', maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return reject(new Error(`${file} not found`));
      if (e.killed || e.name === 'AbortError') return reject(new Error(`${file} ${args.join(' ')} did not finish within ${ctx.timeoutMs} ms`));
      reject(new Error(`${file} ${args.join(' ')} failed: ${(stderr || e.message).trim().split('\n')[0]}`));
    });
  });
}

/** `systemd 252 (252.39-1~deb12u2)` → 252. */
export function parseSystemdVersion(text: string): number | undefined {
  const m = /^systemd (\d+)\b/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** `Docker version 20.10.24+dfsg1, build 297e128`, `17.09.1-ce`, `28.2.2` → [major, minor]. */
export function parseDockerVersion(text: string): DockerVersion | undefined {
  const m = /(?:^|version\s+)v?(\d+)\.(\d+)/i.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export interface VersionCheckOptions {
  readonly needs: RequiredVersions;
  /** The systemctl to ask (`systemctl`, found in PATH). */
  readonly systemctl: string;
  /** The docker CLI the units run. */
  readonly docker: string;
  /** `unix:///PATH` or `tcp://HOST:PORT`. */
  readonly dockerHost: string;
  /** The environment the commands run with (PATH finds systemctl and a bare `docker`). */
  readonly env: NodeJS.ProcessEnv;
}

/** The engine's version, filled in by the docker-socket check for the docker check. */
interface EngineFacts {
  version?: string;
}

export function versionChecks(o: VersionCheckOptions): CheckDef[] {
  const engine: EngineFacts = {};
  const needSystemd = o.needs.systemd;
  const needDocker = o.needs.docker;
  return [
    {
      name: 'systemd',
      async run(ctx) {
        const out = await runVersion(o.systemctl, ['--version'], ctx, o.env).catch((e: Error) => e);
        if (out instanceof Error) return unknown(`cannot tell systemd's version: ${out.message}`, 'doctor runs on a systemd host; put systemctl in PATH');
        const v = parseSystemdVersion(out);
        if (v === undefined) return unknown(`cannot read systemd's version from "${out.split('\n')[0]}"`);
        if (v < needSystemd.version) {
          return fail(`systemd ${v} is older than ${needSystemd.version}, which ${needSystemd.why} needs`,
            `upgrade the host's OS, or render for an older target (x-fleetkit.target: legacy needs systemd 231)`);
        }
        return ok(`systemd ${v} (≥ ${needSystemd.version}, ${needSystemd.why})`);
      },
    },
    {
      name: 'docker-socket',
      run: (ctx) => engineAnswers(o.dockerHost, ctx, engine),
    },
    {
      name: 'docker',
      after: ['docker-socket'],
      async run(ctx) {
        const need = formatDocker(needDocker.version);
        const out = await runVersion(o.docker, ['--version'], ctx, o.env).catch((e: Error) => e);
        if (out instanceof Error) return fail(`cannot run the docker CLI: ${out.message}`, `install Docker ${need} or later, or set x-fleetkit.runtime.docker to its path`);
        const cli = parseDockerVersion(out);
        if (!cli) return unknown(`cannot read the docker CLI's version from "${out.trim().split('\n')[0]}"`);
        if (!dockerHas(cli, needDocker.version)) {
          return fail(`the docker CLI ${o.docker} is ${formatDocker(cli)}, older than ${need}, which ${needDocker.why} needs`, `upgrade Docker to ${need} or later, or render for an older target`);
        }
        if (engine.version === undefined) return unknown(`docker CLI ${formatDocker(cli)} is fine, but the engine's version is unknown: its socket does not answer (see docker-socket)`);
        const server = parseDockerVersion(engine.version);
        if (!server) return unknown(`cannot read the Docker engine's version "${engine.version}"`);
        if (!dockerHas(server, needDocker.version)) {
          return fail(`the Docker engine is ${engine.version}, older than ${need}, which ${needDocker.why} needs`, `upgrade Docker to ${need} or later, or render for an older target`);
        }
        return ok(`Docker CLI ${formatDocker(cli)}, engine ${engine.version} (≥ ${need}, ${needDocker.why})`);
      },
    },
  ];
}

/** GET /version on the engine's API: it answers, and says its version. */
async function engineAnswers(host: string, ctx: CheckContext, facts: EngineFacts): Promise<CheckResult> {
  let url: string;
  let socketPath: string | undefined;
  if (host.startsWith('unix://')) {
    socketPath = host.slice('unix://'.length);
    url = 'http://docker/version';
  } else if (/^tcp:\/\/[^/]+\/?$/.test(host)) {
    url = `http://${host.slice('tcp://'.length).replace(/\/$/, '')}/version`;
  } else {
    return fail(`the Docker host "${host}" is not unix:///PATH or tcp://HOST:PORT`, 'fix x-fleetkit.runtime.dockerSocket, DOCKER_HOST or --docker-host');
  }
  const hint = `is dockerd running? it must listen on ${host} (x-fleetkit.runtime.dockerSocket, else DOCKER_HOST, else /var/run/docker.sock)`;
  try {
    const a = await httpGet({ url, socketPath, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    let version: unknown;
    try {
      version = (JSON.parse(a.body) as { Version?: unknown }).Version;
    } catch {
      version = undefined;
    }
    if (a.status !== 200 || typeof version !== 'string') return fail(`${host} answered GET /version with ${a.status}, not a Docker engine's version`, hint);
    facts.version = version;
    return ok(`the Docker engine ${version} answers on ${host}`);
  } catch (e) {
    if (e instanceof HttpGetError) return fail(`the Docker engine at ${host}: ${e.reason}`, hint);
    throw e;
  }
}
