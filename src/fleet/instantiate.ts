/**
 * Client-side template instantiation, as fleetctl does it: fleet's API never creates `web@1.service` from
 * `web@.service`, so the instance is submitted under its own name with the template's options, verbatim
 * (specifiers such as `%i` are resolved later by systemd on the machine).
 */
import type { UnitFile } from '../unit/model.js';

/** The instance `name` of `template`, with all of the template's options. */
export function instantiate(template: UnitFile, name: string): UnitFile {
  return { name, options: template.options.map((o) => ({ ...o })) };
}
