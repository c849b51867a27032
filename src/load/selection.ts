/**
 * What a unit command works on: a spec rendered in memory (no files written), unit files on disk (an
 * instance path such as `units/web@2.service` resolves its template `units/web@.service` beside it, as
 * fleetctl does), or bare unit names.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { instantiate } from '../fleet/instantiate.js';
import { isTemplate, templateOf } from '../unit/names.js';
import { parseUnit } from '../unit/parse.js';
import type { DesiredUnit } from './desired-unit.js';
import type { UnitFile } from '../unit/model.js';
import type { TargetName } from '../target/targets.js';
import type { EtcdSpec } from '../cluster/types.js';

/** `-p/--project-name` and `--env-file` of the command (src/cli/cluster-flags.ts). */
export interface SpecFileOptions {
  readonly projectName?: string | undefined;
  readonly envFiles?: readonly string[] | undefined;
}

/** The resolved arguments of a unit command. */
export type UnitSelection =
  | { readonly kind: 'spec'; readonly file: string; readonly cluster: string; readonly desired: readonly DesiredUnit[]; readonly warnings: readonly string[]; readonly etcd: EtcdSpec }
  | { readonly kind: 'files'; readonly desired: readonly DesiredUnit[] }
  | { readonly kind: 'names'; readonly names: readonly string[] };

const SUFFIXES = /\.(automount|busname|device|mount|path|scope|service|slice|snapshot|socket|swap|target|timer)$/;

/** fleetctl appends `.service` to a name without a known unit suffix. */
export function unitNameOf(arg: string): string {
  const name = basename(arg);
  return SUFFIXES.test(name) ? name : `${name}.service`;
}

