// fleetkit cloud-config: golden files for both examples in both formats, pinned key lines, schema checks
// that can fail, and bad input turned into plain sentences.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { bootDocumentProblems } from '../../src/cloud-config/validate.js';
import { matchGolden } from '../support/golden.js';
import { runFleetkit } from '../cli/load-io.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const golden = (name: string): string => join(root, 'test/cloud-config/golden', name);
const SEED = 'examples/seed/cluster.yaml';
const LARGE = 'examples/large/cluster.yaml';
/** A Flatcar cluster that names a fleet release (x-fleetkit.fleet), over TLS, with a role. */
const FLEET = 'test/cloud-config/fixtures/fleet-release.yaml';
/** What cloud-config says when the hosts ship no fleet and the spec names no release. */
const NO_FLEET = /^fleetkit cloud-config: warning: these machines get no fleet: target current \(Flatcar\) ships none, and x-fleetkit\.fleet names no release to install/m;

async function cloudConfig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runFleetkit(['cloud-config', ...args], { cwd: root });
}

type Doc = Record<string, any>;
const unitNamed = (units: Doc[], name: string): Doc => {
  const u = units.find((x) => x.name === name);
  if (!u) throw new Error(`no unit ${name} in ${units.map((x) => x.name).join(', ')}`);
  return u;
};

const cases: Array<{ name: string; args: string[]; format: 'cloud-config' | 'butane' }> = [
  { name: 'seed.cloud-config.yaml', args: [SEED], format: 'cloud-config' },
  { name: 'seed.butane.yaml', args: [SEED, '--format', 'butane'], format: 'butane' },
  { name: 'large-etcd.cloud-config.yaml', args: [LARGE, '--role', 'etcd', '--hostname', 'etcd1', '--initial-cluster', 'etcd1=https://10.0.0.11:2380,etcd2=https://10.0.0.12:2380,etcd3=https://10.0.0.13:2380'], format: 'cloud-config' },
  { name: 'large-web.cloud-config.yaml', args: [LARGE, '--role', 'web', '--metadata', 'rack=r7'], format: 'cloud-config' },
  { name: 'large-etcd.butane.yaml', args: [LARGE, '--format', 'butane', '--role', 'etcd', '--hostname', 'etcd1', '--ip', '10.0.0.11', '--discovery', 'https://discovery.etcd.io/0123abcd'], format: 'butane' },
  { name: 'large-db.butane.yaml', args: [LARGE, '--format', 'butane', '--role', 'db'], format: 'butane' },
  { name: 'fleet-release.cloud-config.yaml', args: [FLEET, '--role', 'web'], format: 'cloud-config' },
  { name: 'fleet-release.butane.yaml', args: [FLEET, '--format', 'butane', '--role', 'web', '--ip', '10.0.0.21'], format: 'butane' },
  { name: 'seed-legacy.cloud-config.yaml', args: [SEED, '--target', 'legacy', '--metadata', 'rack=r7'], format: 'cloud-config' },
];

for (const c of cases) {
  t.test(`golden ${c.name}`, async (t) => {
    const r = await cloudConfig(c.args);
    t.equal(r.code, 0, r.stderr);
    matchGolden(t, golden(c.name), r.stdout);
    t.same(bootDocumentProblems(c.format, r.stdout), [], 'matches its format schema');
  });
}

