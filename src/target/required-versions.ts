/**
 * The oldest systemd and Docker a cluster's rendered units need: the target's, raised by any directive or
 * docker flag in the units that is newer (an `x-systemd` directive is a warning at render time, not an
 * error, so a unit may need more than its target). Read from the feature table, so a version lives in one
 * place. Pure.
 */
import type { UnitFile } from '../unit/model.js';
import { unitFeatures } from './check-unit.js';
import { dockerHas, parseDocker, type DockerVersion, type Target } from './targets.js';

/** A minimum version and why it is needed. */
export interface Needed<V> {
  readonly version: V;
  /** `target current`, or `Upholds= in web-discovery@.service`. */
  readonly why: string;
}

export interface RequiredVersions {
  readonly systemd: Needed<number>;
  readonly docker: Needed<DockerVersion>;
}

/** The versions `units` need on `target`. */
export function requiredVersions(units: ReadonlyArray<{ readonly name: string; readonly unit: UnitFile }>, target: Target): RequiredVersions {
  let systemd: Needed<number> = { version: target.systemd, why: `target ${target.name}` };
  let docker: Needed<DockerVersion> = { version: target.docker, why: `target ${target.name}` };
  for (const { name, unit } of units) {
    for (const f of unitFeatures(unit, target)) {
      const m = /^(systemd|Docker) (\S+)$/.exec(f.needs ?? '');
      if (!m) continue;
      if (m[1] === 'systemd') {
        const v = Number(m[2]);
        if (v > systemd.version) systemd = { version: v, why: `${f.what} in ${name}` };
      } else {
        const v = parseDocker(m[2]!);
        if (v && !dockerHas(docker.version, v)) docker = { version: v, why: `${f.what} in ${name}` };
      }
    }
  }
  return { systemd, docker };
}
