/**
 * The fleet client against the project's fleet test server: paging, `{}` as empty, `?alt=json`, error
 * messages in fleet's own words, transport failures, and the two fleetd bugs a client must never trigger.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetServerPart, type FleetServer } from '../fleet-server/server.js';
import { FleetClient } from '../../src/fleet/fleet-client.js';
import { fleetEndpointFrom, parseFleetEndpoint } from '../../src/fleet/endpoint.js';
import { instantiate } from '../../src/fleet/instantiate.js';
import type { UnitFile } from '../../src/unit/model.js';
import type { DesiredState } from '../../src/fleet/desired-state.js';

const dir = await mkdtemp(join(tmpdir(), 'fk-fleet-client-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
let sockets = 0;
const unit = (name: string, cmd = '/bin/sleep 1000'): UnitFile => ({ name, options: [{ section: 'Service', name: 'ExecStart', value: cmd }] });

type T = Test;

/** A server on a fresh unix socket and a client for it; `body` runs, then the invariants are checked. */
async function withServer(t: T, opts: Parameters<typeof fleetServerPart>[1], body: (server: FleetServer, client: FleetClient) => Promise<void>): Promise<void> {
  const server = await fleetServerPart(t, { socketPath: join(dir, `fleet-${sockets++}.sock`), ...opts });
  const client = new FleetClient({ endpoint: parseFleetEndpoint(server.endpoint), timeoutMs: 2000 });
  try {
    await body(server, client);
  } finally {
    client.close();
  }
  t.same(server.bugsTriggered, [], 'no fleetd bug triggered');
  t.notOk(server.units().some((u) => u.poisoned), 'no poisoned unit');
  t.notOk(server.requests.some((r) => r.path.startsWith('/fleet/v1/state/')), '/state/NAME never used');
  t.ok(server.requests.every((r) => r.query['alt'] === 'json'), '?alt=json on every call');
}

t.test('empty lists are {} and read as empty', async (t) => withServer(t, {}, async (server, client) => {
  t.same(await client.listUnits(), []);
  t.same(await client.listStates(), []);
  t.equal(await client.getUnit('nope.service'), undefined);
  t.equal(await client.deleteUnit('nope.service'), false);
}));

t.test('paging follows nextPageToken to the end', async (t) => withServer(t, { tokenLimit: 2 }, async (server, client) => {
  for (const n of ['pa', 'pb', 'pc', 'pd', 'pe']) await client.putUnit(unit(`${n}.service`), 'inactive');
  const units = await client.listUnits();
  t.same(units.map((u) => u.name), ['pa.service', 'pb.service', 'pc.service', 'pd.service', 'pe.service']);
  const pages = server.requests.filter((r) => r.method === 'GET' && r.path === '/fleet/v1/units');
  t.equal(pages.length, 3, 'three pages of two');
  t.equal(pages[1]!.query['nextPageToken'], 'AgACAA==', "fleet's own token is sent back");
  t.equal(units[0]!.machineID, undefined, 'no machineID while unscheduled');
  t.equal(units[0]!.desiredState, 'inactive');
}));

t.test('create, launch and state with one PUT; instances carry the template options', async (t) => withServer(t, { machines: [{ id: 'a'.repeat(32), primaryIP: '10.0.0.1', metadata: { disk: 'ssd' } }] }, async (server, client) => {
  const tmpl = unit('web@.service');
  await client.putUnit(tmpl, 'inactive');
  await client.putUnit(instantiate(tmpl, 'web@1.service'), 'launched');
  const put = server.requests.filter((r) => r.method === 'PUT').at(-1)!;
  t.equal(put.path, '/fleet/v1/units/web@1.service');
  t.equal(put.headers['content-type'], 'application/json');
  t.same(JSON.parse(put.body), { name: 'web@1.service', desiredState: 'launched', options: [{ section: 'Service', name: 'ExecStart', value: '/bin/sleep 1000' }] });
  await server.settle();
  const states = await client.listStates({ unitName: 'web@1.service' });
  t.equal(states.length, 1);
  t.equal(states[0]!.systemdActiveState, 'active');
  t.equal(states[0]!.machineID, 'a'.repeat(32));
  t.equal((await client.getUnit('web@1.service'))!.currentState, 'launched');
}));

