/**
 * The normalized cluster spec: what `loadSpec` makes of cluster.yaml after validation. Every default is
 * filled in and every Compose shorthand expanded, so the renderer, the loaders, the agent, the hosts watcher
 * and cloud-config read one shape and never look at raw YAML. Pure data: no functions, no I/O.
 */

import type { TargetName } from '../target/targets.js';
import type { SpecProblem } from '../errors.js';

/** Durations are whole seconds (Compose's `1m30s`, `10s`, `500ms` are converted; sub-second values round up). */
export type Seconds = number;

export interface ClusterSpec {
  /** The spec file as given on the command line (used in messages). */
  readonly file: string;
  /** Cluster name: hosts entries are `IP host host.NAME`; part of the default etcd key layout. */
  readonly name: string;
  readonly etcd: EtcdSpec;
  /** Present when the cluster runs on flannel: enables subnet checks and the flannel config in cloud-config. */
  readonly flannel: FlannelSpec | undefined;
  readonly runtime: RuntimeSpec;
  /** Where and how each host's hosts file is kept (`fleetkit watch-hosts`). */
  readonly hosts: HostsSpec;
  /** Services in file order. */
  readonly services: readonly ServiceSpec[];
  /** Machine roles for cloud-config (`etcd` members, workers…), in file order. Empty when none are given. */
  readonly roles: readonly RoleSpec[];
  /** The host generation the units are for (`x-fleetkit.target`, `--target`). Default `current`. */
  readonly target: TargetName;
  /** fleet for hosts that ship none (`x-fleetkit.fleet`): cloud-config installs it. Absent when not given. */
  readonly fleet?: FleetReleaseSpec | undefined;
  /** Located warnings: keys that are used, but do not do all that Compose would (`build` beside `image`, `tty`). */
  readonly warnings: readonly SpecProblem[];
}

export interface EtcdSpec {
  /** Client URLs, e.g. `http://127.0.0.1:2379`. */
  readonly endpoints: readonly string[];
  /** Key prefix for announcements. Default `/services`. Always starts with `/`, never ends with one. */
  readonly prefix: string;
  /** TLS files, by path on the host (never their contents). */
  readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string } | undefined;
  /** etcd user; the password is read from `passwordFile` at run time, never written into a unit. */
  readonly auth: { readonly user: string; readonly passwordFile: string } | undefined;
}

export interface FlannelSpec {
  /** e.g. `10.1.0.0/16` */
  readonly network: string;
  /** Default 24. */
  readonly subnetLen: number;
  /** Default `vxlan`. Always written into flannel's config (flannel falls back to udp when it is absent). */
  readonly backend: string;
  /** flannel's etcd prefix. Default `/coreos.com/network`. */
  readonly prefix: string;
}

/** A fleet release tarball (as github.com/coreos/fleet publishes them: `fleet-vX-linux-amd64/fleetd`). */
export interface FleetReleaseSpec {
  /** Where hosts fetch the tarball. */
  readonly url: string;
  /** Its sha256 (64 lower-case hex digits): hosts refuse any other file. */
  readonly sha256: string;
}

/** How fleetkit itself runs on the hosts (agent, announce, watch-hosts). */
export type FleetkitRuntime =
  | {
      readonly kind: 'binary';
      /** Absolute path on the host. Default `/opt/bin/fleetkit`. */
      readonly path: string;
      /** Where cloud-config fetches it from, checked against `sha256`. */
      readonly url: string | undefined;
      readonly sha256: string | undefined;
    }
  | {
      readonly kind: 'image';
      /** e.g. `fleetkit:0.1.0`. */
      readonly image: string;
    };

export interface RuntimeSpec {
  /** The docker CLI on the hosts. Default `/usr/bin/docker`. */
  readonly docker: string;
  /**
   * The Docker engine's API socket on the hosts; undefined: the default, `/var/run/docker.sock`. Every unit
   * that runs docker gets `DOCKER_HOST=unix://PATH`; the image form mounts it as the agent container's
   * `/var/run/docker.sock`; the binary form's agent is given it (`--docker-host unix://PATH`).
   */
  readonly dockerSocket: string | undefined;
  readonly fleetkit: FleetkitRuntime;
  /** The agent's state dir (registry, socket). Default `/run/fleetkit`. */
  readonly stateDir: string;
}

export interface HostsSpec {
  /** The file watch-hosts keeps. Default `/etc/hosts` (a marked block inside it). */
  readonly file: string;
  /** Command run after each write (argv; no shell). */
  readonly exec: readonly string[] | undefined;
  /**
   * Write the file in place (`watch-hosts --keep-inode`) instead of by rename, for a file that containers
   * bind-mount: a rename gives the path a new inode, and the containers would keep reading the old one.
   * Default false.
   */
  readonly keepInode: boolean;
  /**
   * The cluster's containers' hosts file (`watch-hosts --containers-file`): instance names, bare service
   * names and aliases, mounted read-only as /etc/hosts into the cluster's containers (see
   * src/render/hosts-mount.ts for which). Default `/run/fleetkit/hosts/CLUSTER`; undefined when switched off
   * (`x-fleetkit.hosts.containers: false`).
   */
  readonly containers: string | undefined;
}

