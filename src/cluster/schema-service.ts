/**
 * The raw shape of one service, and of the top-level resources services refer to (networks, volumes,
 * secrets, configs). Types and keys only: values are parsed by the normalizers. Every Compose service key
 * is listed, either with its shape or as `unsupported` with the reason, so that no key is dropped silently
 * or called unknown.
 */
import * as z from 'zod/mini';
import { duration, mapOrList, o, scalar, str, strOrList, unsupported } from './schema-parts.js';

const X_DOCKER_HINT = 'pass the docker run flag yourself with x-docker: { args: [...] }';
const bytes = z.union([z.string(), z.number()]);

const SERVICE_UNSUPPORTED = {
  links: unsupported('links only work on one Docker host', 'remove it; peers find each other as NAME-N in the hosts file (x-announce)'),
  external_links: unsupported('links only work on one Docker host', 'remove it; peers find each other in the hosts file (x-announce)'),
  extends: unsupported('Compose\'s rules for merging another service (of this file or another) into this one are not applied', 'use a YAML anchor and merge key (<<: *base)'),
  volumes_from: unsupported('the other container may run on another machine', 'mount the same host path or named volume in both services'),
  profiles: unsupported('every service in the file is rendered', 'move the service to another file'),
  mac_address: unsupported('addresses come from flannel and the Docker bridge', 'remove it'),
  attach: unsupported('container output always goes to the journal of its unit', 'remove it'),
  develop: unsupported('watch and sync are for development on one machine', 'remove it'),
  post_start: unsupported('lifecycle hooks are not mapped', 'use x-systemd: { Service: { ExecStartPost: ... } }'),
  pre_stop: unsupported('lifecycle hooks are not mapped', 'use x-systemd: { Service: { ExecStop: ... } }'),
  gpus: unsupported('GPU requests are not mapped', X_DOCKER_HINT + ', e.g. ["--gpus", "all"]'),
  blkio_config: unsupported('block I/O weights and limits are not mapped', X_DOCKER_HINT + ', e.g. ["--blkio-weight", "300"]'),
  cpu_rt_runtime: unsupported('real-time CPU settings are not mapped', X_DOCKER_HINT),
  cpu_rt_period: unsupported('real-time CPU settings are not mapped', X_DOCKER_HINT),
  cpu_count: unsupported('cpu_count only applies to Windows containers', 'use cpus:'),
  cpu_percent: unsupported('cpu_percent only applies to Windows containers', 'use cpus:'),
  isolation: unsupported('isolation only applies to Windows containers', 'remove it'),
  credential_spec: unsupported('credential specs only apply to Windows containers', 'remove it'),
  annotations: unsupported('OCI annotations need Docker 24 and are not mapped', X_DOCKER_HINT + ', e.g. ["--annotation", "k=v"]'),
  label_file: unsupported('labels are read from the cluster file only', 'write them under labels:'),
  use_api_socket: unsupported('the Docker socket is not passed into containers by a key', 'mount it with volumes: ["/var/run/docker.sock:/var/run/docker.sock"] if you mean to'),
  provider: unsupported('provider services are not containers', 'remove it'),
  models: unsupported('AI models are not containers fleetkit runs', 'remove it'),
};

const healthcheck = z.strictObject({
  test: o(strOrList),
  interval: o(duration),
  timeout: o(duration),
  start_period: o(duration),
  start_interval: o(duration),
  retries: o(z.int()),
  disable: o(z.boolean()),
});

const portLong = z.strictObject({
  target: z.union([z.int(), z.string()]),
  published: o(z.union([z.string(), z.int()])),
  host_ip: o(str),
  protocol: o(str),
  mode: o(str),
  name: o(str),
  app_protocol: o(str),
});

const volumeLong = z.strictObject({
  type: str,
  source: o(str),
  target: str,
  read_only: o(z.boolean()),
  bind: o(z.strictObject({
    propagation: o(str),
    create_host_path: o(z.boolean()),
    selinux: o(str),
    recursive: unsupported('recursive read-only mounts need Docker 25 and are not mapped', 'remove it'),
  })),
  volume: o(z.strictObject({
    nocopy: o(z.boolean()),
    subpath: unsupported('volume subpaths need Docker 26 and are not mapped', 'mount the volume and use the path inside it'),
  })),
  tmpfs: o(z.strictObject({ size: o(bytes), mode: o(z.union([z.int(), z.string()])) })),
  consistency: o(str),
});

