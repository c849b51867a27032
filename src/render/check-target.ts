/**
 * The render's check of each unit against its target (src/target/check-unit.ts). What fleetkit writes on its
 * own, or from a Compose key, must exist on the target: a unit that a host would refuse or misread is an
 * error. What `x-systemd` passes through is the author's call: a directive the target lacks is a warning
 * naming the version it needs, and on `legacy` every x-systemd entry and every x-docker.args word is a
 * warning, because the table cannot vouch for how an old systemd or docker reads them.
 */
import type { ServiceSpec } from '../cluster/types.js';
import { UnitError } from '../errors.js';
import { checkUnit, describeFinding } from '../target/check-unit.js';
import { DEFAULT_TARGET, formatDocker, type Target } from '../target/targets.js';
import type { UnitFile } from '../unit/model.js';

/** Checks `file` (rendered for `service`, if any); returns the warnings, throws for the rest. */
export function checkRendered(file: { readonly name: string; readonly unit: UnitFile }, target: Target, service: ServiceSpec | undefined): string[] {
  const escape = new Set((service?.systemd ?? []).map(([section, name]) => `${section}.${name}`));
  const warnings: string[] = [];
  const errors: string[] = [];
  for (const f of checkUnit(file.unit, target)) {
    const fromEscape = escape.has(`${f.section}.${f.name}`);
    // x-docker.args are the user's own docker flags: one the table does not know is reported and passed
    // through (like x-systemd); one it knows the target lacks is an error naming the version, as for keys.
    const flag = f.kind === 'docker' && f.needs === undefined ? f.what.split(' ').pop()! : '';
    const fromDockerArgs = flag !== '' && (service?.run.extraArgs ?? []).some((a) => a === flag || a.startsWith(`${flag}=`));
    if (fromEscape) warnings.push(`${file.name}: x-systemd ${f.section}.${describeFinding(f, target)}`);
    else if (fromDockerArgs) warnings.push(`${file.name}: x-docker.args: ${describeFinding(f, target)}`);
    else errors.push(describeFinding(f, target));
  }
  if (errors.length) {
    throw new UnitError('ERR_UNIT_TARGET', errors.join('; '), {
      unit: file.name,
      hint: `remove the setting that asks for it, or render for a newer target (--target ${DEFAULT_TARGET})`,
    });
  }
  if (target.name !== DEFAULT_TARGET && service && service.systemd.length > 0) {
    const names = [...new Set(service.systemd.map(([section, name]) => `${section}.${name}`))].join(', ');
    warnings.push(`${file.name}: x-systemd ${names} passed through unchecked; target ${target.name} has systemd ${target.systemd}: check that it reads them as meant`);
  }
  const dockerArgs = service?.run.extraArgs ?? [];
  if (target.name !== DEFAULT_TARGET && dockerArgs.length > 0 && file.unit.options.some((o) => o.name === 'ExecStart' && o.value.includes(' run '))) {
    warnings.push(`${file.name}: x-docker.args ${dockerArgs.join(' ')} passed through unchecked; target ${target.name} has Docker ${formatDocker(target.docker)}: check that its docker run takes them`);
  }
  return warnings;
}
