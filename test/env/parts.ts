/**
 * The real outside systems for tests: etcd, systemd (D-Bus + journald) and a Docker engine.
 *
 * ```ts
 * import t from 'tap'
 * import { etcdPart, systemdPart, dockerPart, waitFor } from '../env/parts.js'
 * const etcd = await etcdPart(t)                      // shared by the whole run
 * const own = await etcdPart(t, { private: true })    // this test's own; kill/restart it at will
 * ```
 *
 * Shared vs private: under `npm test`, test/env/run.mjs starts one etcd, one systemd and one engine for
 * the whole run and passes them in FLEETKIT_TEST_* variables; every test file uses those. A file run alone
 * (`npx tap test/x.test.ts`) starts them on demand, once per process, and stops them when its root test
 * ends. Do not stop, kill or restart a shared part: other files use it at the same time. Ask for
 * `{ private: true }` for that; a private part is stopped and removed by the `t.teardown` it registers.
 *
 * DOCKER_HOST for units: the shared systemd manager is started with
 * `DefaultEnvironment=DOCKER_HOST=unix://<shared engine socket>` (in its user.conf.d), so any unit it
 * runs can call the real `docker` CLI against the shared engine without an `Environment=` line. It is
 * also `systemd.unitDockerHost`. A unit that must reach a private engine sets `Environment=DOCKER_HOST=…`
 * itself (from `docker.dockerHost`).
 *
 * Images on every engine: `local/busybox:latest` (busybox-static, `CMD ["/bin/sh"]`) and
 * `local/httpd:latest` (busybox `httpd -f -p 8080 -h /www`, `/www/index.html` = "hello from fleetkit test
 * httpd", HEALTHCHECK wget every 1 s). Containers get an IP on the engine's own bridge (reachable from the
 * host); published ports bind 127.0.0.1. There is no registry: a pull fails at once.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  atRunEnd,
  type CommandResult,
  newPartDir,
  readPartEnv,
  runCommand,
  runContext,
  runScript,
  sharedLayout,
  type TestLike,
} from './part-runtime.js'

export { freePort, waitFor, type WaitForOptions } from './wait-for.js'
export type { CommandResult, TestLike } from './part-runtime.js'

/** Options of {@link etcdPart} and {@link dockerPart}. */
export interface PartOptions {
  /** A fresh instance for this test alone, which it may stop, kill and restart. @default false */
  readonly private?: boolean
  /**
   * dockerPart with `private: true` only: the engine runs in a network namespace of its own, so its
   * published host ports (bound on that namespace's 127.0.0.1) never collide with another engine's or the
   * machine's. Its containers are then not reachable from the host. @default false
   */
  readonly netns?: boolean
}

/** A running etcd 3.4 (v3 and v2 API) on loopback. */
export interface EtcdPart {
  /** `[clientUrl]`, for `new Etcd3({ hosts })` / connectEtcd. */
  readonly endpoints: string[]
  /** `http://127.0.0.1:<port>`; the port stays the same across restarts. */
  readonly clientUrl: string
  /** Its data dir; a restart keeps it. */
  readonly dataDir: string
  /** The part's own dir (pid file, log, part.env). */
  readonly dir: string
  /** Send `signal` (default SIGTERM) and wait until etcd has exited. Data stays. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Start it again on the same port and data; resolves when /health is true. No-op if running. */
  start(): Promise<void>
  /** stop() then start(). */
  restart(): Promise<void>
  /** stop('SIGKILL'): a crash. */
  kill(): Promise<void>
}

