/**
 * Renders a MachinePlan as coreos-cloudinit cloud-config (Container Linux, Flatcar). The first line is
 * exactly `#cloud-config`; `permissions` are octal strings, as cloudinit requires.
 */
import { stringify } from 'yaml';
import type { MachinePlan } from './plan.js';

/** The cloud-config text for `plan`. */
export function renderCloudConfig(plan: MachinePlan): string {
  const tls = plan.etcdTls;
  const doc: Record<string, unknown> = {};
  if (plan.hostname) doc['hostname'] = plan.hostname;
  if (plan.sshKeys.length) doc['ssh_authorized_keys'] = [...plan.sshKeys];
  doc['coreos'] = {
    // Only where the OS ships fleet (Container Linux): elsewhere fleetkit's own fleet.service is in `units`.
    ...(plan.fleet
      ? { fleet: {
          metadata: plan.fleet.metadata || undefined,
          public_ip: plan.fleet.publicIp,
          etcd_servers: plan.fleet.etcdServers,
          etcd_cafile: plan.fleet.tls?.ca,
          etcd_certfile: plan.fleet.tls?.cert,
          etcd_keyfile: plan.fleet.tls?.key,
        } }
      : {}),
    ...(plan.flannel
      ? { flannel: { etcd_endpoints: plan.flannel.etcdEndpoints, etcd_prefix: plan.flannel.etcdPrefix, etcd_cafile: tls?.ca, etcd_certfile: tls?.cert, etcd_keyfile: tls?.key } }
      : {}),
    units: plan.units.map((u) => ({
      name: u.name,
      ...(u.start ? { command: 'start' } : {}),
      // cloudinit's enable needs an [Install] section; fleetkit's global units are started, not enabled.
      ...(u.contents !== undefined ? { ...(u.contents.includes('\n[Install]\n') ? { enable: true } : {}), content: u.contents } : {}),
      ...(u.dropIns.length ? { 'drop-ins': u.dropIns.map((d) => ({ name: d.name, content: d.contents })) } : {}),
    })),
  };
  if (plan.files.length) {
    doc['write_files'] = plan.files.map((f) => ({ path: f.path, permissions: `0${f.mode.toString(8)}`, owner: 'root:root', content: f.contents }));
  }
  // undefined values are dropped by stringify; lineWidth 0 keeps long unit lines unfolded.
  return `#cloud-config\n${stringify(doc, { lineWidth: 0, minContentWidth: 0 })}`;
}
