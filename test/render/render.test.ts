// renderCluster's pieces and its refusals: docker flag mapping, specifier safety, the checks behind the
// spec loader (line length, [X-Fleet] combinations fleet rejects, line breaks), and the sync plan.
import t from 'tap';
import { parseSpec } from '../../src/cluster/load.js';
import type { ClusterSpec, PortSpec, ServiceSpec } from '../../src/cluster/types.js';
import { renderCluster } from '../../src/render/render.js';
import { dockerRunArgs, healthArgs, portArg, shellWord } from '../../src/render/docker-run-args.js';
import { planSync } from '../../src/render/sync-plan.js';
import { valuesOf } from '../../src/unit/model.js';
import { parseCommandLine } from '../../src/unit/parse-command-line.js';

const base = parseSpec('name: t\nservices:\n  web:\n    image: local/busybox:latest\n', 'cluster.yaml');
const web = base.services[0]!;
const withService = (patch: Partial<ServiceSpec>): ClusterSpec => ({ ...base, services: [{ ...web, ...patch }] });

t.test('ports map onto docker -p', async (t) => {
  const p = (x: Partial<PortSpec>): PortSpec => ({ hostIp: undefined, host: undefined, container: 80, count: 1, protocol: 'tcp', ...x });
  t.equal(portArg(p({})), '80');
  t.equal(portArg(p({ host: 8080 })), '8080:80');
  t.equal(portArg(p({ hostIp: '127.0.0.1' })), '127.0.0.1::80', 'address without host port keeps the empty field');
  t.equal(portArg(p({ hostIp: '127.0.0.1', host: 8080 })), '127.0.0.1:8080:80');
  t.equal(portArg(p({ hostIp: '::1', host: 8080 })), '[::1]:8080:80', 'IPv6 in brackets');
  t.equal(portArg(p({ host: 5000, container: 6000, count: 3, protocol: 'udp' })), '5000-5002:6000-6002/udp');
});

t.test('health checks: exec form becomes a shell line that execs the same words', async (t) => {
  const h = { interval: undefined, timeout: undefined, retries: undefined, startPeriod: undefined, startInterval: undefined };
  t.strictSame(healthArgs({ ...h, test: ['NONE'] }), ['--no-healthcheck']);
  t.strictSame(healthArgs({ ...h, test: ['CMD-SHELL', 'pg_isready || exit 1'], retries: 2 }), ['--health-cmd', 'pg_isready || exit 1', '--health-retries', '2']);
  t.strictSame(healthArgs({ ...h, test: ['CMD', 'echo', "it's", 'a b', '$HOME'] }), ['--health-cmd', "exec echo 'it'\\''s' 'a b' '$HOME'"]);
  t.strictSame(healthArgs({ ...h, test: ['CMD-SHELL', 'true'], startPeriod: 30, startInterval: 2 }), ['--health-cmd', 'true', '--health-start-period', '30s', '--health-start-interval', '2s']);
  t.equal(shellWord('plain-1.2:/x=y'), 'plain-1.2:/x=y');
  t.equal(shellWord(''), "''");
});

t.test('an entrypoint list: first word to --entrypoint, the rest before the command', async (t) => {
  const args = dockerRunArgs({ ...web, entrypoint: ['/sbin/tini', '--'], command: ['httpd', '-f'] }, 'web-1');
  t.strictSame(args.slice(-6), ['--entrypoint', '/sbin/tini', 'local/busybox:latest', '--', 'httpd', '-f']);
  const cleared = dockerRunArgs({ ...web, entrypoint: [] }, 'web-1');
  t.strictSame(cleared.slice(-3), ['--entrypoint', '', 'local/busybox:latest'], 'an empty entrypoint clears the image one');
});

t.test('a value that looks like a specifier stays literal; only the documented placeholders are live', async (t) => {
  const spec = parseSpec('name: t\nservices:\n  web:\n    image: local/busybox:latest\n    environment: { A: "%i %H %n" }\n    x-announce: true\n', 'cluster.yaml');
  const svc = spec.services[0]!;
  const odd = { ...spec, services: [{ ...svc, announce: { ...svc.announce!, key: '/services/t/%i/%n%', hostname: 'web-%i' } }] };
  const files = renderCluster(odd).files;
  const run = valuesOf(files.find((f) => f.name === 'web@.service')!.unit, 'Service', 'ExecStart')[0]!;
  t.ok(parseCommandLine(run, { specifiers: { i: '7', n: 'web@7.service' } }).includes('A=%i %H %n'), 'environment keeps %i %H %n literally');
  const side = valuesOf(files.find((f) => f.name === 'web-discovery@.service')!.unit, 'Service', 'ExecStart')[0]!;
  const argv = parseCommandLine(side, { specifiers: { i: '7', H: 'h' } });
  t.equal(argv[argv.indexOf('--key') + 1], '/services/t/7/%n%', '%i resolved, %n and a lone % literal');
  t.equal(argv[argv.indexOf('--hostname') + 1], 'web-7');
  t.equal(argv[argv.indexOf('--container') + 1], 'web-7');
});