export interface PortSpec {
  readonly hostIp: string | undefined;
  /** Undefined: docker picks a port. For a range, `host`/`container` are the first port and `count` > 1. */
  readonly host: number | undefined;
  readonly container: number;
  readonly count: number;
  /**
   * A published range for one container port (`8000-8010:80`): docker publishes the port on the first free
   * host port of the `hostCount` from `host`. Absent: the published range is as long as the container range.
   */
  readonly hostCount?: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

export interface VolumeSpec {
  /** Host path or named volume; undefined for an anonymous volume. */
  readonly source: string | undefined;
  readonly target: string;
  /** `ro`, `rw`, `z`, `Z`… joined as docker's `-v` accepts them. */
  readonly options: readonly string[];
  /**
   * A bind whose source must already exist (Compose's `bind.create_host_path: false`): rendered as
   * `--mount`, which fails on a missing source, where `-v` would make an empty directory in its place.
   */
  readonly mustExist?: true;
}

export interface HealthcheckSpec {
  /** Docker's form: `['CMD', …]` or `['CMD-SHELL', '…']`. `['NONE']` disables the image's check. */
  readonly test: readonly string[];
  readonly interval: Seconds | undefined;
  readonly timeout: Seconds | undefined;
  readonly retries: number | undefined;
  readonly startPeriod: Seconds | undefined;
  /** Docker 25+: the interval between checks during the start period. */
  readonly startInterval: Seconds | undefined;
}

/**
 * The everyday one-flag Compose keys, normalized; each becomes one `docker run` flag (docker-run-args.ts).
 * Empty lists and undefined values add nothing.
 */
export interface RunOptions {
  /** `init: true` adds `--init`. Compose's default (false): the image's own PID 1 runs. */
  readonly init: boolean;
  /** `--pull=` value; Compose's default `missing`. */
  readonly pull: 'always' | 'missing' | 'never';
  readonly platform: string | undefined;
  /** `network_mode`: undefined is the default bridge (flannel's subnet on a cluster). */
  readonly network: 'host' | 'none' | 'bridge' | undefined;
  readonly domainname: string | undefined;
  /** `expose`: `PORT[-PORT][/PROTO]`. */
  readonly expose: readonly string[];
  readonly stopSignal: string | undefined;
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly privileged: boolean;
  readonly securityOpt: readonly string[];
  readonly readOnly: boolean;
  /** `--tmpfs` values: `TARGET[:OPTIONS]`. */
  readonly tmpfs: readonly string[];
  /** `--device` values: `HOST[:CONTAINER[:PERMISSIONS]]`. */
  readonly devices: readonly string[];
  readonly deviceCgroupRules: readonly string[];
  readonly sysctls: ReadonlyArray<readonly [name: string, value: string]>;
  readonly ulimits: ReadonlyArray<readonly [name: string, soft: number, hard: number]>;
  readonly storageOpt: ReadonlyArray<readonly [name: string, value: string]>;
  /** `--add-host` values: `HOST:IP`. */
  readonly extraHosts: readonly string[];
  readonly dns: readonly string[];
  readonly dnsSearch: readonly string[];
  readonly dnsOpt: readonly string[];
  readonly groupAdd: readonly string[];
  readonly pid: string | undefined;
  readonly ipc: string | undefined;
  readonly uts: string | undefined;
  readonly userns: string | undefined;
  readonly cgroup: string | undefined;
  readonly cgroupParent: string | undefined;
  readonly runtime: string | undefined;
  readonly logDriver: string | undefined;
  readonly logOpts: ReadonlyArray<readonly [name: string, value: string]>;
  /** Sizes in bytes. */
  readonly shmSize: number | undefined;
  readonly memory: number | undefined;
  readonly memoryReservation: number | undefined;
  /** Bytes, or -1 for unlimited swap. */
  readonly memorySwap: number | undefined;
  readonly memorySwappiness: number | undefined;
  readonly oomKillDisable: boolean;
  readonly oomScoreAdj: number | undefined;
  readonly pidsLimit: number | undefined;
  /** Decimal CPUs as written (`0.5`). */
  readonly cpus: string | undefined;
  readonly cpuShares: number | undefined;
  readonly cpuPeriod: number | undefined;
  readonly cpuQuota: number | undefined;
  readonly cpuset: string | undefined;
  /** `x-docker.args`: raw words added before the image, quoted like the rest. */
  readonly extraArgs: readonly string[];
  /**
   * Why `x-docker.args` make the container keep docker's own /etc/hosts (`--add-host`, `--hostname`,
   * `--network host|none`, a mount at /etc/hosts: src/cluster/x-docker-args.ts), or undefined.
   */
  readonly keepsDockerHosts: string | undefined;
}

/** `[X-Fleet]` for a service, validated against fleet's rules. */
export interface FleetPlacement {
  /** Glob patterns, one `Conflicts=` line each. `conflicts: true` becomes `['NAME@*.service']`. */
  readonly conflicts: readonly string[];
  /** Exact unit names. */
  readonly machineOf: readonly string[];
  /** key → OR-list of values; AND across keys. Includes Swarm-style `deploy.placement.constraints`. */
  readonly machineMetadata: ReadonlyArray<readonly [key: string, values: readonly string[]]>;
  readonly global: boolean;
  /** Full 32-hex machine id. */
  readonly machineID: string | undefined;
  /** Glob of a unit this one replaces. */
  readonly replaces: string | undefined;
}

/** `x-announce`: the discovery sidekick for a service. */
export interface AnnounceSpec {
  /** Container port to announce; default the first published port's container side, else undefined. */
  readonly port: number | undefined;
  /** Lease TTL. Default 60. */
  readonly ttl: Seconds;
  /**
   * Hostname for the hosts file, with `%i` standing for the instance number (global services: `%H`, the
   * host name). Default `NAME-%i` (global: `NAME-%H`). Validated as an RFC 1123 label.
   */
  readonly hostname: string;
  /** Key, with `%i` for the instance. Default `<etcd.prefix>/<cluster>/<service>/%i`. Must lie under the prefix. */
  readonly key: string;
}

export interface ServiceSpec {
  /** Service name; unit names derive from it (`NAME@.service`, `NAME-discovery@.service`). */
  readonly name: string;
  readonly image: string;
  /** Compose `command` as argv (a string is split the way Compose splits it). */
  readonly command: readonly string[] | undefined;
  readonly entrypoint: readonly string[] | undefined;
  /** In file order. A value of undefined passes the variable through from the host (`environment: [FOO]`). */
  readonly environment: ReadonlyArray<readonly [name: string, value: string | undefined]>;
  readonly ports: readonly PortSpec[];
  readonly volumes: readonly VolumeSpec[];
  readonly volumeDriver: string | undefined;
  readonly labels: ReadonlyArray<readonly [name: string, value: string]>;
  /** Compose restart policy, mapped to systemd's `Restart=` by the renderer. Default `no`. */
  readonly restart: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  /** From Compose's `on-failure:N`: give up after N failed restarts (absent: no limit). */
  readonly restartMaxRetries?: number;
  /** `deploy.restart_policy.delay`: systemd's `RestartSec=` (absent: fleetkit's default). */
  readonly restartDelay?: Seconds;
  /** `container_name`: the container's name instead of `NAME-N` (one instance only). */
  readonly containerName: string | undefined;
  /** Named volumes marked `external: true`: each must exist before the container starts. */
  readonly externalVolumes: readonly string[];
  /** The one-flag keys. */
  readonly run: RunOptions;
  /** Instances `1..replicas`. Ignored (1) for global services. */
  readonly replicas: number;
  readonly healthcheck: HealthcheckSpec | undefined;
  readonly stopGracePeriod: Seconds | undefined;
  readonly user: string | undefined;
  readonly workingDir: string | undefined;
  readonly hostname: string | undefined;
  /** Compose `networks.*.aliases` of every network, in file order, without repeats: names in the containers' hosts file. */
  readonly aliases: readonly string[];
  readonly fleet: FleetPlacement;
  readonly announce: AnnounceSpec | undefined;
  /** `x-systemd`: extra directives per section, in order, appended after the rendered ones. */
  readonly systemd: ReadonlyArray<readonly [section: string, name: string, value: string]>;
  /** `depends_on`, resolved against the other services (src/cluster/normalize-depends.ts). Absent: none. */
  readonly dependsOn?: readonly DependencySpec[];
  /** `x-await.timeout`: how long the container waits for its dependencies (absent: fleetkit's default). */
  readonly awaitTimeout?: Seconds;
}

/** One `depends_on` entry: ordering where both run on one machine, a wait for announcements across machines. */
export interface DependencySpec {
  readonly service: string;
  /** `service_started` or `service_healthy`; both wait for the announcement (made only while healthy). */
  readonly condition: 'started' | 'healthy';
  /** Compose's `required`: when false, the container starts anyway once the wait times out. */
  readonly required: boolean;
  /** The dependency's container units, for `After=`/`Wants=`. */
  readonly units: readonly string[];
  /**
   * etcd keys that must all be present before the container starts; one ending in `/` stands for any key
   * under it. Empty: not awaited (the dependency does not announce, or the image runtime cannot wait).
   */
  readonly keys: readonly string[];
}

/** A machine role for cloud-config: a name and the fleet metadata machines of that role carry. */
export interface RoleSpec {
  readonly name: string;
  readonly metadata: ReadonlyArray<readonly [key: string, value: string]>;
  /** True for etcd members (they run an etcd server); others are proxies/clients. */
  readonly etcdMember: boolean;
}
