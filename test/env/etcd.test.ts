import t from 'tap'
import { etcdPart } from './parts.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

/** v3 JSON gateway: no client library, so the test checks etcd, not a client's reconnect logic. */
async function v3(url: string, path: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/v3/${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(3000) })
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return (await res.json()) as Record<string, unknown>
}

async function get(url: string, key: string): Promise<string | undefined> {
  const r = (await v3(url, 'kv/range', { key: b64(key) })) as { kvs?: Array<{ value: string }> }
  const v = r.kvs?.[0]?.value
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString()
}

t.test('a private etcd survives a restart with its data', async (t) => {
  const etcd = await etcdPart(t, { private: true })
  t.match(etcd.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.same(etcd.endpoints, [etcd.clientUrl])
  await v3(etcd.clientUrl, 'kv/put', { key: b64('/selftest/a'), value: b64('kept') })

  await etcd.stop()
  await t.rejects(get(etcd.clientUrl, '/selftest/a'), 'etcd is really down after stop()')
  await etcd.start()
  t.equal(await get(etcd.clientUrl, '/selftest/a'), 'kept', 'data survives a clean restart')

  await v3(etcd.clientUrl, 'kv/put', { key: b64('/selftest/b'), value: b64('after crash') })
  await etcd.kill()
  await t.rejects(get(etcd.clientUrl, '/selftest/b'), 'etcd is really down after kill()')
  await etcd.restart()
  t.equal(await get(etcd.clientUrl, '/selftest/b'), 'after crash', 'data survives SIGKILL + start')
})

t.test('the shared etcd answers', async (t) => {
  const etcd = await etcdPart(t)
  const key = `/selftest/shared/${process.pid}`
  await v3(etcd.clientUrl, 'kv/put', { key: b64(key), value: b64('x') })
  t.equal(await get(etcd.clientUrl, key), 'x')
  await v3(etcd.clientUrl, 'kv/deleterange', { key: b64(key) })
})
