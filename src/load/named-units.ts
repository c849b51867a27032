/**
 * What the units' own text tells a command given only unit names (`fleetkit start web@1`), where a spec
 * would say it: which discovery sidekick a container unit starts with it (its `Wants=`), and the words the
 * cluster's agent unit runs with (its `agent --etcd URL --etcd-prefix P …`), which name the etcd its
 * announcements and container facts are in. The sidekick itself names its key (`announcementKeyOf`). Pure.
 */
import { valuesOf, type UnitFile } from '../unit/model.js';
import { instanceOf, sidekickOf } from '../unit/names.js';
import { parseCommandLine } from '../unit/parse-command-line.js';

/** The discovery sidekicks `unit` starts with it (`Wants=web-discovery@%i.service`), `%i` its instance. */
export function sidekicksWanted(unit: UnitFile): string[] {
  const instance = instanceOf(unit.name) ?? '';
  return valuesOf(unit, 'Unit', 'Wants')
    .flatMap((v) => v.split(/\s+/))
    .filter(Boolean)
    .map((w) => w.replace(/%i/g, instance))
    .filter((w) => sidekickOf(w) !== undefined);
}

/**
 * The words after `agent` in the ExecStart of a cluster's agent unit (the binary form runs `fleetkit agent …`,
 * the image form `docker run … IMAGE agent …`), or undefined when it runs no agent.
 */
export function agentArgsOf(unit: UnitFile): string[] | undefined {
  for (const line of valuesOf(unit, 'Service', 'ExecStart')) {
    let argv: string[];
    try {
      argv = parseCommandLine(line, { specifiers: { n: unit.name, i: instanceOf(unit.name) ?? '', p: unit.name.replace(/[@.].*$/, '') } });
    } catch {
      continue;
    }
    const at = argv.indexOf('agent', 1);
    if (at > 0) return argv.slice(at + 1);
  }
  return undefined;
}
