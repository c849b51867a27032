// The fleet test server answers the recorded conversations of a real fleetd v1.0.0 exactly: every request of
// ./transcripts is replayed, in order, against a fresh server set up to the recorded state, and status,
// body (byte for byte) and the relevant headers must match. The agent is stepped by hand: before a GET the
// simulation may advance (engine/agent transitions, forward only) until the recorded answer appears, which
// checks that each recorded state is one the simulation passes through, in the recorded order.
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCurlBlocks, parsePaging, parseProxyLog, readTranscript, type Exchange } from './parse-transcripts.js';
import { header, rawRequest, type RawResponse } from './raw-request.js';
import { fleetServerPart, RECORDED_MACHINE, type FleetServer, type FleetServerOptions } from './server.js';
import { hashOptions } from './unit-file.js';

type Via = 'unix' | 'tcp';
const sockDir = mkdtempSync(join(tmpdir(), 'fleet-server-'));
t.teardown(() => import('node:fs/promises').then((fs) => fs.rm(sockDir, { recursive: true, force: true })));
let n = 0;

async function start(tt: Tap, opts: FleetServerOptions): Promise<FleetServer> {
  return fleetServerPart(tt, { socketPath: join(sockDir, `f${n++}.sock`), tcp: true, machines: [RECORDED_MACHINE], agent: { manual: true }, ...opts });
}
type Tap = Test;

