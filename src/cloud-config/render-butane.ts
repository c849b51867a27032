/**
 * Renders a MachinePlan as Butane (`variant: fcos`, `version: 1.7.0`) for Fedora CoreOS: units under
 * `systemd.units` (`enabled: true` where they must start), files under `storage.files` with integer modes.
 */
import { stringify } from 'yaml';
import type { MachinePlan } from './plan.js';

/** The Butane text for `plan`. */
export function renderButane(plan: MachinePlan): string {
  const files = [
    ...(plan.hostname ? [{ path: '/etc/hostname', mode: 0o644, overwrite: true, contents: { inline: `${plan.hostname}\n` } }] : []),
    ...plan.files.map((f) => ({ path: f.path, mode: f.mode, overwrite: true, contents: { inline: f.contents } })),
  ];
  const doc = {
    variant: 'fcos',
    version: '1.7.0',
    ...(plan.sshKeys.length ? { passwd: { users: [{ name: 'core', ssh_authorized_keys: [...plan.sshKeys] }] } } : {}),
    ...(files.length ? { storage: { files } } : {}),
    systemd: {
      units: plan.units.map((u) => ({
        name: u.name,
        ...(u.start ? { enabled: true } : {}),
        ...(u.contents !== undefined ? { contents: u.contents } : {}),
        ...(u.dropIns.length ? { dropins: u.dropIns.map((d) => ({ name: d.name, contents: d.contents })) } : {}),
      })),
    },
  };
  return stringify(doc, { lineWidth: 0, minContentWidth: 0 });
}
