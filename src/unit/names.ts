/**
 * Unit names, the one home for them: validation with fleet's own messages, systemd-escape for parts of names,
 * splitting (`web@2.service` → prefix `web`, instance `2`, type `service`), template/instance arithmetic
 * (`web@.service` ↔ `web@2.service`) and the name of a service's discovery sidekick.
 */
import { UnitError } from '../errors.js';
import { goQuote, goQuoteRune } from './go-text.js';

/** systemd's limit, in bytes, suffix included (fleet allows 256; systemd refuses it). */
export const UNIT_NAME_MAX = 255;

// Types both fleet v1.0.0 and systemd 252 know; fleet's `busname`/`snapshot` have no unit files in systemd 252.
const unitTypes = new Set(['automount', 'device', 'mount', 'path', 'scope', 'service', 'slice', 'socket', 'swap', 'target', 'timer']);
/** Types that can be templates, per fleet. */
const templateTypes = new Set(['path', 'service', 'socket', 'target', 'timer']);
const validChar = /^[A-Za-z0-9:_.@\\-]$/;

function fail(message: string, hint?: string): never {
  throw new UnitError('ERR_UNIT_NAME', message, hint === undefined ? {} : { hint });
}

/**
 * Throws `ERR_UNIT_NAME` unless `name` is a unit name fleet and systemd both accept. Checks in fleet's order,
 * with fleet's messages (`unit name must contain "."`, `invalid unit type: "foo"`,
 * `invalid character ' ' in unit name`, `unit name cannot start in "@"`), then systemd's 255-byte limit and
 * template rules (an empty prefix before `@`, a template of a type that cannot have one).
 */
export function validateUnitName(name: string): void {
  if (name === '') fail('unit name cannot be empty');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > UNIT_NAME_MAX) fail(`unit name exceeds maximum length (${UNIT_NAME_MAX} bytes): ${bytes} bytes`, 'shorten the service name');
  const dot = name.lastIndexOf('.');
  if (dot === -1) fail('unit name must contain "."', 'add a suffix such as ".service"');
  if (dot === name.length - 1) fail('unit name cannot end in "."');
  const type = name.slice(dot + 1);
  if (!unitTypes.has(type)) fail(`invalid unit type: ${goQuote(type)}`, `use one of ${[...unitTypes].join(', ')}`);
  for (const ch of name.slice(0, dot)) {
    if (!validChar.test(ch)) fail(`invalid character ${goQuoteRune(ch)} in unit name`, 'escape it with escapeUnitNamePart (systemd-escape)');
  }
  if (name.startsWith('@')) fail('unit name cannot start in "@"');
  if (dot === 0) fail('unit name cannot start with "."');
  if (name.includes('@') && !templateTypes.has(type)) fail(`a ${type} unit cannot be a template or an instance`);
}

/**
 * Escapes text for use inside a unit name, as `systemd-escape` does: `/` → `-`; `-`, `\`, a leading `.`
 * and every byte outside `[A-Za-z0-9:_.]` → `\xNN` (lower-case, per UTF-8 byte).
 * @example escapeUnitNamePart('Hallöchen, Meister') === 'Hall\\xc3\\xb6chen\\x2c\\x20Meister'
 */
