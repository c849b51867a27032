/**
 * JSON output and input shapes exactly as fleetd's Go code produces and reads them: keys in the generated
 * schema's (alphabetical) field order, `omitempty` on every field, and Go's string escaping (`<>&` as
 * \u003c…, U+2028/2029 escaped).
 */
import { goField, goFieldTypeError, goKind, goValueTypeError } from './go-json.js';
import type { FleetOption } from './unit-file.js';

/** Go's encoding/json string encoder. */
export function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

/** A JSON object from [key, value] pairs in order, leaving out Go's empty values (omitempty). */
export function goObject(fields: readonly (readonly [string, string | undefined])[]): string {
  return '{' + fields.filter(([, v]) => v !== undefined && v !== '' && v !== '[]' && v !== '{}').map(([k, v]) => `${goString(k)}:${v}`).join(',') + '}';
}

/** Encodes one option: name, section, value. */
export function encodeOption(o: FleetOption): string {
  return goObject([
    ['name', o.name ? goString(o.name) : undefined],
    ['section', o.section ? goString(o.section) : undefined],
    ['value', o.value ? goString(o.value) : undefined],
  ]);
}

/** A string or nothing, for omitempty. */
export function str(v: string | undefined): string | undefined {
  return v ? goString(v) : undefined;
}

/** A unit body as decoded by Go into schema.Unit; `nullOption` marks a null element (a nil pointer in Go). */
export interface DecodedUnit {
  readonly name: string;
  readonly desiredState: string;
  readonly options: readonly (FleetOption | null)[];
}

/** Maps a decoded JSON value onto schema.Unit like encoding/json, returning Go's first type error. */
export function toUnit(value: unknown): { ok: true; unit: DecodedUnit } | { ok: false; error: string } {
  const unit = { name: '', desiredState: '', options: [] as (FleetOption | null)[] };
  if (value === null) return { ok: true, unit };
  if (typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: goValueTypeError(value, 'schema.Unit') };
  let firstError: string | undefined;
  const fail = (e: string): void => {
    firstError ??= e;
  };
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = ['currentState', 'desiredState', 'machineID', 'name', 'options'].find((f) => f.toLowerCase() === key.toLowerCase());
    if (!field) continue;
    if (field !== 'options') {
      if (v === null) continue;
      if (typeof v !== 'string') fail(goFieldTypeError(v, 'Unit', field, 'string'));
      else if (field === 'name') unit.name = v;
      else if (field === 'desiredState') unit.desiredState = v;
      continue;
    }
    if (v === null) {
      unit.options = [];
      continue;
    }
    if (!Array.isArray(v)) {
      fail(goFieldTypeError(v, 'Unit', 'options', '[]*schema.UnitOption'));
      continue;
    }
    unit.options = v.map((el) => {
      if (el === null) return null;
      if (typeof el !== 'object' || Array.isArray(el)) {
        fail(goFieldTypeError(el, 'Unit', 'options', 'schema.UnitOption'));
        return { section: '', name: '', value: '' };
      }
      const opt = { section: '', name: '', value: '' };
      for (const [k, ov] of Object.entries(el as Record<string, unknown>)) {
        const f = (['name', 'section', 'value'] as const).find((x) => x === k.toLowerCase());
        if (!f || ov === null) continue;
        if (typeof ov !== 'string') fail(goFieldTypeError(ov, 'UnitOption', `options.${f}`, 'string'));
        else opt[f] = ov;
      }
      return opt;
    });
  }
  return firstError === undefined ? { ok: true, unit } : { ok: false, error: firstError };
}

/** One PATCH /machines operation as fleetd's machineMetadataOp reads it. */
export interface MetadataOp {
  readonly op: string;
  readonly path: string;
  readonly value: string;
}

/** Maps a decoded JSON value onto []machineMetadataOp like encoding/json. */
export function toMetadataOps(value: unknown): { ok: true; ops: MetadataOp[] } | { ok: false; error: string } {
  if (value === null) return { ok: true, ops: [] };
  if (!Array.isArray(value)) return { ok: false, error: goValueTypeError(value, '[]api.machineMetadataOp') };
  let firstError: string | undefined;
  const ops: MetadataOp[] = [];
  for (const el of value) {
    if (el === null) {
      ops.push({ op: '', path: '', value: '' });
      continue;
    }
    if (typeof el !== 'object' || Array.isArray(el)) {
      firstError ??= goValueTypeError(el, 'api.machineMetadataOp');
      continue;
    }
    const rec = el as Record<string, unknown>;
    const read = (name: string): string => {
      const { found, value: v } = goField(rec, name);
      if (!found || v === null) return '';
      if (typeof v === 'string') return v;
      firstError ??= goFieldTypeError(v, 'machineMetadataOp', name === 'op' ? 'op' : name.charAt(0).toUpperCase() + name.slice(1), 'string');
      return '';
    };
    const op = read('op');
    const path = read('path');
    let val = '';
    const { found, value: v } = goField(rec, 'value');
    if (found && v !== null) {
      if (typeof v === 'object' && !Array.isArray(v)) {
        const inner = goField(v as Record<string, unknown>, 'value');
        if (typeof inner.value === 'string') val = inner.value;
        else if (inner.found && inner.value !== null) firstError ??= goFieldTypeError(inner.value, 'machineMetadataOp', 'Value.value', 'string');
      } else {
        // fleet's op declares Value as an anonymous struct with a json tag; Go prints the type with its tag.
        firstError ??= goFieldTypeError(v, 'machineMetadataOp', 'Value', 'struct { Value string "json:\\"value\\"" }');
      }
    }
    ops.push({ op, path, value: val });
  }
  return firstError === undefined ? { ok: true, ops } : { ok: false, error: firstError };
}