/** `secrets:`/`configs:` entries of a service: a name, or the long form. */
const fileRef = z.union([
  z.string(),
  z.strictObject({
    source: str,
    target: o(str),
    uid: unsupported('the file is bind-mounted from the host and keeps the owner it has there', 'set the owner of the file on the hosts'),
    gid: unsupported('the file is bind-mounted from the host and keeps the group it has there', 'set the group of the file on the hosts'),
    mode: unsupported('the file is bind-mounted from the host and keeps the mode it has there', 'set the mode of the file on the hosts (e.g. chmod 0400)'),
  }),
]);

const deploy = z.strictObject({
  replicas: o(z.int()),
  mode: o(str),
  placement: o(z.strictObject({
    constraints: o(z.array(z.string())),
    preferences: unsupported('fleet places by least load, not by spread preferences', 'use x-fleet.conflicts to spread instances'),
    max_replicas_per_node: unsupported('fleet cannot limit instances per machine to a number', 'use x-fleet.conflicts: true for one per machine'),
  })),
  resources: o(z.strictObject({
    limits: o(z.strictObject({
      cpus: o(z.union([z.string(), z.number()])),
      memory: o(bytes),
      pids: o(z.int()),
    })),
    reservations: o(z.strictObject({
      memory: o(bytes),
      cpus: unsupported('docker run cannot reserve CPUs, and fleet does not schedule by resources', 'use cpu_shares: for a relative weight, or remove it'),
      devices: unsupported('device reservations (GPUs) are not mapped', X_DOCKER_HINT + ', e.g. ["--gpus", "all"]'),
      generic_resources: unsupported('fleet does not schedule by generic resources', 'use x-fleet.machineMetadata to pick machines'),
    })),
  })),
  restart_policy: o(z.strictObject({
    condition: o(str),
    delay: o(duration),
    max_attempts: o(z.int()),
    window: unsupported('systemd has no window after which a restart counts as successful', 'remove it; max_attempts counts every restart'),
  })),
  update_config: unsupported('fleet has no rolling updates', 'remove it'),
  rollback_config: unsupported('fleet has no rollbacks', 'remove it'),
  labels: unsupported('there are no Swarm services to label', 'use the service\'s labels: key'),
  endpoint_mode: unsupported('fleet has no service VIPs', 'remove it; peers use the hosts file'),
});

const xFleet = z.strictObject({
  conflicts: o(z.union([z.boolean(), z.string(), z.array(z.string())])),
  machineOf: o(z.nullable(strOrList)),
  machineMetadata: o(z.record(z.string(), z.union([scalar, z.array(scalar)]))),
  global: o(z.boolean()),
  machineID: o(str),
  replaces: o(str),
});

const xAnnounce = z.union([
  z.boolean(),
  z.strictObject({ port: o(z.int()), ttl: o(duration), hostname: o(str), key: o(str) }),
]);

const serviceNetwork = z.nullable(z.strictObject({
  aliases: o(z.array(str)),
  ipv4_address: unsupported('addresses come from flannel and the Docker bridge', 'remove it'),
  ipv6_address: unsupported('addresses come from flannel and the Docker bridge', 'remove it'),
  link_local_ips: unsupported('addresses come from flannel and the Docker bridge', 'remove it'),
  mac_address: unsupported('addresses come from flannel and the Docker bridge', 'remove it'),
  driver_opts: unsupported('every container is on the one cluster network', 'remove it'),
  priority: o(z.int()),
  gw_priority: o(z.int()),
}));

