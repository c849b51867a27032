/**
 * Follows docker's container events for as long as the agent runs. The stream drops when dockerd restarts
 * or the socket breaks; a follower that exits then would leave stale announcements, so this one reconnects
 * with backoff forever and asks for a resync after every (re)connect, which closes any gap.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from './docker-client.js';
import { parseEvent, type ContainerEvent } from './container-info.js';

/** Callbacks and limits for followContainerEvents. */
export interface FollowOptions {
  readonly signal: AbortSignal;
  readonly onEvent: (event: ContainerEvent) => void;
  /** Called once the stream is open, first and after each reconnect: re-read every container's state. */
  readonly onConnected: (reconnect: boolean) => Promise<void> | void;
  /** Called when the stream cannot be opened or drops. */
  readonly onGap: (error: Error) => void;
  /** Longest wait between reconnect attempts, ms. Default 5000. */
  readonly maxDelayMs?: number;
}

/** Runs until `signal` aborts; never rejects. */
export async function followContainerEvents(docker: DockerClient, options: FollowOptions): Promise<void> {
  const { signal } = options;
  let delay = 100;
  let connects = 0;
  while (!signal.aborted) {
    let stream: NodeJS.ReadableStream | undefined;
    try {
      stream = await docker.events();
      const opened = Date.now();
      let onAbort = (): void => undefined;
      const done = new Promise<Error>((resolve) => {
        onAbort = (): void => resolve(new Error('stopped'));
        // An abort while the stream was opening has fired already: the listener would never run.
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        stream!.once('error', (e: Error) => resolve(e));
        stream!.once('end', () => resolve(new Error('event stream closed by docker')));
        stream!.once('close', () => resolve(new Error('event stream closed')));
      });
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        const ev = parseEvent(line);
        if (ev) options.onEvent(ev);
      });
      lines.on('error', () => undefined);
      // The stream is open before the state is read, so nothing that happens in between is missed.
      await options.onConnected(connects++ > 0);
      const err = await done;
      signal.removeEventListener('abort', onAbort); // one listener per connection, not one more per reconnect
      lines.close();
      if (signal.aborted) break;
      options.onGap(err);
      if (Date.now() - opened > 10_000) delay = 100;
    } catch (e) {
      if (signal.aborted) break;
      options.onGap(e as Error);
    } finally {
      (stream as { destroy?: () => void } | undefined)?.destroy?.();
    }
    await sleep(delay, undefined, { signal }).catch(() => undefined); // an abort ends the wait early
    delay = Math.min(delay * 2, options.maxDelayMs ?? 5000);
  }
}
