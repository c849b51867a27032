import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { dockerPart, systemdPart, waitFor } from './parts.js'

/** The part of org.freedesktop.systemd1.Manager this test calls (dbus-next types members loosely). */
interface Manager {
  Subscribe(): Promise<void>
  Reload(): Promise<void>
  StartUnit(name: string, mode: string): Promise<string>
  on(event: 'JobRemoved', listener: (id: number, job: string, unit: string, result: string) => void): void
}

// A unit started over D-Bus (the way fleetkit's systemd adapter will) really runs, its output reaches
// the manager's own journald, and it can drive the shared engine with the docker CLI.
t.test('a unit started over D-Bus runs and its output is in the journal', async (t) => {
  const docker = await dockerPart(t)
  const systemd = await systemdPart(t)
  const unit = `fk-selftest-${process.pid}.service`
  await writeFile(
    join(systemd.unitDir, unit),
    [
      '[Service]',
      'Type=oneshot',
      // journald attributes a line to its unit by reading the sender's cgroup: a process that exits
      // within milliseconds of writing may lose that, so the command stays alive a little
      `ExecStart=/bin/sh -c 'echo hello from unit; echo "docker at $$DOCKER_HOST"; sleep 0.3'`,
      // the same for the docker CLI's one line (lost once under a loaded CI run)
      "ExecStart=/bin/sh -c 'docker version --format \"server {{.Server.Version}}\"; sleep 0.3'",
      '',
    ].join('\n'),
  )

  const prev = { ...process.env }
  Object.assign(process.env, systemd.env) // dbus-next's sessionBus() reads DBUS_SESSION_BUS_ADDRESS
  t.teardown(() => {
    process.env.DBUS_SESSION_BUS_ADDRESS = prev.DBUS_SESSION_BUS_ADDRESS
    process.env.XDG_RUNTIME_DIR = prev.XDG_RUNTIME_DIR
  })
  const dbus = await import('dbus-next')
  const bus = dbus.sessionBus()
  t.teardown(() => bus.disconnect())
  const obj = await bus.getProxyObject('org.freedesktop.systemd1', '/org/freedesktop/systemd1')
  const manager = obj.getInterface('org.freedesktop.systemd1.Manager') as unknown as Manager
  await manager.Subscribe()
  const results = new Map<string, string>()
  manager.on('JobRemoved', (_id: number, job: string, _unit: string, result: string) => results.set(job, result))
  await manager.Reload()
  const job: string = await manager.StartUnit(unit, 'replace')
  const result = await waitFor(() => results.get(job), { what: `JobRemoved for ${unit}`, timeoutMs: 20_000 })
  t.equal(result, 'done', 'the start job succeeded')

  const lines = await waitFor(
    async () => {
      const got = await systemd.journalLines(unit)
      return got.some((l) => l.startsWith('server ')) ? got : undefined
    },
    { what: `the output of ${unit} in the journal`, timeoutMs: 10_000 },
  )
  t.ok(lines.includes('hello from unit'), 'the first command ran')
  t.ok(lines.includes(`docker at ${docker.dockerHost}`), 'units get DOCKER_HOST of the shared engine')
  t.match(lines.find((l) => l.startsWith('server ')), /^server 20\.10\./, 'the docker CLI reached the engine')
  t.same(await systemd.journalLines(unit, 1), [lines.at(-1)], 'n limits to the last lines')

  const status = await systemd.systemctl(['is-active', unit])
  t.equal(status.stdout.trim(), 'inactive', 'a finished oneshot is inactive (systemctl reaches the manager)')
})
