import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import tap from 'tap'

const here = dirname(fileURLToPath(import.meta.url))

/** What a command printed and how it ended; never thrown. */
export interface CommandResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The slice of a tap test the helpers need: a place to register clean-up. */
export interface TestLike {
  teardown(fn: () => unknown): void
}

/** Run a program to its end and collect its output; a non-zero exit is a result, not an error. */
export function runCommand(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0
        resolve({ code, stdout, stderr: stderr || (err && code === 127 ? err.message : '') })
      },
    )
  })
}

/** Run one of the test-environment scripts beside this file; rejects with its stderr when it fails. */
export async function runScript(name: string, args: readonly string[]): Promise<string> {
  const result = await runCommand('bash', [join(here, name), ...args])
  if (result.code !== 0) {
    throw new Error(`test/env/${name} ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr}`)
  }
  return result.stdout.trim()
}

/** The KEY=VALUE settings a script wrote to DIR/part.env. */
export function readPartEnv(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(join(dir, 'part.env'), 'utf8').split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return out
}

/**
 * The test run this process belongs to: its temp root (every part dir lives below it) and the name
 * prefix of its cgroups and bridges. Set by run.mjs (FLEETKIT_TEST_RUN / FLEETKIT_TEST_ROOT); a file
 * run alone makes its own and removes it when the root tap test ends.
 */
export interface RunContext {
  readonly id: string
  readonly root: string
  readonly prefix: string
  /** True when this process made the run itself (no run.mjs): shared parts are started on demand. */
  readonly onDemand: boolean
}

let context: RunContext | undefined
const rootCleanups: Array<() => Promise<void>> = []

/** This process's run context (made once). */
export function runContext(): RunContext {
  if (context) return context
  const id = process.env.FLEETKIT_TEST_RUN
  const root = process.env.FLEETKIT_TEST_ROOT
  if (id && root) {
    context = { id, root, prefix: `fk${id}`, onDemand: false }
    return context
  }
  const made = makeRunRoot()
  context = { ...made, prefix: `fk${made.id}`, onDemand: true }
  // last in, first out: parts first, then the root dir itself
  tap.teardown(async () => {
    for (const cleanup of rootCleanups.splice(0).reverse()) await cleanup()
    rmSync(made.root, { recursive: true, force: true })
  })
  return context
}

/** Register clean-up for the end of this process's tests (the root tap test). */
export function atRunEnd(cleanup: () => Promise<void>): void {
  rootCleanups.push(cleanup)
}

/** A new, unique run: /tmp/fleetkit-test-<6 hex>, made atomically so concurrent runs never share one. */
export function makeRunRoot(): { id: string; root: string } {
  for (;;) {
    const id = randomBytes(3).toString('hex')
    const root = `/tmp/fleetkit-test-${id}`
    try {
      mkdirSync(root, { mode: 0o700 })
      return { id, root }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}

/**
 * A fresh dir for a private part (`<root>/<kind>-<3 hex>`) and its unique name (`<prefix><3 hex>`, at
 * most 11 characters: it names a bridge and a cgroup). mkdir is the lock between parallel test files.
 */
export function newPartDir(kind: string): { dir: string; name: string } {
  const { root, prefix } = runContext()
  for (;;) {
    const k = randomBytes(2).toString('hex').slice(0, 3)
    if (k === '000') continue // the shared engine's name
    const dir = join(root, `${kind}-${k}`)
    try {
      mkdirSync(dir, { mode: 0o700 })
      return { dir, name: `${prefix}${k}` }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}

/** The fixed layout of a run's shared parts, used by run.mjs and by on-demand starts alike. */
export function sharedLayout(ctx: RunContext): {
  etcdDir: string
  systemdBase: string
  systemdSlice: string
  dockerDir: string
  dockerName: string
} {
  return {
    etcdDir: join(ctx.root, 'etcd'),
    systemdBase: join(ctx.root, 'systemd'),
    systemdSlice: `${ctx.prefix}sd.slice`,
    dockerDir: join(ctx.root, 'engine'),
    dockerName: `${ctx.prefix}000`,
  }
}
