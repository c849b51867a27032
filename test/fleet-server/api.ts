/**
 * fleetd v1.0.0's HTTP API over the in-memory cluster: routing (Go ServeMux rules), the units, state and
 * machines resources, paging tokens, and fleetd's answers byte for byte — its bugs included.
 */
import { Cluster, isPoisoned, JOB_STATES, type UnitRecord } from './cluster.js';
import { encodeOption, goObject, goString, str, toMetadataOps, toUnit, type DecodedUnit } from './go-encode.js';
import { decodeGoJSON } from './go-json.js';
import { decodeBase64URL, encodeBase64URL, goPathMatch, goQuote, goQuoteRune } from './go-text.js';
import { deserializeError, hashOptions, readRequirements, serializeOptions, unitNameInfo, type FleetOption } from './unit-file.js';

/** A request as the API sees it. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string; // decoded path
  readonly query: string; // raw query, without '?'
  readonly contentTypes: readonly string[]; // every Content-Type header line
  readonly body: Buffer;
}

/** fleetd's answer: a response, or a dropped connection (a Go handler panic). */
export type ApiAnswer = { readonly status: number; readonly contentType?: string; readonly body: string; readonly location?: string } | { readonly crash: string };

/** A fleetd bug a client triggered. */
export interface BugTriggered {
  readonly kind: 'invalid-desired-state-on-create' | 'poisoned-unit' | 'call-on-poisoned-unit' | 'state-item-crash' | 'nil-option-crash' | 'template-desired-state';
  readonly method: string;
  readonly path: string;
  readonly unit: string;
}

/** Shared state of the API. */
export interface ApiContext {
  readonly cluster: Cluster;
  readonly tokenLimit: number;
  readonly bugs: BugTriggered[];
}

const PREFIXES = ['/fleet/v1', '/v1-alpha'];

const json = (status: number, body: string): ApiAnswer => ({ status, contentType: 'application/json', body });
const error = (status: number, message = ''): ApiAnswer => json(status, `{"error":{"code":${status},"message":${goString(message)}}}`);
const empty = (status: number): ApiAnswer => ({ status, body: '' });

/** Go's path.Clean, keeping a trailing slash as ServeMux's cleanPath does. */
function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  let out = '/' + parts.join('/');
  if (p.endsWith('/') && out !== '/') out += '/';
  return out;
}

/** url.Values as Go's URL.Query() builds them (bad pairs dropped). */
function goQueryValues(raw: string, key: string): string[] {
  const out: string[] = [];
  for (const pair of raw.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    try {
      const dec = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
      const k = dec(eq < 0 ? pair : pair.slice(0, eq));
      if (k === key) out.push(dec(eq < 0 ? '' : pair.slice(eq + 1)));
    } catch {
      // Go's ParseQuery skips pairs with bad escapes
    }
  }
  return out;
}

/** Parses the page token like fleetd: base64 → {uint16 limit, uint16 page} little-endian, then validated. */
function pageToken(ctx: ApiContext, query: string): { limit: number; page: number } | { error: string } {
  const values = goQueryValues(query, 'nextPageToken');
  if (values.length > 1) return { error: 'too many values for page token' };
  if (values.length === 0) return { limit: ctx.tokenLimit, page: 1 };
  const dec = decodeBase64URL(values[0] ?? '');
  if (!dec.ok) return { error: dec.error };
  if (dec.bytes.length < 4) return { error: dec.bytes.length === 0 ? 'EOF' : 'unexpected EOF' };
  const limit = (dec.bytes[0] ?? 0) | ((dec.bytes[1] ?? 0) << 8);
  const page = (dec.bytes[2] ?? 0) | ((dec.bytes[3] ?? 0) << 8);
  if (limit !== ctx.tokenLimit) return { error: `token limit must be ${ctx.tokenLimit}` };
  if (page === 0) return { error: 'token page must be greater than zero' };
  return { limit, page };
}

