import { createServer } from 'node:net'

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @default 10000 */
  readonly timeoutMs?: number
  /** What is awaited, named in the timeout error ("unit hello.service active"). */
  readonly what: string
  /** Pause between polls. @default 50 */
  readonly intervalMs?: number
}

/**
 * Poll a real condition until it holds, with a deadline. `cond` returns a truthy value when done (that
 * value is returned) or falsy to poll again; a throw counts as "not yet" and is kept for the error.
 * On timeout it rejects with `timed out after Nms waiting for <what>` and the last value or error.
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const intervalMs = options.intervalMs ?? 50
  const deadline = Date.now() + timeoutMs
  let last: unknown
  let lastError: unknown
  for (;;) {
    try {
      last = await cond()
      lastError = undefined
      if (last) return last as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(1, deadline - Date.now()))))
  }
  const detail =
    lastError !== undefined
      ? `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      : `; last value: ${JSON.stringify(last)}`
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${options.what}${detail}`, { cause: lastError })
}

/**
 * A loopback TCP port that was free a moment ago (the kernel picks it). Another process may take it
 * before it is used; bind soon after.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))))
    })
  })
}
