/**
 * The agent's log: one line per event with an sd-daemon priority prefix (`<3>` error, `<4>` warning,
 * `<6>` info, `<7>` debug), so journald files each line under the right priority without a library.
 */
import type { OutStream } from '../cli/io.js';

/** Logger with one method per priority. Messages are single lines: newlines are escaped. */
export interface AgentLog {
  err(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** Writes prefixed lines to `stream`; debug lines only with `debug: true`. */
export function createAgentLog(stream: OutStream, options: { readonly debug?: boolean } = {}): AgentLog {
  // A value from etcd or docker must never start a second journal line: escape line breaks.
  const line = (p: number, m: string): void => void stream.write(`<${p}>${m.replace(/\r?\n/g, '\\n')}\n`);
  return {
    err: (m) => line(3, m),
    warn: (m) => line(4, m),
    info: (m) => line(6, m),
    debug: (m) => (options.debug ? line(7, m) : undefined),
  };
}
