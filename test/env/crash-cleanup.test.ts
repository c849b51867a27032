import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { newPartDir, runCommand, runScript } from './part-runtime.js'
import { dockerPart, etcdPart, waitFor } from './parts.js'

// After `kill -9` of a part, its stop must still remove everything it started: these checks look at
// the machine itself (process table, mount table, links, cgroup tree), not at the scripts' own notes.

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] !== 'Z'
  } catch {
    return false
  }
}

/** Live processes carrying the part's FLEETKIT_TEST_OWNER marker. */
function ownedPids(dir: string): number[] {
  const marker = `FLEETKIT_TEST_OWNER=${dir}`
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) out.push(Number(entry))
    } catch {
      // exited meanwhile
    }
  }
  return out.filter(alive)
}

const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))

function cgroupDirs(name: string): string[] {
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))]
  return roots.map((r) => join(r, name)).filter((d) => existsSync(d))
}

async function linkExists(name: string): Promise<boolean> {
  return (await runCommand('ip', ['link', 'show', name])).code === 0
}

t.test('kill -9 of a private engine with a running container, then stop, leaves nothing', async (t) => {
  const docker = await dockerPart(t, { private: true })
  const run = await docker.docker(['run', '-d', '-p', '127.0.0.1::8080', docker.httpImage])
  t.equal(run.code, 0, run.stderr)
  const ctrPid = Number((await docker.docker(['inspect', '-f', '{{.State.Pid}}', run.stdout.trim()])).stdout)
  const dockerd = Number(readFileSync(join(docker.dir, 'dockerd.pid'), 'utf8'))
  const pids = [...ownedPids(docker.dir), ctrPid]
  t.ok(pids.length >= 4, `dockerd, containerd, shim, docker-proxy and the container run: ${pids.join(' ')}`)
  t.ok(cgroupDirs(docker.bridge).length > 0, 'the container cgroup parent exists')
  t.ok(await linkExists(docker.bridge), 'the bridge exists')

  process.kill(dockerd, 'SIGKILL')
  await waitFor(() => !alive(dockerd), { what: 'dockerd to die' })
  t.ok(alive(ctrPid), 'the container outlives its crashed engine (as in real life)')

  await runScript('engine.sh', ['stop', docker.dir])
  t.same(pids.filter(alive), [], 'no process of the engine is left')
  t.same(ownedPids(docker.dir), [], 'nothing carries its marker')
  t.same(mountsUnder(docker.dir), [], 'no mount is left')
  t.same(cgroupDirs(docker.bridge), [], 'no cgroup is left')
  t.notOk(await linkExists(docker.bridge), 'the bridge is gone')
  t.notOk(existsSync(docker.dir), 'the dir is gone')
})

t.test('kill -9 of a private etcd, then stop, leaves nothing', async (t) => {
  const etcd = await etcdPart(t, { private: true })
  const pid = Number(readFileSync(join(etcd.dir, 'etcd.pid'), 'utf8'))
  t.ok(alive(pid))
  process.kill(pid, 'SIGKILL')
  await runScript('etcd.sh', ['stop', etcd.dir])
  t.notOk(alive(pid))
  t.same(ownedPids(etcd.dir), [])
  t.notOk(existsSync(etcd.dir), 'the data dir is gone')
})

t.test('kill -9 of a systemd manager with a running unit, then stop, leaves nothing', async (t) => {
  const { dir, name } = newPartDir('systemd')
  const slice = `${name}.slice`
  t.teardown(() => runScript('systemd.sh', ['stop', dir, slice]))
  await runScript('systemd.sh', ['start', dir, slice])
  const env = { DBUS_SESSION_BUS_ADDRESS: `unix:path=${dir}/runtime/bus`, XDG_RUNTIME_DIR: `${dir}/runtime` }
  const started = await runCommand('systemd-run', ['--user', '--unit', 'fk-sleeper', 'sleep', '600'], env)
  t.equal(started.code, 0, started.stderr)
  const show = await runCommand('systemctl', ['--user', 'show', '-p', 'MainPID', '--value', 'fk-sleeper'], env)
  const sleeper = Number(show.stdout.trim())
  const manager = Number(readFileSync(join(dir, 'manager.pid'), 'utf8'))
  const pids = [...ownedPids(dir), sleeper]
  t.ok(pids.length >= 4, `manager, journald, dbus-daemon and the unit run: ${pids.join(' ')}`)
  t.ok(cgroupDirs(slice).length > 0, 'the slice exists')

  process.kill(manager, 'SIGKILL')
  await waitFor(() => !alive(manager), { what: 'the manager to die' })
  t.ok(alive(sleeper), 'the unit outlives its crashed manager')

  await runScript('systemd.sh', ['stop', dir, slice])
  t.same(pids.filter(alive), [], 'no process of the manager is left')
  t.same(cgroupDirs(slice), [], 'no cgroup is left')
  t.notOk(existsSync(dir), 'the dir is gone')
})