/** One service. */
export const serviceSchema = z.strictObject({
  image: o(str),
  build: o(z.unknown()),
  command: o(z.nullable(strOrList)),
  depends_on: o(z.union([
    z.array(z.string()),
    z.record(z.string(), z.nullable(z.strictObject({ condition: o(str), required: o(z.boolean()), restart: o(z.boolean()) }))),
  ])),
  entrypoint: o(z.nullable(strOrList)),
  environment: o(mapOrList),
  env_file: o(strOrList),
  ports: o(z.array(z.union([z.string(), z.int(), portLong]))),
  expose: o(z.array(z.union([z.string(), z.int()]))),
  volumes: o(z.array(z.union([z.string(), volumeLong]))),
  volume_driver: o(str),
  tmpfs: o(strOrList),
  secrets: o(z.array(fileRef)),
  configs: o(z.array(fileRef)),
  labels: o(mapOrList),
  restart: o(str),
  scale: o(z.int()),
  deploy: o(deploy),
  healthcheck: o(healthcheck),
  stop_grace_period: o(duration),
  stop_signal: o(z.union([z.string(), z.int()])),
  user: o(z.union([z.string(), z.int()])),
  working_dir: o(str),
  hostname: o(str),
  domainname: o(str),
  container_name: o(str),
  init: o(z.boolean()),
  platform: o(str),
  pull_policy: o(str),
  network_mode: o(str),
  networks: o(z.union([z.array(z.string()), z.record(z.string(), serviceNetwork)])),
  extra_hosts: o(z.union([z.array(z.string()), z.record(z.string(), z.union([z.string(), z.array(z.string())]))])),
  dns: o(strOrList),
  dns_search: o(strOrList),
  dns_opt: o(z.array(z.string())),
  cap_add: o(z.array(z.string())),
  cap_drop: o(z.array(z.string())),
  privileged: o(z.boolean()),
  security_opt: o(z.array(z.string())),
  read_only: o(z.boolean()),
  devices: o(z.array(z.union([z.string(), z.strictObject({ source: str, target: o(str), permissions: o(str) })]))),
  device_cgroup_rules: o(z.array(z.string())),
  group_add: o(z.array(z.union([z.string(), z.int()]))),
  pid: o(z.nullable(str)),
  ipc: o(str),
  uts: o(str),
  userns_mode: o(str),
  cgroup: o(str),
  cgroup_parent: o(str),
  runtime: o(str),
  shm_size: o(bytes),
  sysctls: o(mapOrList),
  ulimits: o(z.record(z.string(), z.union([z.int(), z.strictObject({ soft: z.int(), hard: z.int() })]))),
  storage_opt: o(z.record(z.string(), scalar)),
  logging: o(z.strictObject({ driver: o(str), options: o(z.nullable(z.record(z.string(), z.nullable(scalar)))) })),
  mem_limit: o(bytes),
  mem_reservation: o(bytes),
  memswap_limit: o(bytes),
  mem_swappiness: o(z.int()),
  oom_kill_disable: o(z.boolean()),
  oom_score_adj: o(z.int()),
  pids_limit: o(z.int()),
  cpus: o(z.union([z.string(), z.number()])),
  cpu_shares: o(z.int()),
  cpu_period: o(z.int()),
  cpu_quota: o(z.int()),
  cpuset: o(str),
  stdin_open: o(z.boolean()),
  tty: o(z.boolean()),
  'x-fleet': o(xFleet),
  'x-announce': o(xAnnounce),
  'x-systemd': o(z.record(z.string(), z.record(z.string(), z.union([scalar, z.array(scalar)])))),
  'x-docker': o(z.strictObject({ args: z.array(z.string()) })),
  'x-await': o(z.strictObject({ timeout: o(duration) })),
  ...SERVICE_UNSUPPORTED,
});

/** A top-level `networks:` entry. Every container is on the one cluster network; see normalize-resources. */
export const networkSchema = z.nullable(z.strictObject({
  name: o(str),
  driver: o(str),
  driver_opts: o(z.record(z.string(), scalar)),
  attachable: o(z.boolean()),
  external: o(z.boolean()),
  labels: o(mapOrList),
  internal: o(z.boolean()),
  enable_ipv4: o(z.boolean()),
  enable_ipv6: o(z.boolean()),
  ipam: unsupported('container addresses come from flannel (or the Docker bridge), not from the Compose file', 'remove it; set the cluster\'s network with flannel:'),
}));

/** A top-level `volumes:` entry. */
export const volumeSchema = z.nullable(z.strictObject({
  external: o(z.boolean()),
  name: o(str),
  // `local` is docker's own default and changes nothing; another driver is refused in normalize-resources.
  driver: o(str),
  driver_opts: unsupported('fleetkit does not create volumes with options', 'create the volume with its options beforehand and mark it external: true'),
  labels: unsupported('fleetkit does not create volumes', 'remove it'),
}));

/** A top-level `secrets:` or `configs:` entry: only `file:` is supported. */
function fileResource(kind: 'secret' | 'config') {
  return z.strictObject({
    file: o(str),
    name: o(str),
    external: unsupported(`there is no ${kind} store on a fleet cluster`, `give the ${kind} as file: (a path on the hosts)`),
    environment: unsupported(`the ${kind} would be written to disk from fleetkit's environment at render time`, `write it to a file on the hosts and give file:`),
    ...(kind === 'config' ? { content: unsupported('the content would have to be written to every host', 'write it to a file on the hosts and give file:') } : {}),
    template_driver: unsupported('templated secrets and configs are a Swarm feature', 'remove it'),
    driver: unsupported('secret drivers are a Swarm feature', 'remove it'),
    driver_opts: unsupported('secret drivers are a Swarm feature', 'remove it'),
    labels: unsupported('there is no secret store to label', 'remove it'),
  });
}
export const secretSchema = fileResource('secret');
export const configSchema = fileResource('config');

export type RawService = z.infer<typeof serviceSchema>;
export type RawNetwork = z.infer<typeof networkSchema>;
export type RawVolume = z.infer<typeof volumeSchema>;
export type RawFileResource = z.infer<typeof secretSchema>;
