/**
 * `fleetctl start` as fleetctl v1.0.0 does it, for tests against the fleet test server (fleetctl/start.go,
 * fleetctl/fleetctl.go: lazyCreateUnits, lazyStartUnits, waitForUnitStates, the systemd active check; and
 * what the v1.0.0 binary printed in reference/fleet.md):
 *   1. every argument becomes a unit name (`.service` appended when it has no unit suffix); a unit fleet does
 *      not have is submitted inactive from the file named, or, for an instance `x@N.service`, from the
 *      template `x@.service` beside it or in fleet ("Unit NAME inactive");
 *   2. each unit not yet launched gets desiredState launched; global units print
 *      "Triggered global unit NAME start" and are not waited for;
 *   3. `--no-block`: "Triggered unit NAME start" and exit 0;
 *   4. otherwise each unit's currentState is polled (`GET /units/NAME`, every 250 ms; `--block-attempts N`
 *      bounds the polls, 0 = no limit) until `launched` ("Unit NAME launched on MACHINE.../IP"), then each
 *      unit gets 2 s to be `active`/`loaded` in `/state` ("Failed to find an active unit NAME within 2s").
 * Plain fetch over TCP, so it shares no code with fleetkit's own client.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface FleetctlOptions {
  readonly endpoint: string;
  readonly cwd: string;
  readonly noBlock?: boolean;
  /** 0: no limit (fleetctl's default). */
  readonly blockAttempts?: number;
  /** The poll interval; fleetctl's defaultSleepTime is 250 ms. */
  readonly sleepMs?: number;
  /** The window for systemd's active state after launched (2 s in the v1.0.0 binary). */
  readonly activeWindowMs?: number;
}

export interface FleetctlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Option = { section: string; name: string; value: string };
type Unit = { name: string; options?: Option[]; desiredState?: string; currentState?: string; machineID?: string };

const SUFFIX = /\.(automount|busname|device|mount|path|scope|service|slice|snapshot|socket|swap|target|timer)$/;

/** fleet's unit-file parser, enough for the files gen-units writes: sections, `Key=Value`, comments. */
function parseUnitFile(text: string): Option[] {
  const out: Option[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) section = m[1] ?? '';
    else {
      const eq = line.indexOf('=');
      if (eq > 0) out.push({ section, name: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fleetctl start ARGS`. */
export async function fleetctlStart(args: readonly string[], o: FleetctlOptions): Promise<FleetctlResult> {
  let stdout = '';
  let stderr = '';
  const out = (s: string): void => void (stdout += `${s}\n`);
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${o.endpoint}/fleet/v1${path}${path.includes('?') ? '&' : '?'}alt=json`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const getUnit = async (name: string): Promise<Unit | undefined> => {
    const r = await api('GET', `/units/${encodeURIComponent(name).replace(/%40/g, '@')}`);
    return r.status === 404 ? undefined : (r.json as Unit);
  };
  const isGlobal = (u: Unit): boolean => (u.options ?? []).some((x) => x.section === 'X-Fleet' && x.name === 'Global' && /^(true|yes|1|on|t)$/i.test(x.value));
  const sleepMs = o.sleepMs ?? 250;

  // 1. lazyCreateUnits
  const names: string[] = [];
  for (const arg of args) {
    const name = SUFFIX.test(basename(arg)) ? basename(arg) : `${basename(arg)}.service`;
    names.push(name);
    if (await getUnit(name)) continue;
    const file = resolve(o.cwd, dirname(arg), name);
    let options: Option[] | undefined;
    if (existsSync(file)) options = parseUnitFile(readFileSync(file, 'utf8'));
    else {
      const m = /^(.+@)[^@]+(\.[a-z]+)$/.exec(name);
      const template = m ? `${m[1]}${m[2]}` : undefined;
      if (template) {
        const local = join(dirname(file), template);
        options = existsSync(local) ? parseUnitFile(readFileSync(local, 'utf8')) : (await getUnit(template))?.options;
      }
    }
    if (!options) {
      stderr += `Error creating units: unable to find Unit(${name}) in Registry or on filesystem\n`;
      return { code: 1, stdout, stderr };
    }
    const put = await api('PUT', `/units/${name}`, { name, desiredState: 'inactive', options });
    if (put.status >= 300) {
      stderr += `Error creating units: error creating unit ${name}: ${JSON.stringify(put.json)}\n`;
      return { code: 1, stdout, stderr };
    }
    out(`Unit ${name} inactive`);
  }

  // 2. lazyStartUnits
  const starting: string[] = [];
  for (const name of names) {
    const u = await getUnit(name);
    if (!u) {
      stderr += `Error starting units: unable to find unit ${name}\n`;
      return { code: 1, stdout, stderr };
    }
    if (u.desiredState === 'launched') continue;
    const r = await api('PUT', `/units/${name}`, { desiredState: 'launched' });
    if (r.status >= 300) {
      stderr += `Error starting units: ${JSON.stringify(r.json)}\n`;
      return { code: 1, stdout, stderr };
    }
    if (isGlobal(u)) out(`Triggered global unit ${name} start`);
    else starting.push(name);
  }

  // 3. --no-block
  if (o.noBlock) {
    for (const name of starting) out(`Triggered unit ${name} start`);
    return { code: 0, stdout, stderr };
  }

  // 4. waitForUnitStates(launched), one poller per unit, then the systemd active check.
  const machines = new Map<string, string>();
  for (const m of ((await api('GET', '/machines')).json['machines'] ?? []) as { id: string; primaryIP?: string }[]) machines.set(m.id, m.primaryIP ?? '');
  const attempts = o.blockAttempts ?? 0;
  const errors: string[] = [];
  await Promise.all(starting.map(async (name) => {
    for (let attempt = 0; attempts < 1 || attempt < attempts; attempt++) {
      const u = await getUnit(name);
      if (u?.currentState === 'launched') {
        out(`Unit ${name} launched${u.machineID ? ` on ${u.machineID.slice(0, 8)}.../${machines.get(u.machineID) ?? ''}` : ''}`);
        return;
      }
      await sleep(sleepMs);
    }
    errors.push(`timed out waiting for unit ${name} to report state launched`);
  }));
  if (errors.length) {
    stderr += errors.map((e) => `Error waiting for units: ${e}\n`).join('');
    return { code: 1, stdout, stderr };
  }
  const windowMs = o.activeWindowMs ?? 2000;
  await Promise.all(starting.map(async (name) => {
    const until = Date.now() + windowMs;
    for (;;) {
      const states = ((await api('GET', '/state')).json['states'] ?? []) as { name: string; systemdActiveState?: string; systemdLoadState?: string }[];
      if (states.some((s) => s.name === name && s.systemdActiveState === 'active' && s.systemdLoadState === 'loaded')) return;
      if (Date.now() >= until) return void errors.push(`Failed to find an active unit ${name} within ${windowMs / 1000}s`);
      await sleep(sleepMs);
    }
  }));
  if (errors.length) {
    stderr += errors.map((e) => `Error waiting for systemd unit states, err: ${e}\n`).join('');
    return { code: 1, stdout, stderr };
  }
  return { code: 0, stdout, stderr };
}
