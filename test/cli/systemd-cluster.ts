/**
 * The setup a spec needs to run on the test environment's systemd as a real cluster: this checkout's
 * fleetkit as the units' binary (its agent and hosts watcher run as units), the run's etcd and dockerd, and
 * a state dir and hosts files of the test's own. Returns the spec's text up to `services:`.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../e2e/e2e-cluster.js';
import type { DockerPart, EtcdPart } from '../env/parts.js';

/** Writes the binary wrapper and hosts files into `dir`; the spec head for cluster `name` under etcd `prefix`. */
export async function systemdClusterHead(dir: string, o: { readonly name: string; readonly prefix: string; readonly etcd: EtcdPart; readonly docker: DockerPart }): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'hosts'), { recursive: true });
  await writeFile(join(dir, 'hosts/hosts'), '127.0.0.1 localhost\n');
  await writeFile(join(dir, 'bin/fleetkit'), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'dist/fleetkit.cjs')} "$@"\n`);
  await chmod(join(dir, 'bin/fleetkit'), 0o755);
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
