#!/usr/bin/env node
// Run a test command with the real parts started once for the whole run:
//
//   node test/env/run.mjs -- tap [args…]
//
// 1. makes a run (/tmp/fleetkit-test-<id>, names prefixed fk<id>) and starts etcd, systemd and dockerd
//    in parallel (systemd only needs the engine's socket path, which is known before the engine runs);
// 2. runs the command with FLEETKIT_TEST_* set (read by test/env/parts.ts);
// 3. always stops every part afterwards — on failure, SIGINT and SIGTERM too — including private parts
//    a crashed test file did not stop;
// 4. checks that nothing of the run is left (process, mount, cgroup, bridge, temp dir), prints what is,
//    cleans it up, and fails the run if anything was;
// 5. exits with the command's exit code (1 if it passed but leftovers were found).
// The layout must match sharedLayout() in part-runtime.ts.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { constants } from 'node:os'
import { mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const sep = process.argv.indexOf('--')
const command = sep >= 0 ? process.argv.slice(sep + 1) : process.argv.slice(2)
if (command.length === 0) {
  process.stderr.write('usage: node test/env/run.mjs -- COMMAND [ARGS…]\n')
  process.exit(2)
}

const log = (msg) => process.stderr.write(`[test-env] ${msg}\n`)
const since = (t0) => `${Math.round(performance.now() - t0)} ms`

/** Run a script of test/env; resolve with its exit code and output (stderr is passed through). */
function script(name, args) {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(here, name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => {
      if (err) process.stderr.write(err)
      resolve({ code: code ?? 1, out: out.trim(), err })
    })
  })
}

function makeRun() {
  for (;;) {
    const id = randomBytes(3).toString('hex')
    const root = `/tmp/fleetkit-test-${id}`
    try {
      mkdirSync(root, { mode: 0o700 })
      return { id, root, prefix: `fk${id}` }
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    }
  }
}

const run = makeRun()
const layout = {
  etcdDir: join(run.root, 'etcd'),
  systemdBase: join(run.root, 'systemd'),
  systemdSlice: `${run.prefix}sd.slice`,
  dockerDir: join(run.root, 'engine'),
  dockerName: `${run.prefix}000`,
}
const dockerSock = join(layout.dockerDir, 'docker.sock')

let child = null
let stopping = null
let interrupted = null
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    interrupted ??= sig
    log(`${sig}: stopping the tests and the parts`)
    // during start-up, main() sees `interrupted` once the parts are up, and tears down instead
    if (child && child.exitCode === null && child.signalCode === null) child.kill(sig)
  })
}

/** Stop every part dir below the run root (shared and forgotten private ones), in parallel. */
async function stopAll() {
  const t0 = performance.now()
  let entries = []
  try {
    entries = readdirSync(run.root)
  } catch {
    return
  }
  const jobs = entries.map((entry) => {
    const dir = join(run.root, entry)
    if (entry === 'etcd' || entry.startsWith('etcd-')) return script('etcd.sh', ['stop', dir])
    if (entry === 'engine' || entry.startsWith('engine-')) return script('engine.sh', ['stop', dir])
    if (entry === 'systemd') return script('systemd.sh', ['stop', dir, layout.systemdSlice])
    // a private manager's slice is named after its dir: see the crash-cleanup test
    if (entry.startsWith('systemd-')) return script('systemd.sh', ['stop', dir, `${run.prefix}${entry.slice(8)}.slice`])
    return Promise.resolve({ code: 0 })
  })
  const forgotten = entries.filter((e) => /^(etcd|engine|systemd)-/.test(e))
  if (forgotten.length) log(`private parts not stopped by their tests, stopping now: ${forgotten.join(' ')}`)
  await Promise.all(jobs)
  try {
    rmdirSync(run.root)
  } catch {
    // reported by the leftover check below
  }
  log(`teardown took ${since(t0)}`)
}

function finish(code) {
  stopping ??= (async () => {
    await stopAll()
    const check = await script('leftovers.sh', [run.root, run.prefix, '--clean'])
    if (check.code !== 0) {
      process.stderr.write(check.out ? `${check.out}\n` : '')
      log('FAILED: the run left the above behind (now removed)')
      if (code === 0) code = 1
    } else {
      log('nothing left behind')
    }
    process.exit(code)
  })()
  return stopping
}

async function main() {
  const t0 = performance.now()
  log(`run ${run.id} in ${run.root}`)
  const timed = async (what, name, args) => {
    const s = performance.now()
    const r = await script(name, args)
    log(`${what} setup ${r.code === 0 ? 'ready' : 'FAILED'} in ${since(s)}`)
    return r
  }
  const [etcd, systemd, docker] = await Promise.all([
    timed('etcd', 'etcd.sh', ['start', layout.etcdDir]),
    timed('systemd', 'systemd.sh', ['start', layout.systemdBase, layout.systemdSlice, `unix://${dockerSock}`]),
    timed('docker', 'engine.sh', ['start', layout.dockerDir, layout.dockerName]),
  ])
  log(`all parts ready in ${since(t0)}`)
  if (etcd.code || systemd.code || docker.code) {
    log('a part did not start; not running the tests')
    return finish(1)
  }
  if (interrupted) return finish(130)

  const env = {
    ...process.env,
    FLEETKIT_TEST_RUN: run.id,
    FLEETKIT_TEST_ROOT: run.root,
    FLEETKIT_TEST_ETCD: etcd.out,
    FLEETKIT_TEST_ETCD_DIR: layout.etcdDir,
    FLEETKIT_TEST_SYSTEMD_BASE: layout.systemdBase,
    FLEETKIT_TEST_SYSTEMD_SLICE: layout.systemdSlice,
    FLEETKIT_TEST_SYSTEMD_BUS: readEnv(layout.systemdBase).SYSTEMD_BUS ?? '',
    FLEETKIT_TEST_DOCKER_DIR: layout.dockerDir,
    FLEETKIT_TEST_DOCKER_SOCK: dockerSock,
  }
  const [file, ...args] = command
  const t1 = performance.now()
  child = spawn(file, args, { stdio: 'inherit', env })
  const code = await new Promise((resolve) => {
    child.on('error', (err) => {
      log(`cannot run ${file}: ${err.message}`)
      resolve(127)
    })
    child.on('exit', (c, signal) => resolve(c ?? 128 + (constants.signals[signal] ?? 0)))
  })
  log(`${command.join(' ')} exited ${code} after ${since(t1)}`)
  return finish(interrupted && code === 0 ? 130 : code)
}

function readEnv(dir) {
  const out = {}
  try {
    for (const line of readFileSync(join(dir, 'part.env'), 'utf8').split('\n')) {
      const eq = line.indexOf('=')
      if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1)
    }
  } catch {
    // absent: the part did not start
  }
  return out
}

main().catch((err) => {
  log(`error: ${err?.stack ?? err}`)
  return finish(1)
})
