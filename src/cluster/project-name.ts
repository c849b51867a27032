/**
 * The cluster's name, chosen as Compose chooses a project name: `-p/--project-name`, then
 * `COMPOSE_PROJECT_NAME` (from the shell or `.env`), then the file's `name:`, then the name of the file's
 * directory, lower-cased with every character other than a-z, 0-9, `_` and `-` dropped (compose-go's
 * `NormalizeProjectName`). fleetkit then needs a DNS label, since the name ends every hosts entry.
 */
import { UsageError } from '../errors.js';
import { isLabel } from './compose-values.js';

/** compose-go's NormalizeProjectName: lower case, only [a-z0-9_-], no leading `_` or `-`. */
export function normalizeProjectName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

/**
 * A name given on the command line or in COMPOSE_PROJECT_NAME: Compose refuses one that normalizing would
 * change, and fleetkit one that is not a DNS label. Returns undefined for an empty value (not given).
 */
export function checkGivenName(value: string | undefined, source: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (normalizeProjectName(value) !== value || !isLabel(value)) {
    throw new UsageError(
      `${source}: invalid cluster name ${JSON.stringify(value)}: it must be lower-case letters, digits and inner hyphens, at most 63 characters`,
      'the name ends every hosts entry (web-1.NAME) and the etcd keys: write e.g. shop',
    );
  }
  return value;
}
