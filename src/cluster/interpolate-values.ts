/**
 * Interpolation of a whole parsed cluster file, before any validation, as Compose does it: every string
 * value (never a key) is substituted (`interpolate.ts`), and the values at paths Compose types as numbers or
 * booleans (`scale: ${N}`, `read_only: ${RO}`) are cast after substitution, so that the schema sees the
 * type the author meant. Problems and warnings go to `Problems` at the value's path.
 */
import { substitute, TemplateError, type Lookup, type Reference } from './interpolate.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';

type Cast = 'int' | 'float' | 'bool';

/** A value whose cast failed (already reported): left out, so that the schema does not report it again. */
const DROP = Symbol('dropped');

// compose-go's loader/interpolate.go `interpolateTypeCastMapping`, as path patterns ('*' one key, '[]' a list item).
const CASTS: ReadonlyArray<readonly [string, Cast]> = [
  ['services.*.configs.[].mode', 'int'], ['services.*.cpu_count', 'int'], ['services.*.cpu_percent', 'float'],
  ['services.*.cpu_period', 'int'], ['services.*.cpu_quota', 'int'], ['services.*.cpu_rt_period', 'int'],
  ['services.*.cpu_rt_runtime', 'int'], ['services.*.cpus', 'float'], ['services.*.cpu_shares', 'int'],
  ['services.*.init', 'bool'], ['services.*.deploy.replicas', 'int'], ['services.*.deploy.update_config.parallelism', 'int'],
  ['services.*.deploy.update_config.max_failure_ratio', 'float'], ['services.*.deploy.rollback_config.parallelism', 'int'],
  ['services.*.deploy.rollback_config.max_failure_ratio', 'float'], ['services.*.deploy.restart_policy.max_attempts', 'int'],
  ['services.*.deploy.placement.max_replicas_per_node', 'int'], ['services.*.healthcheck.retries', 'int'],
  ['services.*.healthcheck.disable', 'bool'], ['services.*.oom_kill_disable', 'bool'], ['services.*.oom_score_adj', 'int'],
  ['services.*.pids_limit', 'int'], ['services.*.ports.[].target', 'int'], ['services.*.privileged', 'bool'],
  ['services.*.read_only', 'bool'], ['services.*.scale', 'int'], ['services.*.secrets.[].mode', 'int'],
  ['services.*.stdin_open', 'bool'], ['services.*.tty', 'bool'], ['services.*.ulimits.*', 'int'],
  ['services.*.ulimits.*.hard', 'int'], ['services.*.ulimits.*.soft', 'int'], ['services.*.volumes.[].read_only', 'bool'],
  ['services.*.volumes.[].volume.nocopy', 'bool'], ['networks.*.external', 'bool'], ['networks.*.internal', 'bool'],
  ['networks.*.attachable', 'bool'], ['networks.*.enable_ipv6', 'bool'], ['volumes.*.external', 'bool'],
  ['secrets.*.external', 'bool'], ['configs.*.external', 'bool'],
];

const CAST_BY_PATTERN = new Map(CASTS.map(([p, c]) => [p, c]));

/** What interpolation needs: the variables, and where they came from (for the changed-meaning warning). */
export interface InterpolationContext {
  readonly lookup: Lookup;
  /** True when a variable was set by the shell environment rather than by `.env` / `--env-file`. */
  readonly fromShell: (name: string) => boolean;
}

/** Interpolates `data` (the parsed file) in place of a copy; problems and warnings go to `p`. */
export function interpolateValues(data: Record<string, unknown>, ctx: InterpolationContext, p: Problems): Record<string, unknown> {
  return walk(data, [], [], ctx, p) as Record<string, unknown>;
}

function walk(value: unknown, path: Array<string | number>, pattern: string[], ctx: InterpolationContext, p: Problems): unknown {
  if (typeof value === 'string') return interpolateString(value, path, pattern, ctx, p);
  if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i], [...pattern, '[]'], ctx, p));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const w = walk(v, [...path, k], [...pattern, k], ctx, p);
      if (w !== DROP) out[k] = w;
    }
    return out;
  }
  return value;
}

function interpolateString(value: string, path: SpecPath, pattern: readonly string[], ctx: InterpolationContext, p: Problems): unknown {
  let out = value;
  if (value.includes('$')) {
    const unset: Reference[] = [];
    const shell: Reference[] = [];
    try {
      out = substitute(value, ctx.lookup, {
        unset: (ref) => void unset.push(ref),
        used: (ref) => void (!ref.braced && ctx.fromShell(ref.name) && shell.push(ref)),
      });
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      if (e.kind === 'required') p.addFinal(path, e.message, `set ${e.variable} in the environment or in .env beside the file`);
      else p.addFinal(path, `${e.message}: "\${" must be followed by a name and an optional :-, -, :?, ?, :+ or + part, then "}"`, 'write $$ for a literal $ (fleetkit interpolates $ as Compose does)');
      return value;
    }
    for (const name of new Set(unset.map((r) => r.name))) {
      p.warn(path, `variable ${name} is not set; it becomes an empty string`, `set it, or write $$${name} for a literal "$${name}" (fleetkit interpolates $ as Compose does)`, 'value');
    }
    for (const name of new Set(shell.map((r) => r.name))) {
      p.warn(path, `$${name} is replaced by the value of ${name} in your shell`, `fleetkit interpolates $ as Compose does; write $$${name} if the container should see "$${name}"`, 'value');
    }
  }
  const cast = castAt(pattern);
  return cast === undefined ? out : castValue(out, cast, path, p);
}

/** The cast for a path, matching '*' against any key (list items are '[]' on both sides). */
function castAt(pattern: readonly string[]): Cast | undefined {
  const head = pattern[0];
  if (head !== 'services' && head !== 'networks' && head !== 'volumes' && head !== 'secrets' && head !== 'configs') return undefined;
  const generic = pattern.map((seg, i) => (i === 1 ? '*' : seg));
  const exact = CAST_BY_PATTERN.get(generic.join('.'));
  if (exact) return exact;
  // `ulimits.*`: the limit's name is a second wildcard.
  if (generic[2] === 'ulimits' && generic.length >= 4) return CAST_BY_PATTERN.get([...generic.slice(0, 3), '*', ...generic.slice(4)].join('.'));
  return undefined;
}

function castValue(v: string, cast: Cast, path: SpecPath, p: Problems): unknown {
  if (cast === 'bool') {
    const lower = v.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
    if (['y', 'yes', 'on', 'n', 'no', 'off'].includes(lower)) {
      p.warn(path, `${describeValue(v)} for a boolean is not YAML 1.2`, `write ${['y', 'yes', 'on'].includes(lower)}`, 'value');
      return ['y', 'yes', 'on'].includes(lower);
    }
    p.addFinal(path, `expected true or false, got ${describeValue(v)}`, 'write true or false (or a variable holding one)');
    return DROP;
  }
  const ok = cast === 'int' ? /^[+-]?\d+$/.test(v) : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v);
  if (ok) return Number(v);
  p.addFinal(path, `expected ${cast === 'int' ? 'a whole number' : 'a number'}, got ${describeValue(v)}`, 'write a number (or a variable holding one)');
  return DROP;
}