t.test('cloud-config: pinned key lines', async (t) => {
  const r = await cloudConfig(cases[2]!.args);
  t.equal(r.stdout.split('\n')[0], '#cloud-config', 'first line is exactly #cloud-config');
  const doc = parse(r.stdout) as Doc;
  t.equal(doc.coreos.fleet, undefined, 'no coreos.fleet section: Flatcar ships no fleet.service to configure');
  t.notOk((doc.coreos.units as Doc[]).some((u) => /^fleet(-install)?\.(service|socket)$/.test(u.name)), 'and no fleet unit, since the spec names no fleet release');
  t.match(r.stderr, NO_FLEET, 'which cloud-config says');
  const etcd = unitNamed(doc.coreos.units, 'etcd-member.service');
  t.equal(etcd.command, 'start');
  const dropIn = etcd['drop-ins'][0].content as string;
  t.match(dropIn, /^Environment="?ETCD_ENABLE_V2=true"?$/m, 'v2 API on: fleet needs it');
  t.match(dropIn, /^Environment="?ETCD_NAME=etcd1"?$/m);
  t.match(dropIn, /^Environment="?ETCD_INITIAL_CLUSTER=etcd1=https:\/\/10\.0\.0\.11:2380,/m);
  t.match(dropIn, /^Environment="?ETCD_ADVERTISE_CLIENT_URLS=https:\/\/\$private_ipv4:2379"?$/m, 'cloudinit substitutes $private_ipv4; https like etcd.endpoints');
  t.match(dropIn, /^Environment="?ETCD_LISTEN_PEER_URLS=https:\/\/0\.0\.0\.0:2380"?$/m, 'peers over TLS too');
  for (const k of ['ETCD_TRUSTED_CA_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE', 'ETCD_PEER_TRUSTED_CA_FILE', 'ETCD_PEER_CERT_FILE', 'ETCD_PEER_KEY_FILE']) {
    t.match(dropIn, new RegExp(`^Environment="?${k}=/etc/ssl/etcd/`, 'm'), `${k}: the spec's file`);
  }
  t.match(dropIn, /^Environment="?ETCD_CLIENT_CERT_AUTH=true"?$/m);
  const flannel = unitNamed(doc.coreos.units, 'flanneld.service')['drop-ins'][0].content as string;
  t.match(flannel, /ETCDCTL_API=3/, 'flannel ≥0.18 reads its config through the v3 API');
  t.match(flannel, /put \/coreos\.com\/network\/config "\{\\"Network\\":\\"10\.2\.0\.0\/16\\",\\"SubnetLen\\":24,\\"Backend\\":\{\\"Type\\":\\"vxlan\\"\}\}"/, 'Network, SubnetLen and Backend are always set');
  for (const name of ['docker.service', 'fleetkit-agent-shop.service', 'fleetkit-hosts-shop.service', 'fleetkit-install.service']) {
    t.equal(unitNamed(doc.coreos.units, name).command, 'start', `${name} starts`);
  }
  t.match(unitNamed(doc.coreos.units, 'fleetkit-install.service').content, /^ExecStart=\/usr\/bin\/docker pull registry\.example\.com\/fleetkit:0\.1\.0$/m, 'image form: the image is pulled before the fleetkit units');
  for (const f of doc.write_files as Doc[]) t.type(f.permissions, 'string', `${f.path}: permissions is a string`);
});

t.test('butane: pinned key lines', async (t) => {
  const r = await cloudConfig(cases[4]!.args);
  const doc = parse(r.stdout) as Doc;
  t.equal(doc.variant, 'fcos');
  t.equal(doc.version, '1.7.0');
  const units = doc.systemd.units as Doc[];
  t.equal(unitNamed(units, 'etcd-member.service').enabled, true);
  t.match(unitNamed(units, 'etcd-member.service').contents, /--env-file=\/etc\/fleetkit\/etcd-member\.env/);
  const env = (doc.storage.files as Doc[]).find((f) => f.path === '/etc/fleetkit/etcd-member.env')!;
  t.match(env.contents.inline, /^ETCD_DISCOVERY=https:\/\/discovery\.etcd\.io\/0123abcd$/m);
  t.match(env.contents.inline, /^ETCD_ADVERTISE_CLIENT_URLS=https:\/\/10\.0\.0\.11:2379$/m, '--ip is used where Butane cannot substitute');
  t.match(unitNamed(units, 'etcd-member.service').contents, /--volume=\/etc\/ssl\/etcd\/ca\.pem:\/etc\/ssl\/etcd\/ca\.pem:ro/, 'the TLS files are mounted into the member');
  t.equal(env.mode, 0o644);
  t.equal((doc.storage.files as Doc[]).find((f) => f.path === '/etc/hostname')!.contents.inline, 'etcd1\n');
});

t.test('the schemas reject what the machine would reject', async (t) => {
  const cc = parse((await cloudConfig([SEED, '--target', 'legacy'])).stdout) as Doc;
  const asCloudConfig = (d: Doc): string => `#cloud-config\n${stringify(d)}`;
  const mutate = (f: (d: Doc) => void): Doc => {
    const d = structuredClone(cc);
    f(d);
    return d;
  };
  t.same(bootDocumentProblems('cloud-config', asCloudConfig(cc)), [], 'the unmodified document passes');
  t.same(bootDocumentProblems('cloud-config', stringify(cc)), ['the first line must be exactly "#cloud-config"']);
  t.match(bootDocumentProblems('cloud-config', asCloudConfig(mutate((d) => { d.coreos.fleet.metdata = 'x=y'; }))), [/coreos\.fleet: unknown key "metdata"/]);
  t.match(bootDocumentProblems('cloud-config', asCloudConfig(mutate((d) => { d.coreos.units[0].command = 'begin'; }))), [/coreos\.units\[0\]\.command: must be one of "start"/]);
  t.match(bootDocumentProblems('cloud-config', asCloudConfig(mutate((d) => { d.write_files[0].permissions = '0964'; }))), [/write_files\[0\]\.permissions: malformed value/]);
  t.match(bootDocumentProblems('cloud-config', asCloudConfig(mutate((d) => { d.write_files[0].permissions = 420; }))), [/write_files\[0\]\.permissions: expected string/]);
  t.match(bootDocumentProblems('cloud-config', asCloudConfig(mutate((d) => { d.coreos.units[0].enable = 'yes'; }))), [/coreos\.units\[0\]\.enable: expected boolean/]);
  t.same(bootDocumentProblems('cloud-config', asCloudConfig(mutate((d) => { d.coreos['units'] = d.coreos.units.map((u: Doc) => { const { command, ...rest } = u; return command ? { ...rest, command } : rest; }); d['ssh-authorized-keys'] = ['ssh-ed25519 AAAA k']; }))), [], 'dashes and underscores in keys are the same to cloudinit');

  const bu = parse((await cloudConfig([LARGE, '--format', 'butane', '--role', 'web'])).stdout) as Doc;
  t.same(bootDocumentProblems('butane', stringify(bu)), []);
  t.match(bootDocumentProblems('butane', stringify({ ...bu, version: '1.4.0' })), [/version: must be one of "1\.7\.0"/]);
  const badMode = structuredClone(bu);
  badMode.storage.files[0].mode = '0644';
  t.match(bootDocumentProblems('butane', stringify(badMode)), [/storage\.files\[0\]\.mode: expected (int|number)/]);
  const unknown = structuredClone(bu);
  unknown.systemd.units[0].content = 'x';
  t.match(bootDocumentProblems('butane', stringify(unknown)), [/systemd\.units\[0\]: unknown key "content"/]);
});

t.test('metadata no role can satisfy is warned about', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fk-cc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const spec = readFileSync(join(root, LARGE), 'utf8').replace('constraints: ["node.labels.disk == ssd"]', 'constraints: ["node.labels.disk == nvme"]');
  writeFileSync(join(dir, 'cluster.yaml'), spec);
  for (const f of ['web.env', 'db.env']) copyFileSync(join(root, 'examples/large', f), join(dir, f));
  const r = await cloudConfig([join(dir, 'cluster.yaml'), '--role', 'web']);
  t.equal(r.code, 0);
  t.match(r.stderr, /warning: service "db" needs machine metadata role=db and disk=nvme, which no role \(etcd, web, db\) has/);
  const ok = await cloudConfig([FLEET, '--role', 'web']);
  t.equal(ok.stderr, '', 'no warning when every service can be placed (and fleet is installed)');
});

