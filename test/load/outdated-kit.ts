/**
 * What the outdated-container tests share: swapping a cluster's definitions on a host without restarting
 * anything (a fleet PUT of a running unit, whose old process the fleet test server's agent keeps, as fleet's
 * does; or a systemd unit file written and reloaded), through fleetkit's own UnitHost, so that the host then
 * holds exactly what `fleetkit load` would compare; and what `status --json` flags on an instance.
 */
import { resolveSelection } from '../../src/load/selection.js';
import { openUnitHost, type UnitHostOptions } from '../../src/unithost/open-unit-host.js';
import type { StatusModel } from '../../src/ops/status-model.js';

/** Stores the definitions of `paths` (a SPEC, or unit files) on the host and starts nothing. */
export async function swapDefinitions(host: UnitHostOptions, paths: readonly string[], cwd: string): Promise<void> {
  const sel = await resolveSelection(paths, cwd, 'files');
  if (sel.kind === 'names') throw new Error('a SPEC or unit files');
  const h = await openUnitHost(host);
  try {
    await h.definitions();
    const items = sel.desired.map((d) => ({ desired: d, target: d.start ? ('launched' as const) : ('inactive' as const) }));
    const results = await h.submit(items, { wait: false, timeoutMs: 10_000, parallel: 4, signal: new AbortController().signal });
    const bad = results.filter((r) => !r.ok);
    if (bad.length) throw new Error(`not stored: ${bad.map((r) => `${r.name}: ${r.error}`).join('; ')}`);
  } finally {
    h.close();
  }
}

/** The flags `status --json` puts on `unit`'s row, as `code: message`. */
export function statusFlags(json: string, unit: string): string[] {
  const model = JSON.parse(json) as StatusModel;
  return model.services.flatMap((s) => s.instances).filter((i) => i.unit === unit).flatMap((i) => i.flags.map((f) => `${f.code}: ${f.message}`));
}