function isSpecPath(arg: string): boolean {
  return /\.(ya?ml|json)$/i.test(arg);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * How positionals that are not a spec are read: `files` only (load); `names` unless they contain a `/`
 * (stop/unload/destroy act on units already loaded, as fleetctl's do); `either` — a file when one of that
 * name (or its template) is here, else a name (start, like fleetctl start).
 */
export type ArgsAs = 'files' | 'names' | 'either';

/**
 * Resolves positionals. No positional means the cluster file found as `docker compose` finds it (compose.yaml
 * … cluster.yaml, here or in a parent); `target` (`--target`) renders it for those hosts.
 */
export async function resolveSelection(positionals: readonly string[], cwd: string, argsAs: ArgsAs, target?: TargetName, cluster: SpecFileOptions = {}): Promise<UnitSelection> {
  const allowNames = argsAs !== 'files';
  if (positionals.length === 0) {
    const { findClusterFile } = await import('../cluster/cluster-file.js');
    const found = findClusterFile(cwd, []);
    return fromSpec(found.path, found.shown, target, cluster);
  }
  if (positionals.length === 1 && isSpecPath(positionals[0]!)) {
    const file = resolve(cwd, positionals[0]!);
    if (!(await exists(file))) throw new UsageError(`${positionals[0]}: no such spec file`);
    return fromSpec(file, positionals[0]!, target, cluster);
  }
  if (positionals.some(isSpecPath)) throw new UsageError('give either one SPEC or unit files/names, not both');
  // Instances share their template: its path is looked up once, not once per instance (200 names → 201 stats).
  const templateExists = new Map<string, Promise<boolean>>();
  const isTemplateFile = (path: string): Promise<boolean> => {
    let p = templateExists.get(path);
    if (!p) templateExists.set(path, (p = exists(path)));
    return p;
  };
  const onDisk = await Promise.all(positionals.map((p) => (argsAs === 'names' ? p.includes('/') : looksLikeFile(p, cwd, isTemplateFile))));
  if (onDisk.every((x) => !x) && allowNames) return { kind: 'names', names: positionals.map(unitNameOf) };
  if (onDisk.some((x) => !x) && allowNames && onDisk.some((x) => x)) throw new UsageError('give either unit files or unit names, not both');
  // Many instances share one template file: read and parse each template once.
  const templates = new Map<string, Promise<string | undefined>>();
  const readTemplate = (path: string): Promise<string | undefined> => {
    let p = templates.get(path);
    if (!p) templates.set(path, (p = readFile(path, 'utf8').catch(() => undefined)));
    return p;
  };
  const parsed = new Map<string, UnitFile>();
  const parseTemplate = (name: string, text: string): UnitFile => {
    let u = parsed.get(text);
    if (!u) parsed.set(text, (u = parseUnit(name, text)));
    return u;
  };
  return { kind: 'files', desired: await Promise.all(positionals.map((p) => fromFile(p, cwd, readTemplate, parseTemplate))) };
}

async function looksLikeFile(arg: string, cwd: string, templateExists: (path: string) => Promise<boolean>): Promise<boolean> {
  if (arg.includes('/')) return true;
  const path = resolve(cwd, arg);
  if (await exists(path)) return true;
  const t = templateOf(unitNameOf(arg));
  return t !== undefined && (await templateExists(join(dirname(path), t)));
}

async function fromSpec(file: string, shown: string, target: TargetName | undefined, cluster: SpecFileOptions): Promise<UnitSelection> {
  // Loaded only when a spec is given: unit files and names need neither the YAML stack nor the templates.
  const [{ loadSpec }, { renderCluster }] = await Promise.all([import('../cluster/cluster-file.js'), import('../render/render.js')]);
  const loaded = await loadSpec(file, cluster);
  const spec = target === undefined ? loaded : { ...loaded, target };
  const out = renderCluster(spec);
  const byName = new Map(out.files.map((f) => [f.name, f]));
  const startNames = out.start.map((s) => basename(s));
  const startSet = new Set(startNames);
  const desired: DesiredUnit[] = [];
  // Templates and units only submitted first (they are inactive in fleet), then the start set in order.
  for (const f of out.files) {
    if (!startSet.has(f.name)) desired.push({ unit: f.unit, file: f.name, text: f.text, start: false });
  }
  for (const name of startNames) {
    const own = byName.get(name);
    if (own) {
      desired.push({ unit: own.unit, file: own.name, text: own.text, start: true });
      continue;
    }
    const t = templateOf(name);
    const tmpl = t ? byName.get(t) : undefined;
    if (!tmpl) throw new UsageError(`${shown}: the render lists ${name} to start but has neither it nor its template`);
    desired.push({ unit: instantiate(tmpl.unit, name), file: tmpl.name, text: tmpl.text, start: true });
  }
  return { kind: 'spec', file: shown, cluster: spec.name, desired, warnings: out.warnings.map(String), etcd: spec.etcd };
}

/** A unit file argument: the file itself, or for an instance, its template beside it. */
async function fromFile(
  arg: string,
  cwd: string,
  readTemplate: (path: string) => Promise<string | undefined>,
  parseTemplate: (name: string, text: string) => UnitFile,
): Promise<DesiredUnit> {
  const path = resolve(cwd, arg);
  const name = unitNameOf(arg);
  const t = templateOf(name);
  // An instance path rarely exists as a file of its own (gen-units writes only the template): try the
  // template first when it is there, so 1,000 instances cost one read.
  const tmplText = t && t !== name && !(await exists(path)) ? await readTemplate(join(dirname(path), t)) : undefined;
  if (t && tmplText !== undefined) return { unit: instantiate(parseTemplate(t, tmplText), name), file: t, text: tmplText, start: true };
  const own = await readFile(path, 'utf8').catch(() => undefined);
  if (own !== undefined) return { unit: parseUnit(name, own), file: name, text: own, start: !name.includes('@.') };
  throw new UsageError(`cannot find unit file ${arg}${t ? ` nor its template ${join(dirname(arg), t)}` : ''}`, 'check the path (gen-units writes units to ./units by default)');
}