t.test('secrets: embedded only on request, in files of mode 0600', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fk-cc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['ca.pem', 'client.pem', 'client-key.pem']) writeFileSync(join(dir, f), `-----BEGIN ${f}-----\nSECRET-${f}\n`);
  const spec = readFileSync(join(root, LARGE), 'utf8').replaceAll('/etc/ssl/etcd/', `${dir}/`);
  writeFileSync(join(dir, 'cluster.yaml'), spec);
  for (const f of ['web.env', 'db.env']) copyFileSync(join(root, 'examples/large', f), join(dir, f));
  const plain = await cloudConfig([join(dir, 'cluster.yaml'), '--role', 'web']);
  t.notMatch(plain.stdout, /SECRET-/, 'without --embed-secrets no secret is read into the output');
  const out = join(dir, 'user-data');
  const r = await cloudConfig([join(dir, 'cluster.yaml'), '--role', 'web', '--embed-secrets', '-o', out]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '', 'nothing on stdout with -o');
  t.notMatch(r.stderr, /SECRET-/, 'secrets are never echoed');
  t.equal(statSync(out).mode & 0o777, 0o600, 'an output holding secrets is not world-readable');
  const doc = parse(readFileSync(out, 'utf8')) as Doc;
  const key = (doc.write_files as Doc[]).find((f) => f.path === `${dir}/client-key.pem`)!;
  t.equal(key.permissions, '0600');
  t.match(key.content, /SECRET-client-key\.pem/);
});

