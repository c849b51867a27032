/**
 * The pure core of watch-hosts: addresses and subnets, flannel keys, announcement validation (hostile
 * values), entry selection, rendering and the managed-block merge.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipInSubnet, parseIp, parseSubnet } from '../../src/net/ip-address.js';
import { parseFlannelConfig, parseLease, parseLeaseKey } from '../../src/flannel/flannel-etcd.js';
import { isRejection, parseAnnouncement, type Announcement } from '../../src/hosts/parse-announcement.js';
import { selectEntries } from '../../src/hosts/select-entries.js';
import { managedEntryLines, mergeManagedBlock, renderHosts } from '../../src/hosts/render-hosts.js';
import { splitCommand } from '../../src/hosts/split-command.js';
import { HostsState } from '../../src/hosts/hosts-state.js';

const golden = (name: string): string => readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), 'golden', name), 'utf8');
const rec = (o: Record<string, unknown>): string =>
  JSON.stringify({ ip: '10.1.42.5', hostname: 'web-1', host: 'h1', machine: 'm', container: 'c', version: 1, time: 't', ...o });
const ok = (key: string, value: string): Announcement => {
  const a = parseAnnouncement(key, value);
  if (isRejection(a)) throw new Error(a.reject);
  return a;
};

t.test('IP addresses: v4 strict, v6 with compression and v4 tails', async (t) => {
  for (const good of ['10.1.2.3', '0.0.0.0', '255.255.255.255', 'fc00::1', '::', '::1', '2001:db8:0:0:0:0:2:1', '::ffff:10.1.2.3']) {
    t.ok(parseIp(good), `${good} is an address`);
  }
  for (const bad of ['10.1.2', '10.1.2.3.4', '010.1.2.3', '256.1.1.1', '10.1.2.3 ', ' 10.1.2.3', '1.2.3.4\n', 'fc00:::1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'fc00::g', '', 'localhost']) {
    t.notOk(parseIp(bad), `${JSON.stringify(bad)} is refused`);
  }
  t.equal(parseIp('fc00::1')!.value, parseIp('fc00:0:0::0:1')!.value, 'two spellings, one value');
  const s = parseSubnet('10.1.42.7/24')!;
  t.ok(ipInSubnet(parseIp('10.1.42.255')!, s));
  t.notOk(ipInSubnet(parseIp('10.1.43.0')!, s));
  t.notOk(ipInSubnet(parseIp('fc00::1')!, s), 'other family never matches');
  t.ok(ipInSubnet(parseIp('fc00::5')!, parseSubnet('fc00::/64')!));
  t.notOk(parseSubnet('10.1.0.0/33'));
});

t.test('flannel keys and values', async (t) => {
  const [v4] = parseLeaseKey('10.1.42.0-24')!;
  t.same([v4!.family, v4!.prefixLen], [4, 24]);
  const dual = parseLeaseKey('10.5.34.0-24&fc00::-64')!;
  t.same(dual.map((s) => [s.family, s.prefixLen]), [[4, 24], [6, 64]]);
  for (const bad of ['10.1.42.0', '10.1.42.0-33', 'x-24', '10.1.42.0-24&fc00::-64&a-1', '']) t.notOk(parseLeaseKey(bad), bad);
  const cfg = parseFlannelConfig('{"Network":"10.1.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}');
  t.notOk(isRejection(cfg));
  t.ok(isRejection(parseFlannelConfig('{"Network":"nope"}')));
  t.ok(isRejection(parseFlannelConfig('{')));
  const lease = parseLease('/coreos.com/network/subnets/10.1.42.0-24', '{"PublicIP":"192.168.50.14","PublicIPv6":null,"BackendType":"vxlan"}');
  t.notOk(isRejection(lease));
  t.ok(isRejection(parseLease('/coreos.com/network/subnets/10.1.42.0-24', '{"PublicIP":"192.168.50.14 x"}')));
  t.ok(isRejection(parseLease('/coreos.com/network/subnets/garbage', '{"PublicIP":"192.168.50.14"}')));
});

t.test('hostile announcement values are rejected with a reason', async (t) => {
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['bad JSON', '{"ip":', /not JSON/],
    ['not an object', '[1]', /not a JSON object/],
    ['bad IPv4', rec({ ip: '10.1.42.300' }), /"ip".*not an IPv4 or IPv6/],
    ['IP with a hosts line', rec({ ip: '10.1.42.5\n6.6.6.6 evil' }), /"ip"/],
    ['hostname with a space', rec({ hostname: 'web 1' }), /"hostname"/],
    ['hostname with a newline', rec({ hostname: 'web\n6.6.6.6 bank' }), /"hostname"/],
    ['hostname with #', rec({ hostname: 'web#1' }), /"hostname"/],
    ['hostname with a dot', rec({ hostname: 'a.b' }), /"hostname"/],
    ['hostname too long', rec({ hostname: 'a'.repeat(64) }), /"hostname"/],
    ['hostname leading hyphen', rec({ hostname: '-a' }), /"hostname"/],
    ['missing hostname', JSON.stringify({ ip: '10.1.42.5' }), /"hostname" is missing/],
    ['bad hostIP', rec({ hostIP: 'x' }), /"hostIP"/],
    ['bad port', rec({ port: 70000 }), /"port"/],
    ['1 MB value', Buffer.alloc(1 << 20, 0x20), /1048576 bytes/],
  ];
  for (const [name, value, re] of cases) {
    const r = parseAnnouncement('/services/web/x/1', value);
    t.ok(isRejection(r), `${name}: rejected`);
    if (isRejection(r)) {
      t.match(r.reject, re, `${name}: reason`);
      t.notMatch(r.reject, /\n/, `${name}: reason is one line`);
    }
  }
  const a = ok('/services/web/x/1', rec({ ip: 'fc00::5', port: 80, extra: { future: true } }));
  t.equal(a.record.ip, 'fc00::5', 'IPv6 records are allowed; unknown fields are tolerated');
});

t.test('1 MB value is refused before parsing (cheaply)', async (t) => {
  const big = Buffer.from(JSON.stringify({ ip: '10.1.2.3', hostname: 'x'.repeat(1 << 20) }));
  const parse = JSON.parse;
  let parsed = 0;
  JSON.parse = ((...a: Parameters<typeof JSON.parse>) => (parsed++, parse(...a))) as typeof JSON.parse;
  try {
    t.ok(isRejection(parseAnnouncement('/k', big)));
  } finally {
    JSON.parse = parse;
  }
  t.equal(parsed, 0, 'JSON.parse never ran');
});

t.test('selection: sort order, duplicates, flannel subnets', async (t) => {
  const a1 = ok('/s/web/b/1', rec({ hostname: 'Web-2', ip: '10.1.42.9', hostIP: '192.168.50.14' }));
  const a2 = ok('/s/web/a/1', rec({ hostname: 'web-2', ip: '10.1.42.8', hostIP: '192.168.50.14' }));
  const a3 = ok('/s/web/c/1', rec({ hostname: 'db-1', ip: '10.1.7.3', hostIP: '192.168.50.15' }));
  const a4 = ok('/s/web/d/1', rec({ hostname: 'api-1', ip: '10.1.42.4' }));
  const none = { config: undefined, leases: new Map() };
  const s1 = selectEntries([a1, a2, a3, a4], none);
  t.same(s1.entries.map((e) => `${e.ip} ${e.hostname}`), ['10.1.42.4 api-1', '10.1.7.3 db-1', '10.1.42.8 web-2'], 'sorted by name; lowest key wins a duplicate (case-insensitive)');
  t.match(s1.excluded.get('/s/web/b/1'), /duplicate hostname "Web-2": "\/s\/web\/a\/1" has it/);
  t.same(selectEntries([a2, a1, a4, a3], none).entries, s1.entries, 'input order does not matter');

  const config = parseFlannelConfig('{"Network":"10.1.0.0/16","Backend":{"Type":"vxlan"}}');
  const lease = parseLease('/coreos.com/network/subnets/10.1.42.0-24', '{"PublicIP":"192.168.50.14"}');
  if (isRejection(config) || isRejection(lease)) throw new Error('fixture');
  const withFlannel = selectEntries([a1, a2, a3, a4], { config, leases: new Map([[lease.key, lease]]) });
  t.same(withFlannel.entries.map((e) => e.hostname), ['web-2'], 'only records inside their host lease count');
  t.match(withFlannel.excluded.get('/s/web/c/1'), /no flannel lease for host 192.168.50.15/);
  t.match(withFlannel.excluded.get('/s/web/d/1'), /no "hostIP"/);
  const outside = ok('/s/web/e/1', rec({ hostname: 'x-1', ip: '10.1.43.1', hostIP: '192.168.50.14' }));
  t.match(selectEntries([outside], { config, leases: new Map([[lease.key, lease]]) }).excluded.get('/s/web/e/1'), /outside the subnet leased/);
});

t.test('renderHosts: golden file and pinned lines', async (t) => {
  const entries = [
    { ip: '10.1.42.8', hostname: 'web-2', key: 'a' },
    { ip: 'fc00::5', hostname: 'db-1', key: 'b' },
  ];
  const text = renderHosts(entries, { cluster: 'prod', revision: 4711 });
  t.equal(text, golden('block.hosts'));
  t.match(text, /^# BEGIN fleetkit prod\n/);
  t.match(text, /etcd revision 4711/);
  t.match(text, /\n10\.1\.42\.8 web-2 web-2\.prod\n/);
  t.match(text, /\n# END fleetkit prod\n$/);
});

t.test('mergeManagedBlock keeps everything outside the block byte for byte', async (t) => {
  const block = renderHosts([{ ip: '10.0.0.1', hostname: 'a-1', key: 'k' }], { cluster: 'c', revision: 2 });
  const old = renderHosts([], { cluster: 'c', revision: 1 });
  const before = '127.0.0.1\tlocalhost\r\n# a comment   \n\n::1 ip6-localhost';
  const after = '\n10.9.9.9 manual # kept\n  \t\nno-newline-at-end';
  t.equal(mergeManagedBlock(before + '\n' + old + after, block, 'c'), before + '\n' + block + after, 'block in the middle');
  t.equal(mergeManagedBlock('', block, 'c'), block, 'empty file → the block');
  t.equal(mergeManagedBlock(before, block, 'c'), before + '\n' + block, 'no trailing newline: one is added before the block only');
  t.equal(mergeManagedBlock('x\n', block, 'c'), 'x\n' + block);
  const other = renderHosts([], { cluster: 'other', revision: 9 });
  t.equal(mergeManagedBlock(other, block, 'c'), other + block, 'another cluster\'s block is left alone');
  const merged = mergeManagedBlock(before + '\n' + old + after, block, 'c');
  t.equal(mergeManagedBlock(merged, block, 'c'), merged, 'idempotent');
  t.equal(managedEntryLines(merged, 'c'), '10.0.0.1 a-1 a-1.c\n');
  t.throws(() => mergeManagedBlock('# BEGIN fleetkit c\nx\n', block, 'c'), { code: 'ERR_HOSTS_BLOCK' }, 'BEGIN without END: refuse to guess');
});

t.test('HostsState logs a rejected key once, naming it, and tells expire from delete', async (t) => {
  const lines: string[] = [];
  const s = new HostsState({ announcements: '/s/c/', flannel: '/coreos.com/network' }, (l) => lines.push(l));
  s.applySnapshot(5, [
    { key: '/s/c/web/1', value: Buffer.from(rec({ hostname: 'web-1' })), lease: '77' },
    { key: '/s/c/bad/1', value: Buffer.from('{'), lease: '0' },
  ]);
  t.equal(lines.length, 1);
  t.match(lines[0], /^<4>ignoring "\/s\/c\/bad\/1": value is not JSON/);
  s.select();
  s.select();
  t.equal(lines.length, 1, 'not logged again on every write');
  s.applyChange('delete', { key: '/s/c/web/1', value: Buffer.alloc(0), lease: '0' }, 6);
  t.same(s.lastChange, { action: 'expire', key: '/s/c/web/1', value: Buffer.alloc(0) }, 'a leased key that goes is an expiry');
  s.applyChange('put', { key: '/s/c/x/1', value: Buffer.from(rec({ hostname: 'x-1' })), lease: '0' }, 7);
  t.equal(s.lastChange?.action, 'set');
  s.applyChange('delete', { key: '/s/c/x/1', value: Buffer.alloc(0), lease: '0' }, 8);
  t.equal(s.lastChange?.action, 'delete');
  t.equal(s.revision, 8);
});

t.test('splitCommand: quotes, no shell', async (t) => {
  t.same(splitCommand(`/bin/reload 'a b' "c \\"d\\"" e\\ f $HOME;x`), ['/bin/reload', 'a b', 'c "d"', 'e f', '$HOME;x']);
  t.throws(() => splitCommand(`x 'y`), { code: 'ERR_USAGE' });
  t.throws(() => splitCommand('   '), { code: 'ERR_USAGE' });
});
