/**
 * fleetkit's one logger. Each line has a syslog priority; under journald (`JOURNAL_STREAM` names the stream
 * written to) it carries sd-daemon's `<N>` prefix so journald files it under that priority, elsewhere it is
 * plain text, so a redirected or piped log never starts with `<3>`.
 */
import { fstatSync } from 'node:fs';

/** syslog priorities, as journald and sd-daemon(3) number them. */
export const Priority = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type PriorityLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** Where a logger writes: a stream, and its file descriptor when it has one (to compare with JOURNAL_STREAM). */
export interface LogStream {
  write(chunk: string): unknown;
  readonly fd?: number | undefined;
}

/** One method per priority; `line` takes a message that may start with its own `<N>` prefix. */
export interface Logger {
  err(message: string): void;
  warn(message: string): void;
  notice(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** `'<4>lost the watch'` is logged at priority 4; a message without a prefix at `info`. */
  line(message: string): void;
}

export interface LoggerOptions {
  /** Write `<N>` prefixes. Default: {@link underJournald} of `env` and the stream's fd. */
  readonly journal?: boolean;
  /** The environment that says whether journald reads the stream (default: the process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Log `debug` lines too. */
  readonly debug?: boolean;
  /** Put in front of every plain (non-journald) line, e.g. `fleetkit events: `. */
  readonly prefix?: string;
}

/**
 * True when output to `fd` goes to journald: `JOURNAL_STREAM` is set (`DEVICE:INODE`, systemd.exec(5)) and,
 * when `fd` can be checked, names that very stream. A unit whose stderr was redirected to a file inherits the
 * variable but not the stream, and gets plain lines. Without an fd to check, the variable alone decides.
 */
export function underJournald(env: Readonly<Record<string, string | undefined>>, fd?: number): boolean {
  const v = env['JOURNAL_STREAM'];
  if (v === undefined || v === '') return false;
  if (fd === undefined) return true;
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

const PREFIXED = /^<([0-7])>/;

/** Splits `'<4>text'` into priority 4 and `text`; a message without a prefix is `info`. */
export function splitPriority(message: string): { readonly priority: PriorityLevel; readonly text: string } {
  const m = PREFIXED.exec(message);
  return m ? { priority: Number(m[1]) as PriorityLevel, text: message.slice(3) } : { priority: Priority.info, text: message };
}

/** A logger writing one line per call to `stream`. Line breaks inside a message are escaped, so a value from etcd or docker never starts a second journal line. */
export function createLogger(stream: LogStream, options: LoggerOptions = {}): Logger {
  const journal = options.journal ?? underJournald(options.env ?? process.env, stream.fd);
  const prefix = options.prefix ?? '';
  const write = (p: PriorityLevel, m: string): void => {
    if (p === Priority.debug && !options.debug) return;
    const text = m.replace(/\r?\n/g, '\\n');
    stream.write(journal ? `<${p}>${text}\n` : `${prefix}${text}\n`);
  };
  return {
    err: (m) => write(Priority.err, m),
    warn: (m) => write(Priority.warning, m),
    notice: (m) => write(Priority.notice, m),
    info: (m) => write(Priority.info, m),
    debug: (m) => write(Priority.debug, m),
    line: (m) => {
      const { priority, text } = splitPriority(m);
      write(priority, text);
    },
  };
}