/** fleet's extract*PageData, uint16 arithmetic included. */
function paginate<T>(all: readonly T[], tok: { limit: number; page: number }): { items: T[]; next?: string } {
  const start = ((tok.page - 1) * tok.limit) & 0xffff;
  let stop = (tok.page * tok.limit) & 0xffff;
  if (start >= all.length) return { items: [] };
  let next: string | undefined;
  if (stop > all.length) stop = all.length;
  else next = encodeBase64URL(Uint8Array.from([tok.limit & 0xff, tok.limit >> 8, (tok.page + 1) & 0xff, ((tok.page + 1) >> 8) & 0xff]));
  return { items: all.slice(start, stop), next };
}

function encodeUnit(ctx: ApiContext, u: UnitRecord): string {
  return goObject([
    ['currentState', str(ctx.cluster.currentState(u))],
    ['desiredState', str(u.desiredState)],
    ['machineID', u.reqs.global ? undefined : str(u.machineID)],
    ['name', str(u.name)],
    ['options', '[' + u.options.map(encodeOption).join(',') + ']'],
  ]);
}

function encodeState(s: ReturnType<Cluster['states']>[number]): string {
  return goObject([
    ['hash', str(s.hash)],
    ['machineID', str(s.machineID)],
    ['name', str(s.name)],
    ['systemdActiveState', str(s.state.activeState)],
    ['systemdLoadState', str(s.state.loadState)],
    ['systemdSubState', str(s.state.subState)],
  ]);
}