t.test("fleet's refusals name the unit and carry fleet's text", async (t) => withServer(t, {}, async (server, client) => {
  await client.putUnit(unit('t@.service'), 'inactive');
  await t.rejects(client.setDesiredState('t@.service', 'launched'), { code: 'ERR_FLEET_REFUSED', message: 'fleet refused t@.service: cannot activate template "t@.service" (400)' });
  server.inject({ method: 'PUT', path: '/fleet/v1/units/a.service', status: 409, body: { error: { code: 409, message: 'unit does not exist and options field empty' } } });
  await t.rejects(client.putUnit(unit('a.service'), 'launched'), { code: 'ERR_FLEET_CONFLICT', message: 'fleet refused a.service: unit does not exist and options field empty (409)' });
  server.inject({ method: 'PUT', status: 415, body: { error: { code: 415, message: 'only acceptable Content-Type is application/json' } } });
  await t.rejects(client.putUnit(unit('a.service'), 'launched'), { code: 'ERR_FLEET_REFUSED', message: 'fleet refused a.service: only acceptable Content-Type is application/json (415)' });
  server.inject({ method: 'GET', path: '/fleet/v1/units', status: 500 });
  await t.rejects(client.listUnits(), { code: 'ERR_FLEET_SERVER', message: 'fleet failed on GET /fleet/v1/units: internal error with no message (500)' });
}));

t.test('a closed connection, a timeout and a missing socket are sentences', async (t) => withServer(t, {}, async (server, client) => {
  server.inject({ method: 'PUT', closeConnection: true, times: 2 });
  await t.rejects(client.putUnit(unit('a.service'), 'launched'), { code: 'ERR_FLEET_CLOSED', message: 'fleet closed the connection without answering PUT a.service' });
  server.inject({ method: 'GET', delayMs: 3000 });
  await t.rejects(client.listUnits(), { code: 'ERR_FLEET_TIMEOUT', message: /^fleet at unix:\/\/\S+ did not answer GET \/fleet\/v1\/units within 2000 ms$/ });
  const lost = new FleetClient({ endpoint: parseFleetEndpoint(`unix://${dir}/none.sock`) });
  await t.rejects(lost.listUnits(), { code: 'ERR_FLEET_UNREACHABLE', message: `cannot reach fleet at unix://${dir}/none.sock: no such socket` });
  lost.close();
}));

t.test('an invalid desiredState is refused before anything is sent', async (t) => withServer(t, {}, async (server, client) => {
  await client.putUnit(unit('a.service'), 'inactive');
  const before = server.requests.length;
  await t.rejects(client.setDesiredState('a.service', 'bogus' as DesiredState), { code: 'ERR_FLEET_DESIRED_STATE' });
  await t.rejects(client.putUnit(unit('b.service'), 'started' as DesiredState), { code: 'ERR_FLEET_DESIRED_STATE' });
  t.equal(server.requests.length, before, 'no request sent');
}));

t.test('over TCP as well', async (t) => {
  const server = await fleetServerPart(t, { tcp: true });
  const client = new FleetClient({ endpoint: parseFleetEndpoint(server.endpoint) });
  await client.putUnit(unit('a.service'), 'launched');
  t.same((await client.listUnits()).map((u) => u.name), ['a.service']);
  client.close();
  t.same(server.bugsTriggered, []);
});

t.test('endpoints the way fleetctl takes them', async (t) => {
  t.same(fleetEndpointFrom(undefined, {}), { kind: 'unix', socketPath: '/var/run/fleet.sock', text: 'unix:///var/run/fleet.sock' });
  t.equal(fleetEndpointFrom(undefined, { FLEETCTL_ENDPOINT: 'http://10.0.0.1:4001' }).text, 'http://10.0.0.1:4001');
  t.equal(fleetEndpointFrom('unix:///x.sock', { FLEETCTL_ENDPOINT: 'http://10.0.0.1:4001' }).text, 'unix:///x.sock', 'the flag wins');
  t.equal(parseFleetEndpoint('http://a:1,http://b:2').text, 'http://a:1', 'first of a list');
  t.throws(() => parseFleetEndpoint('ftp://x'), { code: 'ERR_USAGE' });
  t.throws(() => parseFleetEndpoint('unix://relative.sock'), { code: 'ERR_USAGE' });
});
