/**
 * Which service instance an announcement key belongs to. With a spec, each service's key template
 * (`/services/web/apache/%i`, `%H`/`%m` for global services) is turned into a pattern; without one the
 * default layout `<prefix>/<cluster>/<service>/<instance>` is assumed. Pure.
 */
import type { ClusterSpec } from '../cluster/types.js';
import { parseAnnouncementKey } from '../etcd/key-layout.js';

/** Where a key points: a service and its instance (`2`), host name (`%H`, `%l`) or machine id (`%m`). */
export interface KeyOwner {
  readonly service: string;
  /** The `%i` part, when the template has one. */
  readonly instance: string | undefined;
  /** The `%H` or `%m` part, when the template has one. */
  readonly host: string | undefined;
  readonly machine: string | undefined;
  /** The cluster segment of the default layout (no spec), else undefined. */
  readonly cluster: string | undefined;
}

interface Matcher {
  readonly service: string;
  readonly re: RegExp;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether a key template names the host (`%H`, `%l`, `%m`): a global service's, one key per machine. */
export function isPerHostKey(template: string): boolean {
  return /%[Hlm]/.test(template);
}

/**
 * The keys a template stands for, as a pattern: each specifier (`%i %H %l %m`) one path segment, captured by
 * its letter. `/services/web/mon/%H` matches `/services/web/mon/node1` (groups.H is node1).
 */
export function keyTemplatePattern(template: string): RegExp {
  const parts = template.split(/(%[iHlm])/);
  // A specifier used twice must match the same text twice: named group first, back-reference after.
  const seen = new Set<string>();
  const src = parts
    .map((p) => {
      const g = /^%([iHlm])$/.exec(p)?.[1];
      if (g === undefined) return escapeRe(p);
      if (seen.has(g)) return `\\k<${g}>`;
      seen.add(g);
      return `(?<${g}>[^/]+)`;
    })
    .join('');
  return new RegExp(`^${src}$`);
}

/** Builds a matcher from the spec's key templates. */
function specMatchers(spec: ClusterSpec): Matcher[] {
  const out: Matcher[] = [];
  for (const s of spec.services) {
    if (s.announce) out.push({ service: s.name, re: keyTemplatePattern(s.announce.key) });
  }
  return out;
}

/** A function from key to owner (undefined for keys that belong to no known service). */
export function keyOwnerResolver(spec: ClusterSpec | undefined, prefix: string): (key: string) => KeyOwner | undefined {
  if (spec) {
    const matchers = specMatchers(spec);
    return (key) => {
      for (const m of matchers) {
        const g = m.re.exec(key)?.groups;
        if (g) return { service: m.service, instance: g['i'], host: g['H'] ?? g['l'], machine: g['m'], cluster: spec.name };
      }
      return undefined;
    };
  }
  return (key) => {
    const parts = parseAnnouncementKey(prefix, key);
    if (!parts) return undefined;
    const { cluster, service, instance } = parts;
    // Global services are keyed by host name or machine id: a 32-hex segment is taken as a machine id.
    const isMachine = /^[0-9a-f]{32}$/.test(instance);
    const isNumber = /^\d+$/.test(instance);
    return {
      service,
      instance: isNumber ? instance : undefined,
      host: !isNumber && !isMachine ? instance : undefined,
      machine: isMachine ? instance : undefined,
      cluster,
    };
  };
}