t.test('bad input reads as plain sentences, exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fk-cc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rows: Array<[string[], RegExp]> = [
    [[LARGE, '--role', 'cache'], /role "cache" is not defined in examples\/large\/cluster\.yaml\n  hint: known roles: etcd, web, db/],
    [[LARGE, '--metadata', 'region'], /--metadata: "region" is not a key=value pair/],
    [[LARGE, '--metadata', 'a=b=c'], /--metadata: "a=b=c" is not a key=value pair/],
    [[LARGE, '--ssh-key', join(dir, 'missing.pub')], /cannot read SSH key file .*missing\.pub: ENOENT/],
    [[LARGE, '--role', 'etcd', '--discovery', 'discovery.etcd.io/abc'], /--discovery: "discovery\.etcd\.io\/abc" is not a URL/],
    [[LARGE, '--role', 'etcd', '--discovery', 'ftp://x/y'], /--discovery: "ftp:\/\/x\/y" must be an http or https URL/],
    [[LARGE, '--role', 'etcd'], /role "etcd" runs an etcd member, which needs --discovery URL or --initial-cluster/],
    [[LARGE, '--role', 'etcd', '--initial-cluster', 'm1=https://10.0.0.1:2380', '--etcd-name', 'm2'], /--etcd-name "m2" is not one of the members in --initial-cluster/],
    [[LARGE, '--role', 'etcd', '--initial-cluster', 'm1'], /--initial-cluster: "m1" is not NAME=URL/],
    [[LARGE, '--format', 'ignition'], /--format must be cloud-config or butane, not "ignition"/],
    [[LARGE, '--format', 'butane', '--role', 'etcd', '--discovery', 'https://d/x'], /Butane output for an etcd member needs --ip/],
    [[join(dir, 'nope.yaml')], /cannot read spec .*nope\.yaml: ENOENT/],
  ];
  for (const [args, message] of rows) {
    const r = await cloudConfig(args);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, message, args.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    t.equal(r.stdout, '', 'nothing written to stdout');
  }
});

t.test('binary form: fetched, checked against its sha256, and fetched again when the sha256 changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fk-cc-binary-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const install = async (sha: string): Promise<{ unit: string; sums: string }> => {
    const spec = join(dir, 'cluster.yaml');
    writeFileSync(spec, readFileSync(join(root, FLEET), 'utf8') +
      `runtime:\n  fleetkit:\n    binary: /opt/bin/fleetkit\n    url: https://downloads.example.com/fleetkit-linux-x64\n    sha256: ${sha}\n`);
    const r = await cloudConfig([spec]);
    t.equal(r.code, 0, r.stderr);
    const doc = parse(r.stdout) as Doc;
    t.same(bootDocumentProblems('cloud-config', r.stdout), []);
    const sums = (doc.write_files as Doc[]).find((f) => f.path === '/etc/fleetkit/fleetkit.sha256');
    return { unit: unitNamed(doc.coreos.units, 'fleetkit-install.service').content as string, sums: String(sums?.content) };
  };
  const a = 'a'.repeat(64);
  const { unit, sums } = await install(a);
  t.equal(sums, `${a}  /opt/bin/fleetkit.download\n`, 'the checksum file names the download, not the installed binary');
  // Run when the binary is missing OR this sha256 was never installed: both conditions are triggering (`|`).
  t.match(unit, /^ConditionPathExists=\|!\/opt\/bin\/fleetkit$/m);
  t.match(unit, new RegExp(`^ConditionPathExists=\\|!/var/lib/fleetkit/installed-${a}$`, 'm'));
  t.notMatch(unit, /^ConditionPathExists=![^|]/m, 'no plain condition that would keep an old binary forever');
  const steps = [...unit.matchAll(/^ExecStart=(\S+)/gm)].map((m) => m[1]);
  t.same(steps, ['/usr/bin/mkdir', '/usr/bin/curl', '/usr/bin/sha256sum', '/usr/bin/chmod', '/usr/bin/mv', '/usr/bin/touch'],
    'fetch, check, then install; the stamp is written last, only after the checked binary is in place');
  t.match(unit, /^Before=fleetkit-agent-shop\.service fleetkit-hosts-shop\.service$/m);
  const b = 'b'.repeat(64);
  const next = await install(b);
  t.match(next.unit, new RegExp(`^ConditionPathExists=\\|!/var/lib/fleetkit/installed-${b}$`, 'm'), 'a new sha256 names a new stamp, so the new binary is fetched at the next boot');
});