/** A running `systemd --user` manager with its own D-Bus bus and journald. */
export interface SystemdPart {
  /** Set these for dbus-next (`sessionBus()`), `systemctl --user`, `busctl --user`. */
  readonly env: { DBUS_SESSION_BUS_ADDRESS: string; XDG_RUNTIME_DIR: string }
  /** Unit files written here are seen after a daemon Reload. */
  readonly unitDir: string
  /** Journal dir for `journalctl -D`. */
  readonly journalDir: string
  /** The DOCKER_HOST every unit of this manager gets (the shared engine's socket). */
  readonly unitDockerHost: string
  /**
   * Output lines (`-o cat`) of a user unit; the last `n` when given. As on any host, journald ties a
   * line to its unit by reading the sender's cgroup, so lines of a process that exits within a few ms
   * of writing them can lose the unit (journald's known race): let test commands live a moment longer.
   */
  journalLines(unit: string, n?: number): Promise<string[]>
  /** `systemctl --user ARGS…` against this manager. */
  systemctl(args: readonly string[]): Promise<CommandResult>
}

/** A running dockerd (20.10, vfs) with its own bridge and the local images. */
export interface DockerPart {
  /** The API socket, for dockerode `{ socketPath }`. */
  readonly socketPath: string
  /** `unix://<socketPath>`, for DOCKER_HOST. */
  readonly dockerHost: string
  /** `local/busybox:latest`. */
  readonly busyboxImage: string
  /** `local/httpd:latest`: port 8080, health check. */
  readonly httpImage: string
  /** The engine's own bridge interface (`--bridge`). */
  readonly bridge: string
  /** The bridge's subnet, e.g. `10.213.7.0/24`; container IPs come from it. */
  readonly subnet: string
  /** The part's own dir (pid file, log, data-root, exec-root). */
  readonly dir: string
  /** The docker CLI against this engine. */
  docker(args: readonly string[]): Promise<CommandResult>
  /** stop() then start(). Containers are stopped by dockerd as in real life (no live-restore). */
  restart(): Promise<void>
  /** Stop dockerd (SIGTERM, waits). Images, containers and the bridge stay for start(). */
  stop(): Promise<void>
  /** Start dockerd again; resolves when /_ping answers and the images are there. No-op if running. */
  start(): Promise<void>
}

const BUSYBOX = 'local/busybox:latest'
const HTTPD = 'local/httpd:latest'
const shared = new Map<string, Promise<unknown>>()

/** Start a part shared by this process once; on demand (no run.mjs) it is stopped at the run's end. */
function sharedOnce<T>(key: string, make: () => Promise<T>): Promise<T> {
  let p = shared.get(key) as Promise<T> | undefined
  if (!p) {
    p = make()
    shared.set(key, p)
    p.catch(() => shared.delete(key))
  }
  return p
}

function etcdHandle(dir: string, ports: string | undefined): EtcdPart {
  const settings = readPartEnv(dir)
  const clientUrl = settings.ETCD_URL ?? ''
  const part: EtcdPart = {
    endpoints: [clientUrl],
    clientUrl,
    dataDir: join(dir, 'data'),
    dir,
    async stop(signal = 'SIGTERM') {
      await runScript('etcd.sh', ['kill', dir, signal])
    },
    async start() {
      await runScript('etcd.sh', ['start', dir, ...(ports ? [ports] : [])])
    },
    async restart() {
      await part.stop()
      await part.start()
    },
    kill: () => part.stop('SIGKILL'),
  }
  return part
}

/**
 * A running etcd. Shared per run unless `private: true`; a private one gets free loopback ports and its
 * own data dir, and is stopped and removed (data too) when `t` ends.
 */
export async function etcdPart(t: TestLike, options: PartOptions = {}): Promise<EtcdPart> {
  if (options.private) {
    const { dir } = newPartDir('etcd')
    t.teardown(() => runScript('etcd.sh', ['stop', dir]))
    await runScript('etcd.sh', ['start', dir])
    return etcdHandle(dir, undefined)
  }
  const ctx = runContext()
  const dir = process.env.FLEETKIT_TEST_ETCD_DIR ?? sharedLayout(ctx).etcdDir
  if (ctx.onDemand) {
    await sharedOnce('etcd', async () => {
      atRunEnd(() => runScript('etcd.sh', ['stop', dir]).then(() => undefined))
      await runScript('etcd.sh', ['start', dir])
    })
  }
  return etcdHandle(dir, undefined)
}

