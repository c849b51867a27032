/**
 * The setup a spec needs to run on the test environment's systemd as a real cluster: this checkout's
 * fleetkit as the units' binary (its agent and hosts watcher run as units), the run's etcd and dockerd, and
 * a state dir and hosts files of the test's own. Returns the spec's text up to `services:`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DockerPart, EtcdPart } from '../env/parts.js';
import { writeFleetkitShim } from '../env/fleetkit-shim.js';

/** Writes the binary wrapper and hosts files into `dir`; the spec head for cluster `name` under etcd `prefix`. */
export async function systemdClusterHead(dir: string, o: { readonly name: string; readonly prefix: string; readonly etcd: EtcdPart; readonly docker: DockerPart }): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'hosts'), { recursive: true });
  await writeFile(join(dir, 'hosts/hosts'), '127.0.0.1 localhost\n');
  writeFleetkitShim(join(dir, 'bin/fleetkit'));
  return `name: ${o.name}
x-fleetkit:
  etcd: { endpoints: [${o.etcd.clientUrl}], prefix: ${o.prefix} }
  runtime:
    docker: /usr/bin/docker
    dockerSocket: ${o.docker.socketPath}
    fleetkit: { binary: ${join(dir, 'bin/fleetkit')} }
    stateDir: ${join(dir, 'state')}
  hosts: { file: ${join(dir, 'hosts/hosts')}, containers: ${join(dir, 'hosts/containers')} }
services:
`;
}