t.test('fleet: the OS\'s own on Container Linux, installed from the spec\'s release elsewhere, else none and a warning', async (t) => {
  await t.test('legacy (Container Linux): the classic coreos.fleet section, with the role\'s metadata', async (t) => {
    const r = await cloudConfig([SEED, '--target', 'legacy', '--metadata', 'rack=r7']);
    t.equal(r.code, 0, r.stderr);
    const doc = parse(r.stdout) as Doc;
    t.same(doc.coreos.fleet, { metadata: 'rack=r7', public_ip: '$public_ipv4', etcd_servers: 'http://127.0.0.1:2379' });
    t.same(unitNamed(doc.coreos.units, 'fleet.service'), { name: 'fleet.service', command: 'start' }, 'the OS\'s fleet.service, started as it is');
    t.notOk((doc.coreos.units as Doc[]).some((u) => u.name === 'fleet-install.service'), 'nothing installed');
  });

  const fleetUnits = (units: Doc[], key: 'content' | 'contents'): Record<string, string> =>
    Object.fromEntries(['fleet-install.service', 'fleet.socket', 'fleet.service'].map((n) => [n, unitNamed(units, n)[key] as string]));
  const checkInstalled = (t: Test, u: Record<string, string>, publicIp: string | undefined): void => {
    const service = u['fleet.service']!;
    t.match(service, /^ExecStart=\/opt\/bin\/fleetd$/m);
    t.match(service, /^Requires=fleet-install\.service fleet\.socket$/m, 'fleetd runs only once installed, and with its socket');
    // fleetd reads FLEET_<option> variables (fleetd.go: globalconf, EnvPrefix "FLEET_").
    const env = [...service.matchAll(/^Environment=(.*)$/gm)].map((m) => m[1]!.replace(/^"(.*)"$/, '$1'));
    t.same(env, [
      'FLEET_ETCD_SERVERS=https://10.0.0.11:2379,https://10.0.0.12:2379',
      'FLEET_ETCD_CAFILE=/etc/ssl/etcd/ca.pem',
      'FLEET_ETCD_CERTFILE=/etc/ssl/etcd/client.pem',
      'FLEET_ETCD_KEYFILE=/etc/ssl/etcd/client-key.pem',
      'FLEET_METADATA=role=web,region=east',
      ...(publicIp ? [`FLEET_PUBLIC_IP=${publicIp}`] : []),
    ], 'the cluster\'s etcd with the same TLS files as flannel and fleetkit, and the role\'s metadata');
    t.match(u['fleet.socket'], /^ListenStream=\/var\/run\/fleet\.sock$/m, 'fleetd serves its API only on a socket systemd hands it');
    const install = u['fleet-install.service']!;
    t.match(install, /ExecStart=\/usr\/bin\/curl -fsSL --retry 5 -o \S+ https:\/\/downloads\.example\.com\/fleet\/fleet-v1\.0\.0-linux-amd64\.tar\.gz$/m, 'the spec\'s URL');
    const steps = [...install.matchAll(/^ExecStart=\/usr\/bin\/(\S+)/gm)].map((m) => m[1]);
    t.same(steps, ['rm', 'mkdir', 'curl', 'sha256sum', 'tar', 'chmod', 'mv', 'rm', 'touch'], 'checked before it is unpacked; moved into place only after the check; the stamp last');
  };

  await t.test('current (Flatcar): fleet-install, fleet.socket and fleet.service; no coreos.fleet', async (t) => {
    const r = await cloudConfig([FLEET, '--role', 'web']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '');
    const doc = parse(r.stdout) as Doc;
    t.equal(doc.coreos.fleet, undefined);
    checkInstalled(t, fleetUnits(doc.coreos.units, 'content'), '$public_ipv4');
    const sums = (doc.write_files as Doc[]).find((f) => f.path === '/etc/fleetkit/fleet.sha256');
    t.equal(sums?.content, '0f5c5a6e2d1b4c3a29180716f5e4d3c2b1a09f8e7d6c5b4a3928171605f4e3d2  /var/lib/fleetkit/fleet.download/fleet.tar.gz\n', 'the spec\'s sha256, against the download');
    for (const n of ['fleet-install.service', 'fleet.socket', 'fleet.service']) t.equal(unitNamed(doc.coreos.units, n).command, 'start', `${n} starts`);
  });

  await t.test('Fedora CoreOS (Butane): the same install, fleetd finds its address itself unless --ip', async (t) => {
    const withIp = parse((await cloudConfig([FLEET, '--format', 'butane', '--role', 'web', '--ip', '10.0.0.21'])).stdout) as Doc;
    checkInstalled(t, fleetUnits(withIp.systemd.units, 'contents'), '10.0.0.21');
    const r = await cloudConfig([FLEET, '--format', 'butane', '--role', 'web']);
    t.equal(r.code, 0, r.stderr);
    checkInstalled(t, fleetUnits((parse(r.stdout) as Doc).systemd.units, 'contents'), undefined);
    t.notMatch(r.stdout, /quay\.io\/coreos\/fleet/, 'no fleet image of fleetkit\'s choosing');
  });

  await t.test('no release named: no fleet at all, and a warning that says why and what to do', async (t) => {
    for (const args of [[SEED], [SEED, '--format', 'butane']]) {
      const r = await cloudConfig(args);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stderr, args.length > 1 ? /these machines get no fleet: Fedora CoreOS ships none/ : NO_FLEET);
      t.match(r.stderr, /give url: and sha256: of a fleet release tarball, or run the units with fleetkit load --systemd/);
      t.notMatch(r.stdout, /fleet\.service|fleetd/, `${args.join(' ')}: no fleet unit`);
    }
  });

  await t.test('a release needs both url and sha256, each well-formed: located, exit 2', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fk-cc-fleet-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const text = readFileSync(join(root, FLEET), 'utf8');
    const rows: Array<[string, RegExp]> = [
      [text.replace(/^    sha256: .*\n/m, ''), /fleet-release\.yaml:\d+:\d+: x-fleetkit\.fleet: a fleet release needs sha256/],
      [text.replace(/^    url: .*\n/m, ''), /x-fleetkit\.fleet: a fleet release needs url:/],
      [text.replace(/sha256: 0f5c\S+/, 'sha256: 0F5C'), /x-fleetkit\.fleet\.sha256: expected 64 lower-case hex digits/],
      [text.replace(/url: https:\S+/, 'url: ftp://x/fleet.tar.gz'), /x-fleetkit\.fleet\.url: expected an http\(s\) URL of a fleet release tarball, got "ftp:\/\/x\/fleet\.tar\.gz"/],
      [text.replace('  fleet:\n', '  fleet:\n    version: 1.0.0\n'), /x-fleetkit\.fleet: unknown key "version"|x-fleetkit\.fleet\.version/],
    ];
    for (const [spec, message] of rows) {
      writeFileSync(join(dir, 'fleet-release.yaml'), spec);
      const r = await cloudConfig([join(dir, 'fleet-release.yaml'), '--role', 'web']);
      t.equal(r.code, 2, r.stderr);
      t.match(r.stderr, message);
      t.equal(r.stdout, '');
    }
  });
});
