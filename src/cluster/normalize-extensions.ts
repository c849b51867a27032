/**
 * The extension keys of a service: `x-fleet` (placement, checked with fleet's own rules and messages),
 * `x-announce` (the discovery sidekick) and `x-systemd` (extra directives). Values that would change the
 * meaning of a unit line — control characters, stray `%` specifiers, a trailing backslash — are refused here.
 */
import { renderXFleet, xfleetIgnored, xfleetRejection } from '../unit/xfleet.js';
import type { AnnounceSpec, FleetPlacement, PortSpec } from './types.js';
import type { RawService } from './schema.js';
import { CONTROL, isLabel, parseDuration } from './compose-values.js';
import { describeValue, type Problems, type SpecPath } from './problems.js';
import { announcementKey, prefixDir } from '../etcd/key-layout.js';

type Scalar = string | number | boolean;
const UNIT_NAME = /^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\%-]*)?\.(service|socket|target|timer|path|mount|automount|device|swap|scope|slice)$/;
/** fleet expands only these specifiers in [X-Fleet] values, and does not understand `%%`. */
const FLEET_SPECIFIER = /%(?![inNp])/;

/** `x-fleet` plus Swarm placement constraints → FleetPlacement, validated against fleet's rules. */
export function normalizeXFleet(
  name: string,
  raw: RawService['x-fleet'],
  constraints: ReadonlyArray<readonly [string, string]>,
  global: boolean,
  p: Problems,
  path: SpecPath,
): FleetPlacement {
  const x = raw ?? {};
  const before = p.count;
  const conflicts = x.conflicts === true ? [`${name}@*.service`] : x.conflicts === false || x.conflicts === undefined ? [] : [x.conflicts].flat();
  conflicts.forEach((g, i) => fleetValue(g, 'a glob of unit names', p, [...path, 'conflicts', ...(Array.isArray(x.conflicts) ? [i] : [])]));
  const machineOf = x.machineOf == null ? [] : [x.machineOf].flat();
  machineOf.forEach((u, i) => {
    const at = [...path, 'machineOf', ...(Array.isArray(x.machineOf) ? [i] : [])];
    if (fleetValue(u, 'a unit name', p, at) && !UNIT_NAME.test(u)) p.add(at, `expected an exact unit name, got ${describeValue(u)}`, 'write the full unit name, e.g. db@1.service or db@%i.service (fleet allows no globs here)');
  });
  const metadata = new Map<string, string[]>();
  for (const [key, values] of Object.entries(x.machineMetadata ?? {})) {
    const list = [values].flat().map(String);
    const at = [...path, 'machineMetadata', key];
    metadataPair(key, list, p, at);
    metadata.set(key, list);
  }
  for (const [key, value] of constraints) metadata.set(key, [...(metadata.get(key) ?? []), value]);
  if (x.machineID !== undefined && !/^[0-9a-f]{32}$/.test(x.machineID)) p.add([...path, 'machineID'], `expected a full machine id (32 lower-case hex digits), got ${describeValue(x.machineID)}`, 'copy it from /etc/machine-id or fleetctl list-machines --full');
  if (x.replaces !== undefined) fleetValue(x.replaces, 'a glob of unit names', p, [...path, 'replaces']);
  const placement: FleetPlacement = {
    conflicts,
    machineOf,
    machineMetadata: [...metadata],
    global,
    machineID: x.machineID,
    replaces: x.replaces,
  };
  // Only ask fleet's rules about values that are well-formed; otherwise the first message says it already.
  if (p.count === before) {
    try {
      const unit = { name: `${name}@1.service`, options: renderXFleet(placement) };
      const rejected = xfleetRejection(unit);
      if (rejected) p.add(path, `fleet would refuse this unit: ${rejected}`, 'drop one of the two options; fleet cannot combine them');
      for (const ignored of xfleetIgnored(unit)) p.add(path, ignored, 'fleet accepts this without an error but does not apply it; fix the value');
    } catch (e) {
      p.add(path, (e as Error).message, 'fix the value so that fleet can read it');
    }
  }
  return placement;
}

