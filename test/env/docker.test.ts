import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { dockerPart, waitFor, type DockerPart } from './parts.js'

async function ok(docker: DockerPart, args: string[]): Promise<string> {
  const r = await docker.docker(args)
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}: ${r.stderr}`)
  return r.stdout.trim()
}

const inSubnet = (ip: string, subnet: string) => ip.startsWith(subnet.replace(/\.0\/24$/, '.'))

t.test('a container is reachable on its IP and a published port, and becomes healthy', async (t) => {
  const docker = await dockerPart(t)
  const name = `fk-selftest-${process.pid}`
  t.teardown(() => docker.docker(['rm', '-f', name]))
  await ok(docker, ['run', '-d', '--name', name, '-p', '127.0.0.1::8080', docker.httpImage])
  const ip = await ok(docker, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name])
  t.ok(inSubnet(ip, docker.subnet), `container IP ${ip} is in the engine's own subnet ${docker.subnet}`)

  const body = await waitFor(
    async () => (await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(2000) })).text(),
    { what: `httpd on ${ip}:8080` },
  )
  t.equal(body.trim(), 'hello from fleetkit test httpd')

  const published = await ok(docker, ['port', name, '8080/tcp'])
  t.match(published, /^127\.0\.0\.1:\d+/, 'published on loopback only')
  const res = await fetch(`http://${published.split('\n')[0]}/`, { signal: AbortSignal.timeout(2000) })
  t.equal(res.status, 200)

  const health = await waitFor(
    async () => {
      const s = await ok(docker, ['inspect', '-f', '{{.State.Health.Status}}', name])
      return s === 'healthy' || s === 'unhealthy' ? s : undefined
    },
    { what: 'health status', timeoutMs: 20_000 },
  )
  t.equal(health, 'healthy')
})

t.test('a private engine restarts and runs containers afterwards', async (t) => {
  const docker = await dockerPart(t, { private: true })
  const shared = await dockerPart(t)
  t.not(docker.socketPath, shared.socketPath)
  t.not(docker.bridge, shared.bridge, 'its own bridge')
  t.not(docker.subnet, shared.subnet, 'its own subnet')
  const pidOf = () => readFileSync(join(docker.dir, 'dockerd.pid'), 'utf8').trim()
  const before = pidOf()
  await docker.restart()
  t.not(pidOf(), before, 'a new dockerd process')
  t.equal(await ok(docker, ['image', 'inspect', '-f', '{{.Config.Cmd}}', docker.busyboxImage]), '[/bin/sh]', 'images kept')
  t.equal(await ok(docker, ['run', '--rm', docker.busyboxImage, 'echo', 'after restart']), 'after restart')

  await docker.stop()
  t.not((await docker.docker(['version'])).code, 0, 'the API is down after stop()')
  await docker.start()
  const ip = await ok(docker, ['run', '--rm', docker.busyboxImage, 'sh', '-c', "ip -4 -o addr show eth0 | awk '{print $4}'"])
  t.ok(inSubnet(ip, docker.subnet), `a new container gets ${ip} in ${docker.subnet}`)
})