export function escapeUnitNamePart(s: string): string {
  let out = '';
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    const ch = String.fromCharCode(b);
    if (b === 0x2f) out += '-';
    else if ((i === 0 && ch === '.') || !/^[A-Za-z0-9:_.]$/.test(ch)) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** A unit name taken apart, as systemd's specifiers see it. */
export interface UnitNameParts {
  /** `%p`: the part before `@` (the whole stem for a plain unit). */
  readonly prefix: string;
  /** `%i`: the part between `@` and the suffix; `''` for a template, undefined for a plain unit. */
  readonly instance: string | undefined;
  /** `%N`: the name without its suffix. */
  readonly stem: string;
  /** `.service`, `.timer`…; `''` when the name has no dot. */
  readonly suffix: string;
}

/** Splits a unit name at its last `.` and first `@`. Pure; does not validate. */
export function splitUnitName(name: string): UnitNameParts {
  const dot = name.lastIndexOf('.');
  const stem = dot === -1 ? name : name.slice(0, dot);
  const suffix = dot === -1 ? '' : name.slice(dot);
  const at = stem.indexOf('@');
  return at === -1 ? { prefix: stem, instance: undefined, stem, suffix } : { prefix: stem.slice(0, at), instance: stem.slice(at + 1), stem, suffix };
}

const split = splitUnitName;

/** True for a template name: `web@.service`. */
export function isTemplate(name: string): boolean {
  return split(name).instance === '';
}

/** The template an instance comes from (`web@2.service` → `web@.service`); a template itself; else undefined. */
export function templateOf(name: string): string | undefined {
  const { prefix, instance, suffix } = split(name);
  return instance === undefined ? undefined : `${prefix}@${suffix}`;
}

/** The instance of `web@2.service` (`2`); undefined for templates and plain units. */
export function instanceOf(name: string): string | undefined {
  const { instance } = split(name);
  return instance === '' ? undefined : instance;
}

/** systemd's `%p`: the part before `@`, or the name without its suffix for a plain unit. */
export function prefixOf(name: string): string {
  return split(name).prefix;
}

/**
 * `instanceName('web@.service', '2') === 'web@2.service'`. The template must be one and the instance must
 * need no escaping (escape it with {@link escapeUnitNamePart} first); the result is validated.
 */
export function instanceName(template: string, instance: string): string {
  if (!isTemplate(template)) fail(`${goQuote(template)} is not a template (NAME@.TYPE)`);
  if (instance === '') fail('an instance name cannot be empty');
  const { prefix, suffix } = split(template);
  const name = `${prefix}@${instance}${suffix}`;
  validateUnitName(name);
  return name;
}

/** A glob (systemd's ListUnitsByPatterns) matching every instance of a template: `web@.service` → `web@*.service`. */
export function instancesPattern(template: string): string {
  const { prefix, suffix } = split(template);
  return `${prefix}@*${suffix}`;
}

/** The service a unit belongs to, its instance (empty for a plain unit), and whether it is a template. */
export interface UnitParts {
  readonly service: string;
  readonly instance: string;
  readonly template: boolean;
  /** The unit suffix without the dot: `service`, `timer`… */
  readonly type: string;
}

/** The operations view of a name: `web@2.service` → `{service: 'web', instance: '2'}`; `mon.service` → `{service: 'mon', instance: ''}`. */
export function unitParts(name: string): UnitParts {
  const { prefix, instance, suffix } = split(name);
  return { service: prefix, instance: instance ?? '', template: instance === '', type: suffix.slice(1) };
}

const SIDEKICK = '-discovery';

/** The discovery sidekick of a service's unit: `web`, `2` → `web-discovery@2.service`; `web`, `''` → `web-discovery.service`. */
export function sidekickName(service: string, instance: string): string {
  return instance === '' ? `${service}${SIDEKICK}.service` : `${service}${SIDEKICK}@${instance}.service`;
}

/** The template of a replicated service's sidekicks: `web` → `web-discovery@.service`. */
export function sidekickTemplate(service: string): string {
  return `${service}${SIDEKICK}@.service`;
}

/** The service a discovery sidekick (`web-discovery@2.service`) belongs to, else undefined. */
export function sidekickOf(name: string): string | undefined {
  const { service } = unitParts(name);
  return service.endsWith(SIDEKICK) && service.length > SIDEKICK.length ? service.slice(0, -SIDEKICK.length) : undefined;
}

/** Compares instances numerically when both are numbers (web@2 before web@10), else as text. */
export function compareInstances(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * fleetkit's own host-wide units of one cluster: its announce agent and its hosts watcher, one of each per
 * machine and per cluster. The cluster's name (an RFC 1123 label, valid in a unit name as it is) is part of
 * the unit name, so clusters that share a fleet never replace, stop or destroy each other's host units.
 * `agentUnitName('shop') === 'fleetkit-agent-shop.service'`.
 */
export function agentUnitName(cluster: string): string {
  return `fleetkit-agent-${cluster}.service`;
}

/** The hosts watcher of `cluster`: `fleetkit-hosts-shop.service`. */
export function hostsUnitName(cluster: string): string {
  return `fleetkit-hosts-${cluster}.service`;
}

/** The host-wide units of `cluster`, agent first. */
export function hostUnitNames(cluster: string): readonly [string, string] {
  return [agentUnitName(cluster), hostsUnitName(cluster)];
}

/** True for fleetkit's own host-wide units of any cluster (and the unnamed ones of before clusters had their own). */
export function isHostUnit(name: string): boolean {
  return /^fleetkit-(agent|hosts)(-[A-Za-z0-9_-]+)?\.service$/.test(name);
}
