// fleetd's bugs are reproduced, so that a client which triggers them fails its tests, and the API rules
// the transcripts do not cover (line limit, paging tokens, faults, latency) behave as documented.
import t from 'tap';
import { rawRequest } from './raw-request.js';
import { fleetServerPart } from './server.js';

const json = { 'Content-Type': 'application/json' };
const unit = (desiredState?: string, value = '/bin/true'): string =>
  JSON.stringify({ ...(desiredState ? { desiredState } : {}), options: [{ section: 'Service', name: 'ExecStart', value }] });

t.test('invalid desiredState on create: 500, nothing created', async (t) => {
  const s = await fleetServerPart(t);
  const res = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit('started') });
  t.same(res, { crashed: false, status: 500, statusText: 'Internal Server Error', rawHeaders: res.crashed ? [] : res.rawHeaders, body: '{"error":{"code":500,"message":""}}' });
  t.same(s.units(), []);
  t.same(s.bugsTriggered.map((b) => b.kind), ['invalid-desired-state-on-create']);
});

t.test('invalid desiredState on an existing unit poisons it', async (t) => {
  const s = await fleetServerPart(t);
  await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit('launched') });
  t.equal(s.states().length, 1);
  const put = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: '{"desiredState":"running"}' });
  t.equal(!put.crashed && put.status, 204);
  const list = await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/units' });
  t.equal(!list.crashed && list.body, '{}', 'vanished from the list');
  for (const req of [
    { method: 'GET', path: '/fleet/v1/units/a.service' },
    { method: 'DELETE', path: '/fleet/v1/units/a.service' },
    { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: '{"desiredState":"launched"}' },
    { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit('launched', '/bin/false') },
  ]) {
    const res = await rawRequest(s, 'tcp', req);
    t.same(!res.crashed && [res.status, res.body], [500, '{"error":{"code":500,"message":""}}'], `${req.method} on a poisoned unit`);
  }
  t.same(s.units()[0]?.poisoned, true);
  t.same(s.states(), [], 'the agent unloaded it');
  t.same(s.bugsTriggered.map((b) => b.kind), ['poisoned-unit', 'call-on-poisoned-unit', 'call-on-poisoned-unit', 'call-on-poisoned-unit', 'call-on-poisoned-unit']);
});

t.test('GET /state/NAME without a state drops the connection; with one it answers', async (t) => {
  const s = await fleetServerPart(t, { agent: { manual: true } });
  await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit('launched') });
  t.same(await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/state/a.service' }), { crashed: true });
  t.same(s.bugsTriggered.map((b) => b.kind), ['state-item-crash']);
  await s.settle();
  const ok = await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/state/a.service?alt=json' });
  t.match(!ok.crashed && ok.body, /"name":"a.service","systemdActiveState":"active"/);
  const filtered = await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/state?unitName=b.service' });
  t.equal(!filtered.crashed && filtered.body, '{}');
});

t.test('options are re-parsed by go-systemd: a 2048-byte line is a 400', async (t) => {
  const s = await fleetServerPart(t);
  const long = 'x'.repeat(2048 - 'ExecStart='.length);
  const bad = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit(undefined, long) });
  t.same(!bad.crashed && [bad.status, bad.body], [400, '{"error":{"code":400,"message":"line too long (max 2048 bytes)"}}']);
  const fits = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit(undefined, long.slice(1)) });
  t.equal(!fits.crashed && fits.status, 201, 'a 2047-byte line fits');
  const nl = await rawRequest(s, 'tcp', {
    method: 'PUT', path: '/fleet/v1/units/b.service', headers: json,
    body: JSON.stringify({ options: [{ section: 'Service', name: 'Exec\nStart', value: 'x' }] }),
  });
  t.match(!nl.crashed && nl.body, /unexpected newline encountered while parsing option name/);
});

t.test('replacing a unit: different options → 201 and inactive; same options → 409 without desiredState', async (t) => {
  const s = await fleetServerPart(t);
  await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit('launched') });
  const same = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit() });
  t.same(!same.crashed && same.body, '{"error":{"code":409,"message":"must provide DesiredState to update existing unit"}}');
  const changed = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit(undefined, '/bin/false') });
  t.equal(!changed.crashed && changed.status, 201);
  t.same([s.units()[0]?.desiredState, s.states()], ['inactive', []], 'replaced and unloaded');
});

t.test('paging tokens: wrong limit, page zero, short token, trailing empty page', async (t) => {
  const s = await fleetServerPart(t, { tokenLimit: 2 });
  for (const n of ['a', 'b']) await rawRequest(s, 'tcp', { method: 'PUT', path: `/fleet/v1/units/${n}.service`, headers: json, body: unit() });
  const get = async (q: string): Promise<string> => {
    const r = await rawRequest(s, 'tcp', { method: 'GET', path: `/fleet/v1/units${q}` });
    return r.crashed ? 'crashed' : `${r.status} ${r.body}`;
  };
  t.match(await get(''), /^200 \{"nextPageToken":"AgACAA==","units":\[/, 'exactly full page still links a next page');
  t.equal(await get('?nextPageToken=AgACAA=='), '200 {}');
  t.equal(await get('?nextPageToken=ZAABAA=='), '400 {"error":{"code":400,"message":"token limit must be 2"}}');
  t.equal(await get('?nextPageToken=AgAAAA=='), '400 {"error":{"code":400,"message":"token page must be greater than zero"}}');
  t.equal(await get('?nextPageToken=AgA='), '400 {"error":{"code":400,"message":"unexpected EOF"}}');
  t.equal(await get('?nextPageToken=AgACAA==&nextPageToken=AgACAA=='), '400 {"error":{"code":400,"message":"too many values for page token"}}');
});

t.test('injected faults and latency', async (t) => {
  const s = await fleetServerPart(t, { latencyMs: 20 });
  s.inject({ method: 'PUT', path: /a\.service$/, status: 409 });
  s.inject({ method: 'GET', path: '/fleet/v1/units', closeConnection: true, times: 2 });
  const put = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: json, body: unit() });
  t.same(!put.crashed && [put.status, put.body], [409, '{"error":{"code":409,"message":""}}']);
  t.same(s.units(), [], 'the faulted request did not reach the registry');
  t.same(await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/units' }), { crashed: true });
  t.same(await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/units' }), { crashed: true });
  const started = Date.now();
  const ok = await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/units' });
  t.equal(!ok.crashed && ok.status, 200);
  t.ok(Date.now() - started >= 19, 'latency applied');
  t.equal(s.requests.filter((r) => r.method === 'PUT').length, 1);
});
