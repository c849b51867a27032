/**
 * A service's `env_file`, read as Compose reads it: each file is parsed with the `.env` rules (`dotenv.ts`,
 * interpolated from the project's variables), later files override earlier ones, and `environment` overrides
 * them all. The result goes into the service's `environment`, so the values reach `docker run` as `-e` words
 * (quoted for systemd like every other value) instead of as a path docker would read on each host.
 *
 * Runs on the interpolated data, before the schema: `env_file` is taken out of the service.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { parseDotenv } from './dotenv.js';
import type { Lookup } from './interpolate.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';

/** How env files are reached: `read` gets a path relative to the cluster file's directory (or absolute). */
export interface EnvFileReader {
  /** The text of the file; throws a Node.js error (ENOENT, EACCES…) when it cannot be read. */
  readonly read: (path: string) => string;
  /** The variables env files interpolate from (the shell over `.env`). */
  readonly lookup: Lookup;
}

interface EnvFileEntry {
  readonly path: string;
  readonly required: boolean;
  readonly at: SpecPath;
}

const HINT = 'write env_file: ./app.env (relative to the cluster file), a list of them, or [{ path: ./app.env, required: false }]';

/** Replaces `env_file` in every service of `data` by its variables, appended to `environment`. */
export function resolveEnvFiles(data: Record<string, unknown>, file: string, reader: EnvFileReader, p: Problems): void {
  const services = data.services;
  if (services === null || typeof services !== 'object' || Array.isArray(services)) return;
  for (const [name, service] of Object.entries(services as Record<string, unknown>)) {
    if (service === null || typeof service !== 'object' || Array.isArray(service) || !('env_file' in service)) continue;
    const s = service as Record<string, unknown>;
    const at: SpecPath = ['services', name, 'env_file'];
    const entries = entriesOf(s.env_file, at, p);
    delete s.env_file;
    const values = new Map<string, string>();
    for (const e of entries) {
      const shown = isAbsolute(e.path) ? e.path : join(dirname(file), e.path);
      let text: string;
      try {
        text = reader.read(e.path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !e.required) continue;
        const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
        p.add(e.at, `env file ${describeValue(e.path)} cannot be read: ${why}`, 'the path is relative to the cluster file; add required: false if it may be missing');
        continue;
      }
      const env = parseDotenv(text, reader.lookup);
      for (const problem of env.problems) p.addIn(shown, problem.line, problem.message, 'write KEY=value lines; quote values with spaces or "#"');
      for (const u of env.unset) p.addIn(shown, u.line, `variable ${u.ref.name} is not set; it becomes an empty string`, undefined, 'warning');
      for (const [k, v] of env.values) values.set(k, v);
    }
    if (values.size > 0) s.environment = withEnvFileValues(s.environment, values);
  }
}

function entriesOf(raw: unknown, at: SpecPath, p: Problems): EnvFileEntry[] {
  const list = Array.isArray(raw) ? raw : [raw];
  const out: EnvFileEntry[] = [];
  list.forEach((item, i) => {
    const where = Array.isArray(raw) ? [...at, i] : at;
    if (typeof item === 'string' && item !== '') out.push({ path: item, required: true, at: where });
    else if (item !== null && typeof item === 'object' && !Array.isArray(item) && typeof (item as { path?: unknown }).path === 'string') {
      const { path, required, format, ...rest } = item as { path: string; required?: unknown; format?: unknown };
      const extra = Object.keys(rest)[0];
      if (extra !== undefined) p.add([...where, extra], `unknown key "${extra}"`, 'an env_file entry has path, required and format', 'key');
      if (required !== undefined && typeof required !== 'boolean') p.add([...where, 'required'], `expected true or false, got ${describeValue(required)}`, HINT);
      if (format !== undefined) p.add([...where, 'format'], `env file format ${describeValue(format)} is not supported`, 'remove format: fleetkit reads env files with the .env rules');
      out.push({ path, required: required !== false, at: [...where, 'path'] });
    } else p.add(where, `expected the path of an env file, got ${describeValue(item)}`, HINT);
  });
  return out;
}

/** `environment` (a mapping or a KEY=VAL list) with the env files' variables it does not set itself appended. */
function withEnvFileValues(environment: unknown, values: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(environment)) {
    const own = new Set(environment.map((e) => (typeof e === 'string' ? e.split('=')[0] : undefined)));
    return [...environment, ...[...values].filter(([k]) => !own.has(k)).map(([k, v]) => `${k}=${v}`)];
  }
  const own = environment !== null && typeof environment === 'object' ? (environment as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...own };
  for (const [k, v] of values) if (!(k in own)) out[k] = v;
  return environment === undefined || environment === null || typeof environment === 'object' ? out : environment;
}