/** A value inside [X-Fleet]: one word (fleet splits on whitespace), no control characters, only fleet's specifiers. */
function fleetValue(v: string, what: string, p: Problems, path: SpecPath): boolean {
  if (v === '' || CONTROL.test(v) || /[\s"]/.test(v)) p.add(path, `expected ${what} without spaces, quotes or control characters, got ${describeValue(v)}`, 'fleet splits these values on whitespace; write one name or pattern per list entry');
  else if (FLEET_SPECIFIER.test(v)) p.add(path, `${describeValue(v)} uses a "%" specifier fleet does not expand`, 'fleet expands only %n, %N, %p and %i in [X-Fleet] (and not %%)');
  else return true;
  return false;
}

function metadataPair(key: string, values: readonly string[], p: Problems, path: SpecPath): void {
  const word = /^[A-Za-z0-9_.-]+$/;
  if (!word.test(key)) p.add(path, `metadata key ${describeValue(key)} must be letters, digits, ".", "_" or "-"`, 'fleet ignores pairs that are not exactly key=value');
  values.forEach((v, i) => {
    if (!word.test(v)) p.add(values.length > 1 ? [...path, i] : path, `metadata value ${describeValue(v)} must be letters, digits, ".", "_" or "-"`, 'fleet matches metadata literally: no operators, spaces or specifiers');
  });
  if (values.length === 0) p.add(path, 'an empty list of values matches no machine', 'give at least one value');
}

/** Swarm's `node.labels.KEY == VALUE` → a metadata pair; anything else is a problem fleet cannot express. */
export function parseConstraint(c: string, p: Problems, path: SpecPath): [string, string] | undefined {
  const m = /^\s*node\.labels\.([^\s=!]+)\s*(==|!=)\s*(\S+)\s*$/.exec(c);
  if (m?.[2] === '!=') return void p.add(path, `fleet cannot express "!=" in placement: MachineMetadata only matches equal values`, `list the values that are allowed instead: node.labels.${m[1]} == VALUE (or x-fleet.machineMetadata: { ${m[1]}: [a, b] })`);
  if (m?.[1] && m[3]) return [m[1], m[3]];
  if (/^\s*node\./.test(c)) return void p.add(path, `fleet can only place by machine metadata, not by ${describeValue(c.trim().split(/\s/)[0])}`, 'set metadata on the machines and write node.labels.KEY == VALUE');
  return void p.add(path, `expected a constraint like "node.labels.disk == ssd", got ${describeValue(c)}`, 'write node.labels.KEY == VALUE');
}

/** `x-announce` → AnnounceSpec with defaults; undefined when absent or false. */
export function normalizeAnnounce(
  name: string,
  raw: RawService['x-announce'],
  ctx: { cluster: string; prefix: string; global: boolean; replicas: number; ports: readonly PortSpec[] },
  p: Problems,
  path: SpecPath,
): AnnounceSpec | undefined {
  if (raw === undefined || raw === false) return undefined;
  const x = raw === true ? {} : raw;
  const instance = ctx.global ? '%H' : '%i';
  let port = x.port ?? ctx.ports[0]?.container;
  if (x.port !== undefined) {
    if (x.port < 1 || x.port > 65535) {
      p.add([...path, 'port'], `expected a whole number from 1 to 65535, got ${x.port}`, 'write the container port the service listens on, e.g. port: 80');
      port = undefined;
    } else if (ctx.ports.length > 0 && !ctx.ports.some((q) => x.port! >= q.container && x.port! < q.container + q.count)) {
      p.add([...path, 'port'], `port ${x.port} is not one of the service's container ports (${ctx.ports.map((q) => q.container).join(', ')})`, 'announce a container port listed in ports:');
    }
  }
  const ttl = x.ttl === undefined ? 60 : parseDuration(x.ttl, p, [...path, 'ttl'], 5) ?? 60;
  // Keys may hold the full host name (%H, dots and all); a hosts-file name must be one label, so the default
  // name of a global service's entry uses the short host name (%l: %H up to its first dot; systemd ≥ 249).
  const hostname = x.hostname ?? `${name}-${ctx.global ? '%l' : '%i'}`;
  checkTemplate(hostname, ctx.global ? ['%l'] : ['%i', '%l'], p, [...path, 'hostname'], 'hostname', {
    '%H': 'the full host name, which may hold dots, as in ip-10-0-0-1.ec2.internal; a hosts-file name is one label, and %l is the host name up to its first dot',
  });
  const sample = hostname.replaceAll('%i', String(ctx.replicas)).replaceAll('%l', 'h');
  if (!CONTROL.test(hostname) && !FLEET_SPECIFIER_ANY.test(sample) && !isLabel(sample)) {
    p.add([...path, 'hostname'], `hostname ${describeValue(hostname)} must become an RFC 1123 label (letters, digits, inner hyphens, at most 63 characters)`, `write e.g. ${name.slice(0, 50)}-%i; the hosts file adds ".${ctx.cluster}" itself`);
  }
  const key = x.key ?? announcementKey(ctx.prefix, ctx.cluster, name, instance);
  if (checkTemplate(key, ['%i', '%H', '%l', '%m'], p, [...path, 'key'], 'key')) {
    if (!/^[A-Za-z0-9._%\/-]+$/.test(key))
      p.add([...path, 'key'], `key ${describeValue(key)} may contain only letters, digits, ".", "_", "-", "/" and %i, %H, %l, %m`, 'other tools read these keys; keep them plain');
    else if (!key.startsWith(prefixDir(ctx.prefix)) || key.split('/').some((s, i) => i > 0 && (s === '' || s === '.' || s === '..')))
      p.add([...path, 'key'], `key ${describeValue(key)} must lie under the etcd prefix ${prefixDir(ctx.prefix)}`, `write e.g. ${announcementKey(ctx.prefix, ctx.cluster, name, instance)}`);
    else if (!ctx.global && ctx.replicas > 1 && !key.includes('%i'))
      p.add([...path, 'key'], `key ${describeValue(key)} has no %i: all ${ctx.replicas} instances would overwrite one key`, 'put %i in the key');
    else if (ctx.global && !/%[Hlm]/.test(key)) p.add([...path, 'key'], `key ${describeValue(key)} has no %H, %l or %m: every machine would overwrite one key`, 'put %H (host name) or %m (machine id) in the key');
  }
  return { port, ttl, hostname, key };
}

const FLEET_SPECIFIER_ANY = /%/;

/**
 * Checks a template: no control characters or spaces, and only the allowed `%` specifiers. `why` says, for a
 * specifier that looks right but is refused here, what is wrong with it.
 */
function checkTemplate(v: string, allowed: readonly string[], p: Problems, path: SpecPath, what: string, why: Readonly<Record<string, string>> = {}): boolean {
  if (CONTROL.test(v) || /\s/.test(v)) p.add(path, `${what} ${describeValue(v)} contains spaces or control characters`, 'write it as one word');
  else {
    const bad = v.match(/%./g)?.find((s) => !allowed.includes(s)) ?? (/%$/.test(v) ? '%' : undefined);
    if (bad === undefined) return true;
    const reason = why[bad] === undefined ? '' : ` (${bad} is ${why[bad]})`;
    p.add(path, `${what} ${describeValue(v)} uses ${describeValue(bad)}; only ${allowed.join(', ')} are replaced here${reason}`, `use ${allowed.join(' or ')}`);
  }
  return false;
}

/** `x-systemd` → ordered (section, directive, value) triples; values are written verbatim as systemd syntax. */
export function normalizeXSystemd(raw: RawService['x-systemd'], p: Problems, path: SpecPath): Array<readonly [string, string, string]> {
  const out: Array<readonly [string, string, string]> = [];
  const ident = /^[A-Za-z][A-Za-z0-9-]*$/;
  for (const [section, directives] of Object.entries(raw ?? {})) {
    if (!ident.test(section)) p.add([...path, section], `section name ${describeValue(section)} must be letters, digits and "-"`, 'write e.g. Unit, Service', 'key');
    else if (section.toLowerCase() === 'x-fleet') p.add([...path, section], 'the X-Fleet section is not allowed in x-systemd', 'use the x-fleet key, which checks values against fleet\'s rules', 'key');
    for (const [directive, value] of Object.entries(directives)) {
      const at = [...path, section, directive];
      if (!ident.test(directive)) {
        p.add(at, `directive name ${describeValue(directive)} must be letters, digits and "-"`, 'write e.g. After, TimeoutStartSec', 'key');
        continue;
      }
      const values: Scalar[] = [value].flat();
      values.forEach((v, i) => {
        const s = String(v);
        const vat = Array.isArray(value) ? [...at, i] : at;
        if (CONTROL.test(s)) p.add(vat, `value ${describeValue(s)} contains a newline or control character, which would end the directive and start another`, 'write one value per list entry, without control characters');
        else if (s.endsWith('\\')) p.add(vat, 'a value ending in "\\" would continue onto the next line of the unit', 'remove the trailing backslash');
        else out.push([section, directive, s]);
      });
    }
  }
  return out;
}