async function put(server: FleetServer, name: string, body: object): Promise<void> {
  const res = await rawRequest(server, 'tcp', { method: 'PUT', path: `/fleet/v1/units/${name}`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (res.crashed || res.status >= 300) throw new Error(`seeding ${name} failed`);
}

const sleep1000 = [{ section: 'Service', name: 'ExecStart', value: '/bin/sleep 1000' }];
const web = [
  { section: 'Unit', name: 'Description', value: 'worker web' },
  { section: 'Service', name: 'ExecStart', value: '/bin/sleep 1000' },
  { section: 'X-Fleet', name: 'MachineMetadata', value: 'region=local' },
  { section: 'X-Fleet', name: 'Conflicts', value: 'web*.service' },
];

const hello2 = [
  { section: 'Unit', name: 'Description', value: 'hello2 via fleetctl' },
  { section: 'Service', name: 'ExecStart', value: '/bin/sleep 1000' },
  { section: 'X-Fleet', name: 'MachineMetadata', value: 'role=worker' },
  { section: 'X-Fleet', name: 'Conflicts', value: 'hello*.service' },
];

t.test('unit hashes fleetd printed for units without renamed values', async (tt) => {
  const listing = readTranscript('fleetctl-transcript.txt');
  tt.match(listing, /nomatch\.service\tbe819de/);
  tt.equal(hashOptions([...sleep1000, { section: 'X-Fleet', name: 'MachineMetadata', value: 'region=mars' }]).slice(0, 7), 'be819de');
  tt.equal(hashOptions([{ section: 'Service', name: 'ExecStart', value: '/bin/true' }]).slice(0, 7), '86943ac');
});

const matches = (ex: Exchange, res: RawResponse): boolean =>
  ex.crashed ? res.crashed : !res.crashed && res.status === ex.status && (ex.responseBody === undefined || res.body === ex.responseBody);

async function replay(tt: Tap, server: FleetServer, via: Via, exchanges: readonly Exchange[], aliases: Record<string, string> = {}): Promise<void> {
  for (const recorded of exchanges) {
    let responseBody = recorded.responseBody;
    for (const [from, to] of Object.entries(aliases)) responseBody = responseBody?.split(from).join(to);
    const ex: Exchange = { ...recorded, ...(responseBody !== undefined ? { responseBody } : {}) };
    const send = (): Promise<RawResponse> => rawRequest(server, via, { method: ex.method, path: ex.path, headers: ex.headers, ...(ex.body !== undefined ? { body: ex.body } : {}) });
    let res = await send();
    // Only reads may wait for the simulation; a write is answered from the state it finds.
    while (ex.method === 'GET' && !matches(ex, res) && (await server.step())) res = await send();
    if (ex.crashed) {
      tt.ok(res.crashed, `${ex.source}: connection closed without a reply`);
      continue;
    }
    if (res.crashed) {
      tt.fail(`${ex.source}: connection dropped, expected ${ex.status}`);
      continue;
    }
    tt.equal(res.status, ex.status, `${ex.source}: status`);
    if (ex.statusText) tt.equal(res.statusText, ex.statusText, `${ex.source}: status text`);
    tt.equal(res.body, ex.responseBody, `${ex.source}: body`);
    for (const [name, value] of Object.entries(ex.responseHeaders ?? {})) {
      if (name === 'Date') continue;
      if (name === 'Server') tt.match(header(res, name), /^fleetd\/v1\.0\.0/, `${ex.source}: Server`);
      else if (name === 'Content-Length' && Number(value) !== Buffer.byteLength(recorded.responseBody ?? '')) {
        // Renamed metadata values changed the recorded body but not its recorded length: check ours is honest.
        tt.equal(header(res, name), String(Buffer.byteLength(res.body)), `${ex.source}: Content-Length of the body sent`);
      } else tt.equal(header(res, name), value, `${ex.source}: ${name}`);
    }
    if (ex.responseHeaders) {
      // Headers fleetd did not send must not be sent either (Content-Type on a 201/204 PUT, Content-Length on 204).
      for (const name of ['Content-Type', 'Content-Length']) if (!(name in ex.responseHeaders)) tt.equal(header(res, name), undefined, `${ex.source}: no ${name}`);
    }
  }
}

for (const via of ['unix', 'tcp'] as const) {
  t.test(`api-transcript1 over ${via}`, async (tt) => {
    const server = await start(tt, {});
    await replay(tt, server, via, parseCurlBlocks('api-transcript1.txt'));
  });

  t.test(`api-transcript-errors over ${via}`, async (tt) => {
    const server = await start(tt, {});
    await put(server, 'hello.service', { desiredState: 'launched', options: sleep1000 }); // left by transcript1
    await server.settle();
    const exchanges = parseCurlBlocks('api-transcript-errors.txt');
    tt.equal(exchanges.length, 25);
    await replay(tt, server, via, exchanges);
    tt.same(server.units().find((u) => u.name === 'hello.service')?.poisoned, true, 'hello.service is poisoned');
  });

  t.test(`api-transcript-paging over ${via} (token_limit=2)`, async (tt) => {
    const server = await start(tt, { tokenLimit: 2 });
    for (const p of ['pa', 'pb', 'pc', 'pd', 'pe']) await put(server, `${p}.service`, { options: [{ section: 'Service', name: 'ExecStart', value: '/bin/true' }] });
    const exchanges = parsePaging('api-transcript-paging.txt');
    tt.equal(exchanges.length, 5);
    await replay(tt, server, via, exchanges);
    // fleetctl list-unit-files printed the short hash of these units
    tt.match(readTranscript('api-transcript-paging.txt'), /pa\.service\t86943ac/);
    tt.equal(server.units()[0]?.hash.slice(0, 7), '86943ac');
  });

  t.test(`api-transcript-patch over ${via}`, async (tt) => {
    const server = await start(tt, {});
    await replay(tt, server, via, parseCurlBlocks('api-transcript-patch.txt'));
  });

  t.test(`fleetctl-http-proxy.log over ${via}`, async (tt) => {
    const server = await start(tt, {});
    await put(server, 'web.service', { desiredState: 'launched', options: web });
    await server.settle();
    await put(server, 'web2.service', { desiredState: 'launched', options: web });
    await put(server, 'nomatch.service', {
      desiredState: 'launched',
      options: [...sleep1000, { section: 'X-Fleet', name: 'MachineMetadata', value: 'region=mars' }],
    });
    await server.settle();
    const exchanges = parseProxyLog('fleetctl-http-proxy.log');
    tt.equal(exchanges.length, 59);
    // The recording's metadata values were renamed afterwards, so the hashes fleetd published for the units
    // that carry them cannot be recomputed; they are mapped to the hashes of the options as recorded.
    await replay(tt, server, via, exchanges, {
      b239b345fff88576e5e93c778715b93b50f89839: hashOptions(hello2),
      '95e905931c8a154633006321ad5b908ab7bc720d': hashOptions(web),
    });
  });
}