t.test('the reserved marker character in a spec is refused', async (t) => {
  t.throws(() => renderCluster(withService({ environment: [['A', 'x\uE000iy']] })), { code: 'ERR_UNIT_RESERVED_CHAR' });
});

t.test('a line over fleet\'s 2048 bytes is refused, naming the directive', async (t) => {
  t.throws(() => renderCluster(withService({ environment: [['BIG', 'x'.repeat(3000)]] })), {
    code: 'ERR_UNIT_LINE',
    message: /web@\.service.*ExecStart/s,
  });
});

t.test('[X-Fleet] combinations fleet rejects never leave the renderer', async (t) => {
  const fleet = { ...web.fleet, global: true, machineID: '0123456789abcdef0123456789abcdef' };
  t.throws(() => renderCluster(withService({ fleet })), { code: 'ERR_UNIT_XFLEET', message: /MachineID cannot be used with Global/ });
  const both = { ...web.fleet, conflicts: ['a*.service'], replaces: 'b.service' };
  t.throws(() => renderCluster(withService({ fleet: both })), { code: 'ERR_UNIT_XFLEET', message: /Conflicts cannot be used with Replaces/ });
  const glob = { ...web.fleet, machineOf: ['api@*.service'] };
  t.throws(() => renderCluster(withService({ fleet: glob })), { code: 'ERR_UNIT_XFLEET', message: /web@\.service: \[X-Fleet\] MachineOf=api@\*\.service/ }, 'a value fleet ignores');
});

t.test('a line break in an x-systemd entry cannot inject a directive', async (t) => {
  t.throws(() => renderCluster(withService({ systemd: [['Service', 'Nice', '5\nExecStartPost=/bin/evil']] })), {
    code: 'ERR_UNIT_NEWLINE',
  });
});

t.test('restart policies map onto Restart=', async (t) => {
  for (const [compose, systemd] of [['no', 'no'], ['always', 'always'], ['on-failure', 'on-failure'], ['unless-stopped', 'always']] as const) {
    const unit = renderCluster(withService({ restart: compose })).files.find((f) => f.name === 'web@.service')!.unit;
    t.strictSame(valuesOf(unit, 'Service', 'Restart'), [systemd], compose);
  }
});

t.test('rendering is deterministic', async (t) => {
  const spec = parseSpec('name: t\nservices:\n  a: { image: x, scale: 3, x-announce: true, ports: ["80"] }\n  b: { image: y }\n', 'c.yaml');
  t.strictSame(renderCluster(spec), renderCluster(spec));
});

t.test('the sync plan: missing, changed, unchanged, and stale only when fleetkit generated it for this cluster', async (t) => {
  const files = renderCluster(base).files;
  const onDisk = new Map<string, string>([
    ['web@.service', files.find((f) => f.name === 'web@.service')!.text],
    ['fleetkit-agent-t.service', 'edited\n'],
    ['old@.service', '# Generated by fleetkit gen-units from cluster.yaml; do not edit.\n[Unit]\n\n[X-Fleetkit]\nCluster=t\n'],
    ['shop-web@.service', '# Generated by fleetkit gen-units from cluster.yaml; do not edit.\n[Unit]\n\n[X-Fleetkit]\nCluster=shop\n'],
    ['mine.service', '[Unit]\nDescription=hand-written\n'],
  ]);
  const plan = planSync(files, onDisk, 't');
  t.strictSame(plan.unchanged.map((f) => f.path), ['web@.service']);
  t.strictSame(plan.changed.map((f) => f.path), ['fleetkit-agent-t.service']);
  t.strictSame(plan.missing.map((f) => f.path), ['fleetkit-hosts-t.service']);
  t.strictSame(plan.stale, ['old@.service']);
});
