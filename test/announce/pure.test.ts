/**
 * The pure parts of announcing: address choice, subnet.env parsing, registration checks, docker JSON.
 */
import t from 'tap';
import { chooseAddress } from '../../src/announce/choose-address.js';
import { parseFlannelEnv } from '../../src/flannel/subnet-env.js';
import { cidrContains, formatIp, parseIp } from '../../src/net/ip-address.js';
import { flannelLeaseName } from '../../src/flannel/public-ip.js';
import { validateRegistration } from '../../src/announce/registration.js';
import { serializeRecord } from '../../src/announce/record.js';
import { isServing, parseEvent, parseInspect, type ContainerInfo } from '../../src/docker/container-info.js';

const info = (o: Partial<ContainerInfo>): ContainerInfo => ({ id: 'x', name: 'web-1', running: true, health: 'none', hostNetwork: false, addresses: ['10.1.42.5'],
  labels: {}, exitCode: undefined, startedAt: undefined, finishedAt: undefined, ...o });
const flannel = { network: '10.1.0.0/16', subnet: '10.1.42.1/24' };

t.test('chooseAddress', async (t) => {
  t.same(chooseAddress(info({}), { flannel: undefined, hostIP: undefined }), { ok: true, ip: '10.1.42.5' });
  t.same(chooseAddress(info({ addresses: ['172.17.0.2', '10.1.42.9'] }), { flannel, hostIP: undefined }), { ok: true, ip: '10.1.42.9' }, 'the address on the flannel subnet wins');
  const out = chooseAddress(info({ addresses: ['10.1.43.5'] }), { flannel, hostIP: undefined });
  t.equal(out.ok, false, 'another host\'s flannel subnet is refused');
  t.match(out, { reason: /10\.1\.43\.5 is outside this host's flannel subnet 10\.1\.42\.1\/24/ });
  t.same(chooseAddress(info({ hostNetwork: true, addresses: [] }), { flannel, hostIP: '192.168.50.14' }), { ok: true, ip: '192.168.50.14' });
  t.match(chooseAddress(info({ hostNetwork: true, addresses: [] }), { flannel: undefined, hostIP: undefined }), { ok: false, reason: /--ip/ });
  t.match(chooseAddress(info({ addresses: [] }), { flannel: undefined, hostIP: undefined }), { ok: false, reason: /no IPv4 address/ });
});

t.test('subnet.env and CIDRs', async (t) => {
  t.same(await parseFlannelEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.42.1/24\nFLANNEL_MTU=1450\n', 'f'), flannel);
  await t.rejects(parseFlannelEnv('FLANNEL_NETWORK=10.1.0.0/16\n', '/run/flannel/subnet.env'), { message: /subnet\.env: FLANNEL_SUBNET is missing/ });
  await t.rejects(parseFlannelEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.300.1/24\n', 'f'), { message: /not an IPv4 CIDR/ });
  t.ok(cidrContains('10.1.42.1/24', '10.1.42.254'));
  t.notOk(cidrContains('10.1.42.1/24', '10.1.43.0'));
  t.ok(cidrContains('0.0.0.0/0', '8.8.8.8'));
  t.ok(cidrContains('10.1.42.7/32', '10.1.42.7'));
  t.notOk(cidrContains('10.1.42.7/32', '10.1.42.8'));
  t.notOk(cidrContains('10.1.42.7/33', '10.1.42.7'), 'a malformed subnet contains nothing');
  t.notOk(cidrContains('10.1.42.0/24', '10.1.42.07'), 'an address with a leading zero is not an address');
  t.equal(flannelLeaseName(flannel), '10.1.42.0-24');
  t.equal(flannelLeaseName({ network: '10.1.0.0/16', subnet: 'fc00::1/64' }), undefined, 'flannel names IPv4 leases only');
});

t.test('addresses print in their canonical form (RFC 5952 for IPv6)', async (t) => {
  const cases: Array<[string, string]> = [
    ['10.1.42.0', '10.1.42.0'], ['255.255.255.255', '255.255.255.255'], ['FC00:0:0:0:0:0:0:1', 'fc00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['0:0:0:0:0:0:0:0', '::'], ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ];
  for (const [text, want] of cases) t.equal(formatIp(parseIp(text)!), want, text);
});

t.test('validateRegistration', async (t) => {
  const limits = { prefix: '/services' };
  t.same(validateRegistration({ key: '/services/web/apache/1', container: 'apache-1', port: 80, ttl: 60 }, limits),
    { key: '/services/web/apache/1', container: 'apache-1', port: 80, ttl: 60, hostname: 'apache-1' });
  const bad: Array<[unknown, string]> = [
    [{ key: '/services/web/a/1', ttl: 60 }, 'ERR_NO_CONTAINER'],
    [{ key: '/servicesX/a', container: 'c', ttl: 60 }, 'ERR_KEY_PREFIX'],
    [{ key: '/services', container: 'c', ttl: 60 }, 'ERR_KEY_PREFIX'],
    [{ key: '/services/a//b', container: 'c', ttl: 60 }, 'ERR_KEY'],
    [{ key: '/services/a/b c', container: 'c', ttl: 60 }, 'ERR_KEY'],
    [{ key: '/services/a/b\n', container: 'c', ttl: 60 }, 'ERR_KEY'],
    [{ key: '/services/a', container: 'c', ttl: 4 }, 'ERR_TTL'],
    [{ key: '/services/a', container: 'c', ttl: 1.5 }, 'ERR_TTL'],
    [{ key: '/services/a', container: 'c', ttl: '60' }, 'ERR_TTL'],
    [{ key: '/services/a', container: 'c', ttl: 60, port: 70000 }, 'ERR_PORT'],
    [{ key: '/services/a', container: 'c_1', ttl: 60 }, 'ERR_HOSTNAME'],
    [{ key: '/services/a', container: 'c', ttl: 60, hostname: 'a\nb' }, 'ERR_HOSTNAME'],
    [{ key: '/services/a', container: '-c', ttl: 60 }, 'ERR_CONTAINER'],
    [{ key: '/services/a', container: 'c', ttl: 60, extra: { machine: 'x' } }, 'ERR_EXTRA'],
  ];
  for (const [raw, code] of bad) t.throws(() => validateRegistration(raw, limits), { code }, `${JSON.stringify(raw)} → ${code}`);
  t.same(validateRegistration({ key: '/a/b', container: 'c', ttl: 2 }, { prefix: '/', minTtl: 2 }).ttl, 2);
});

t.test('record serialization keeps its key order', async (t) => {
  const text = serializeRecord({ ip: '10.1.42.5', port: 80, hostname: 'web-1', host: 'h1', hostIP: '192.0.2.1', machine: 'm', container: 'web-1', version: 1, time: 'T', extra: { zone: 'a' } });
  t.equal(text, '{"ip":"10.1.42.5","port":80,"hostname":"web-1","host":"h1","hostIP":"192.0.2.1","machine":"m","container":"web-1","version":1,"time":"T","extra":{"zone":"a"}}');
});

t.test('docker JSON', async (t) => {
  const i = parseInspect({ Id: 'abc', Name: '/web-1', State: { Running: true, Health: { Status: 'starting' } }, HostConfig: { NetworkMode: 'default' },
    NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' }, other: { IPAddress: '' } } } });
  t.same(i, { id: 'abc', name: 'web-1', running: true, health: 'starting', hostNetwork: false, addresses: ['172.17.0.2'],
    labels: {}, exitCode: undefined, startedAt: undefined, finishedAt: undefined });
  const exited = parseInspect({ Id: 'abc', State: { Running: false, ExitCode: 143, StartedAt: '2026-12-03T13:00:00.1Z', FinishedAt: '2026-12-03T13:00:05.2Z' },
    Config: { Labels: { 'fleetkit.unit': 'web@1.service', odd: 5 } } });
  t.same([exited.exitCode, exited.startedAt, exited.finishedAt, exited.labels], [143, '2026-12-03T13:00:00.1Z', '2026-12-03T13:00:05.2Z', { 'fleetkit.unit': 'web@1.service' }],
    'exit code and times of an exited container; labels that are not strings are left out');
  const created = parseInspect({ State: { Running: false, ExitCode: 0, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' } });
  t.same([created.exitCode, created.startedAt, created.finishedAt], [undefined, undefined, undefined], 'a container that never ran has no exit code');
  t.match(parseEvent('{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"web-1","exitCode":"143","fleetkit.unit":"web@1.service"}},"timeNano":5}'),
    { action: 'die', exitCode: 143, attributes: { 'fleetkit.unit': 'web@1.service' } });
  t.equal(parseEvent('{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"web-1","exitCode":"-1x"}}}')!.exitCode, undefined, 'a malformed exit code is no exit code');
  t.notOk(isServing(i), 'starting is not serving');
  t.ok(isServing({ ...i, health: 'healthy' }));
  t.notOk(isServing(parseInspect({ State: { Running: true, Paused: true } })), 'paused is not serving');
  t.same(parseEvent('{"Type":"container","Action":"health_status: healthy","Actor":{"ID":"abc","Attributes":{"name":"web-1"}},"timeNano":5}'),
    { action: 'health_status: healthy', id: 'abc', name: 'web-1', signal: undefined, timeNano: 5, exitCode: undefined, attributes: { name: 'web-1' } });
  t.equal(parseEvent('{"Type":"network","Action":"connect","Actor":{"Attributes":{"name":"bridge"}}}'), undefined);
  t.equal(parseEvent('garbage'), undefined);
});
