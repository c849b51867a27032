/**
 * Compose forms that `docker compose` reads but that fleetkit's schema does not spell out, rewritten into the
 * forms it does before the schema check (paths stay the same, so every position still points into the file):
 *
 * - Extension fields (`x-…`) below the top level: the Compose Specification allows them in a service and in an
 *   entry of `networks`, `volumes`, `secrets` and `configs`, and ignores them; stacks use them for anchors and
 *   for other tools' metadata (app stores, backup schedules). fleetkit's own service keys (`x-fleet`,
 *   `x-announce`, …) are kept for the schema. A near miss of one of them is a warning: it is ignored like any
 *   other extension field, which the author surely did not mean.
 * - The 3.x `external: { name: N }` of a network or volume: read as Compose reads it, `external: true` with
 *   `name: N`, and a warning that the form is deprecated.
 * Pure: the input is not changed.
 */
import { closest, type Problems } from './problems.js';

/** fleetkit's extension keys of a service: part of its schema, never dropped. */
export const FLEETKIT_SERVICE_KEYS = ['x-fleet', 'x-announce', 'x-systemd', 'x-docker', 'x-await'] as const;

const RESOURCES = ['networks', 'volumes', 'secrets', 'configs'] as const;

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `data` (the whole file, interpolated) with the forms above rewritten. */
export function readComposeForms(data: Mapping, p: Problems): Mapping {
  const out: Mapping = { ...data };
  if (isMapping(data['services'])) {
    const services: Mapping = {};
    for (const [name, s] of Object.entries(data['services'])) {
      services[name] = isMapping(s) ? withoutExtensions(s, FLEETKIT_SERVICE_KEYS, (k) => {
        const near = closest(k, FLEETKIT_SERVICE_KEYS);
        if (near !== undefined) p.warn(['services', name, k], `"${k}" is ignored as an extension field`, `did you mean "${near}"?`);
      }) : s;
    }
    out['services'] = services;
  }
  for (const kind of RESOURCES) {
    const all = data[kind];
    if (!isMapping(all)) continue;
    const entries: Mapping = {};
    for (const [name, r] of Object.entries(all)) {
      const entry = isMapping(r) ? withoutExtensions(r, [], () => {}) : r;
      entries[name] = kind === 'networks' || kind === 'volumes' ? externalName(entry, [kind, name], p) : entry;
    }
    out[kind] = entries;
  }
  return out;
}

function withoutExtensions(m: Mapping, keep: readonly string[], dropped: (key: string) => void): Mapping {
  const out: Mapping = {};
  for (const [k, v] of Object.entries(m)) {
    if (!k.startsWith('x-') || keep.includes(k)) out[k] = v;
    else dropped(k);
  }
  return out;
}

/** `external: { name: N }` → `external: true, name: N`; any other value is left to the schema. */
function externalName(entry: unknown, path: readonly string[], p: Problems): unknown {
  if (!isMapping(entry) || !isMapping(entry['external'])) return entry;
  const ext = entry['external'];
  const keys = Object.keys(ext);
  if (keys.length !== 1 || keys[0] !== 'name' || typeof ext['name'] !== 'string') return entry;
  const name = ext['name'];
  if (entry['name'] !== undefined && entry['name'] !== name) {
    p.add([...path, 'external', 'name'], `external.name "${name}" differs from name "${String(entry['name'])}"`, 'keep name: and write external: true');
    return { ...entry, external: true };
  }
  p.warn([...path, 'external'], 'external: { name: … } is the deprecated Compose 3.x form; it is read as external: true with name:', `write external: true and name: ${name}`);
  return { ...entry, external: true, name };
}