/**
 * The run's systemd manager (always shared: units are cheap to make unique — name them after the test).
 * Its units get DOCKER_HOST of the shared engine (see the file comment).
 */
export async function systemdPart(t: TestLike): Promise<SystemdPart> {
  void t // shared parts are torn down by the run, not by the test
  const ctx = runContext()
  const layout = sharedLayout(ctx)
  const base = process.env.FLEETKIT_TEST_SYSTEMD_BASE ?? layout.systemdBase
  const slice = process.env.FLEETKIT_TEST_SYSTEMD_SLICE ?? layout.systemdSlice
  if (ctx.onDemand) {
    const unitDockerHost = `unix://${join(layout.dockerDir, 'docker.sock')}`
    await sharedOnce('systemd', async () => {
      atRunEnd(() => runScript('systemd.sh', ['stop', base, slice]).then(() => undefined))
      await runScript('systemd.sh', ['start', base, slice, unitDockerHost])
    })
  }
  const settings = readPartEnv(base)
  const env = {
    DBUS_SESSION_BUS_ADDRESS: settings.SYSTEMD_BUS ?? '',
    XDG_RUNTIME_DIR: settings.SYSTEMD_RUNTIME ?? '',
  }
  const journalDir = settings.SYSTEMD_JOURNAL_DIR ?? ''
  return {
    env,
    unitDir: settings.SYSTEMD_UNIT_DIR ?? '',
    journalDir,
    unitDockerHost: settings.SYSTEMD_DOCKER_HOST ?? '',
    async journalLines(unit, n) {
      const args = ['-D', journalDir, '--user-unit', unit, '-o', 'cat', '--no-pager', '-q']
      if (n !== undefined) args.push('-n', String(n))
      const result = await runCommand('journalctl', args)
      if (result.code !== 0) throw new Error(`journalctl ${args.join(' ')} failed: ${result.stderr}`)
      return result.stdout.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1)
    },
    systemctl: (args) => runCommand('systemctl', ['--user', ...args], env),
  }
}

function dockerHandle(dir: string, name: string): DockerPart {
  const settings = readPartEnv(dir)
  const socketPath = settings.DOCKER_SOCK ?? join(dir, 'docker.sock')
  const dockerHost = `unix://${socketPath}`
  const part: DockerPart = {
    socketPath,
    dockerHost,
    busyboxImage: BUSYBOX,
    httpImage: HTTPD,
    bridge: settings.DOCKER_BRIDGE ?? name,
    subnet: settings.DOCKER_SUBNET ?? '',
    dir,
    docker: (args) => runCommand('docker', args, { DOCKER_HOST: dockerHost }),
    async stop() {
      await runScript('engine.sh', ['halt', dir])
    },
    async start() {
      await runScript('engine.sh', ['start', dir, name])
    },
    async restart() {
      await part.stop()
      await part.start()
    },
  }
  return part
}

/**
 * A running Docker engine. Shared per run unless `private: true`; a private one has its own bridge and
 * subnet, and is stopped with everything it made (containers, mounts, cgroups, bridge, dir) when `t` ends.
 */
export async function dockerPart(t: TestLike, options: PartOptions = {}): Promise<DockerPart> {
  if (options.private) {
    const { dir, name } = newPartDir('engine')
    t.teardown(() => runScript('engine.sh', ['stop', dir]))
    if (options.netns) writeFileSync(join(dir, 'netns'), '')
    await runScript('engine.sh', ['start', dir, name])
    return dockerHandle(dir, name)
  }
  const ctx = runContext()
  const layout = sharedLayout(ctx)
  const dir = process.env.FLEETKIT_TEST_DOCKER_DIR ?? layout.dockerDir
  if (ctx.onDemand) {
    await sharedOnce('docker', async () => {
      atRunEnd(() => runScript('engine.sh', ['stop', dir]).then(() => undefined))
      await runScript('engine.sh', ['start', dir, layout.dockerName])
    })
  }
  return dockerHandle(dir, layout.dockerName)
}