/** fleet's api.ValidateName. */
export function validateName(name: string): string | null {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'unit name cannot be empty';
  if (bytes > 256) return 'unit name exceeds maximum length (256)';
  const dot = name.lastIndexOf('.');
  if (dot === -1) return 'unit name must contain "."';
  if (dot === name.length - 1) return 'unit name cannot end in "."';
  const suffix = name.slice(dot + 1);
  const types = ['service', 'socket', 'busname', 'target', 'snapshot', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope'];
  if (!types.includes(suffix)) return `invalid unit type: ${goQuote(suffix)}`;
  for (const ch of name.slice(0, dot)) if (!/^[A-Za-z0-9:\-_.\\@]$/.test(ch)) return `invalid character ${goQuoteRune(ch)} in unit name`;
  if (name.startsWith('@')) return 'unit name cannot start in "@"';
  return null;
}

/** fleet's api.ValidateOptions: go-systemd re-parse, then the [X-Fleet] combinations, in fleet's order. */
export function validateOptions(name: string, options: readonly FleetOption[]): string | null {
  const parseError = deserializeError(serializeOptions(options));
  if (parseError) return parseError;
  const r = readRequirements(name, options);
  const uniq = (xs: readonly string[]): string[] => [...new Set(xs)];
  const peers = uniq(r.peers);
  const conflicts = uniq(r.conflicts);
  const replaces = uniq(r.replaces);
  for (const peer of peers) {
    for (const c of conflicts) if (goPathMatch(c, peer)) return `unresolvable requirements: peer ${goQuote(peer)} matches conflict ${goQuote(c)}`;
    for (const c of replaces) if (goPathMatch(c, peer)) return `unresolvable requirements: peer ${goQuote(peer)} matches replace ${goQuote(c)}`;
  }
  const target = r.machineID !== undefined;
  if (target && peers.length) return 'MachineID cannot be used with Peers';
  if (target && conflicts.length) return 'MachineID cannot be used with Conflicts';
  if (target && r.global) return 'MachineID cannot be used with Global';
  if (target && replaces.length) return 'MachineID cannot be used with Replaces';
  if (r.global && peers.length) return 'Global cannot be used with Peers';
  if (r.global && replaces.length) return 'Global cannot be used with Replaces';
  if (conflicts.length && replaces.length) return 'Conflicts cannot be used with Replaces';
  return null;
}

/** Answers one request like fleetd v1.0.0. */
export function handleApi(ctx: ApiContext, req: ApiRequest): ApiAnswer {
  const clean = cleanPath(req.path);
  if (clean !== req.path && req.method !== 'CONNECT') {
    const location = clean + (req.query ? '?' + req.query : '');
    const html = req.method === 'GET' || req.method === 'HEAD';
    return { status: 301, location, body: html ? `<a href="${location}">Moved Permanently</a>.\n\n` : '', ...(html ? { contentType: 'text/html; charset=utf-8' } : {}) };
  }
  for (const prefix of PREFIXES) {
    if (req.path === prefix) return error(405);
    if (!req.path.startsWith(prefix + '/')) continue;
    const rest = req.path.slice(prefix.length + 1);
    if (rest === 'units') return req.method === 'GET' ? listUnits(ctx, req) : error(405, 'only GET supported against this resource');
    if (rest === 'state') return req.method === 'GET' ? listStates(ctx, req) : error(405, 'only GET supported against this resource');
    if (rest === 'machines') {
      if (req.method === 'GET') return listMachines(ctx, req);
      if (req.method === 'PATCH') return patchMachines(ctx, req);
      return error(405, 'only GET and PATCH supported against this resource');
    }
    if (rest.startsWith('units/')) {
      const item = rest.slice('units/'.length);
      if (item === '' || item.includes('/')) return error(404);
      if (req.method === 'GET') return getUnit(ctx, req, item);
      if (req.method === 'DELETE') return deleteUnit(ctx, req, item);
      if (req.method === 'PUT') return putUnit(ctx, req, item);
      return error(405, 'only GET, PUT and DELETE supported against this resource');
    }
    if (rest.startsWith('state/')) {
      const item = rest.slice('state/'.length);
      if (item === '' || item.includes('/')) return error(404);
      if (req.method !== 'GET') return error(405, 'only GET supported against this resource');
      const state = ctx.cluster.states().find((s) => s.name === item);
      if (!state) {
        ctx.bugs.push({ kind: 'state-item-crash', method: req.method, path: req.path, unit: item });
        return { crash: `GET ${req.path}: fleetd dereferences a missing unit state and drops the connection; use /state?unitName=` };
      }
      return json(200, encodeState(state));
    }
  }
  return error(req.path === '/' ? 405 : 404);
}

function listUnits(ctx: ApiContext, req: ApiRequest): ApiAnswer {
  const tok = pageToken(ctx, req.query);
  if ('error' in tok) return error(400, tok.error);
  const all = [...ctx.cluster.units.values()].filter((u) => !isPoisoned(u)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = paginate(all, tok);
  return json(200, goObject([['nextPageToken', str(page.next)], ['units', '[' + page.items.map((u) => encodeUnit(ctx, u)).join(',') + ']']]));
}

function listStates(ctx: ApiContext, req: ApiRequest): ApiAnswer {
  const tok = pageToken(ctx, req.query);
  if ('error' in tok) return error(400, tok.error);
  const unitName = goQueryValues(req.query, 'unitName')[0] ?? '';
  const machineID = goQueryValues(req.query, 'machineID')[0] ?? '';
  const all = ctx.cluster.states().filter((s) => (!unitName || s.name === unitName) && (!machineID || s.machineID === machineID));
  const page = paginate(all, tok);
  return json(200, goObject([['nextPageToken', str(page.next)], ['states', '[' + page.items.map(encodeState).join(',') + ']']]));
}

function listMachines(ctx: ApiContext, req: ApiRequest): ApiAnswer {
  const tok = pageToken(ctx, req.query);
  if ('error' in tok) return error(400, tok.error);
  const page = paginate(ctx.cluster.machineViews(), tok);
  const machines = page.items.map((m) => {
    const keys = Object.keys(m.metadata).sort();
    const meta = '{' + keys.map((k) => `${goString(k)}:${goString(m.metadata[k] ?? '')}`).join(',') + '}';
    return goObject([['id', str(m.id)], ['metadata', meta], ['primaryIP', str(m.primaryIP)]]);
  });
  return json(200, goObject([['machines', '[' + machines.join(',') + ']'], ['nextPageToken', str(page.next)]]));
}

function patchMachines(ctx: ApiContext, req: ApiRequest): ApiAnswer {
  const decoded = decodeGoJSON(req.body);
  if (!decoded.ok) return error(400, decoded.error);
  const mapped = toMetadataOps(decoded.value);
  if (!mapped.ok) return error(400, mapped.error);
  const re = /^\/([^/]+)\/metadata\/([A-Za-z0-9_.-]+)$/;
  for (const op of mapped.ops) {
    if (!['add', 'remove', 'replace'].includes(op.op)) return error(400, 'invalid op: expect add, remove, or replace');
    if (!re.test(op.path)) return error(400, 'machine metadata path invalid');
    if (op.op !== 'remove' && op.value.length === 0) return error(400, 'invalid value: add and replace require a value');
  }
  for (const op of mapped.ops) {
    const m = re.exec(op.path);
    if (m) ctx.cluster.setMetadata(m[1] ?? '', m[2] ?? '', op.op === 'remove' ? undefined : op.value);
  }
  return json(204, '');
}

function poisoned(ctx: ApiContext, req: ApiRequest, name: string): ApiAnswer {
  ctx.bugs.push({ kind: 'call-on-poisoned-unit', method: req.method, path: req.path, unit: name });
  return error(500);
}

function getUnit(ctx: ApiContext, req: ApiRequest, name: string): ApiAnswer {
  const u = ctx.cluster.units.get(name);
  if (u && isPoisoned(u)) return poisoned(ctx, req, name);
  return u ? json(200, encodeUnit(ctx, u)) : error(404, 'unit does not exist');
}

function deleteUnit(ctx: ApiContext, req: ApiRequest, name: string): ApiAnswer {
  const u = ctx.cluster.units.get(name);
  if (u && isPoisoned(u)) return poisoned(ctx, req, name);
  if (!u) return error(404, 'unit does not exist');
  ctx.cluster.deleteUnit(name);
  return empty(204);
}

function putUnit(ctx: ApiContext, req: ApiRequest, item: string): ApiAnswer {
  if (req.contentTypes.length !== 1) return error(415, `expected 1 Content-Type, got ${req.contentTypes.length}`);
  if ((req.contentTypes[0] ?? '').split(';')[0]?.trim() !== 'application/json') return error(415, 'only acceptable Content-Type is application/json');
  const decoded = decodeGoJSON(req.body);
  if (!decoded.ok) return error(400, `unable to decode body: ${decoded.error}`);
  const mapped = toUnit(decoded.value);
  if (!mapped.ok) return error(400, `unable to decode body: ${mapped.error}`);
  const su: DecodedUnit = mapped.unit;
  const name = su.name === '' ? item : su.name;
  if (item !== name) return error(400, `name in URL ${goQuote(item)} differs from unit name in request body ${goQuote(name)}`);
  const bad = validateName(name);
  if (bad) return error(400, bad);
  const eu = ctx.cluster.units.get(name);
  if (eu && isPoisoned(eu)) return poisoned(ctx, req, name);
  const nilOption = (): ApiAnswer => {
    ctx.bugs.push({ kind: 'nil-option-crash', method: req.method, path: req.path, unit: name });
    return { crash: `PUT ${req.path}: a null element in "options" makes fleetd dereference a nil pointer` };
  };
  const create = (): ApiAnswer => {
    if (su.options.some((o) => o === null)) return nilOption();
    const options = su.options as FleetOption[];
    const invalid = validateOptions(name, options);
    if (invalid) return error(400, invalid);
    if (su.desiredState !== '' && !JOB_STATES.includes(su.desiredState)) {
      ctx.bugs.push({ kind: 'invalid-desired-state-on-create', method: req.method, path: req.path, unit: name });
      return error(500);
    }
    const ds = su.desiredState || 'inactive';
    if (unitNameInfo(name).isTemplate && ds !== 'inactive') ctx.bugs.push({ kind: 'template-desired-state', method: req.method, path: req.path, unit: name });
    ctx.cluster.putUnit(name, options, ds);
    return empty(201);
  };
  if (!eu) return su.options.length === 0 ? error(409, 'unit does not exist and options field empty') : create();
  if (su.options.length > 0) {
    if (su.options.some((o) => o === null)) return nilOption();
    if (hashOptions(su.options as FleetOption[]) !== eu.hash) return create();
  }
  if (su.desiredState === '') return error(409, 'must provide DesiredState to update existing unit');
  if (eu.isTemplate && su.desiredState !== 'inactive') return error(400, `cannot activate template ${goQuote(name)}`);
  if (!JOB_STATES.includes(su.desiredState)) ctx.bugs.push({ kind: 'poisoned-unit', method: req.method, path: req.path, unit: name });
  ctx.cluster.setDesired(name, su.desiredState);
  return empty(204);
}
