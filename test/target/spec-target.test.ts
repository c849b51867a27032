// The target as the user names it: `x-fleetkit.target` in cluster.yaml and `--target` on gen-units and
// cloud-config; bad values located with a hint (exit 2); x-systemd asks the target cannot meet warned about.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inTreeCli } from '../ship/in-tree.js';
import { parseSpec } from '../../src/cluster/load.js';
import { SpecError, formatProblem } from '../../src/errors.js';
import { renderCluster } from '../../src/render/render.js';

const SPEC = `name: demo
services:
  web:
    image: local/httpd:latest
    ports: ["8080:8080"]
    x-announce: true
`;

async function run(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await inTreeCli(argv, cwd);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

t.test('x-fleetkit.target selects the units', async (t) => {
  t.equal(parseSpec(SPEC, 'c.yaml').target, 'current', 'default');
  const legacy = renderCluster(parseSpec(`x-fleetkit:\n  target: legacy\n${SPEC}`, 'c.yaml'));
  const text = legacy.files.map((f) => f.text).join('\n');
  t.notMatch(text, /^Upholds=/m);
  t.notMatch(text, /--pull|--init/);
  t.match(text, /^Requires=web@%i\.service$/m);
  const current = renderCluster(parseSpec(SPEC, 'c.yaml')).files.map((f) => f.text).join('\n');
  t.match(current, /^Wants=web-discovery@%i\.service$/m);
  t.notMatch(current, /^Upholds=/m, 'Upholds= would start the sidekick again when fleet stops it before its container unit');
  t.match(current, / --pull=missing -p /);
  t.notMatch(current, /--init/, '--init only with init: true');
  // Refused when the file is read, at the key's line (test/cluster/target-keys.test.ts has the locations).
  t.throws(() => parseSpec(`x-fleetkit:\n  target: legacy\n${SPEC}    init: true\n`, 'c.yaml'), { code: 'ERR_SPEC', message: /services\.web\.init: docker run --init needs Docker 1\.13; target legacy has Docker 1\.12/ }, 'init: true asked for is not dropped silently');
  t.throws(() => parseSpec(`${SPEC}    healthcheck: { test: [CMD, "true"], start_interval: 2s }\n`, 'c.yaml'), { code: 'ERR_SPEC', message: /services\.web\.healthcheck\.start_interval: docker run --health-start-interval needs Docker 25\.0; target current has Docker 20\.10/ });
  const gpus = renderCluster(parseSpec(`${SPEC}    x-docker: { args: [--annotation, com.example=1] }\n`, 'c.yaml'));
  t.match(gpus.warnings, [/^web@\.service: x-docker\.args: docker run --annotation is not in fleetkit's table of docker flags/], 'x-docker.args: unchecked flags are a warning, not an error');
  t.notOk(gpus.warnings.some((w) => w.includes('passed through unchecked')), 'current: no blanket warning');
  // Known to the table and old enough, yet on legacy still unchecked: the value is docker's to read.
  const legacyArgs = renderCluster(parseSpec(`x-fleetkit:\n  target: legacy\n${SPEC}    x-docker: { args: [--memory, 64m] }\n`, 'c.yaml'));
  t.match(legacyArgs.warnings, [/^web@\.service: x-docker\.args --memory 64m passed through unchecked; target legacy has Docker 1\.12/]);
  t.equal(legacyArgs.warnings.filter((w) => w.includes('x-docker')).length, 1, 'once, for the container unit');
});

t.test('an unknown target is a located spec problem with the choices', async (t) => {
  const err = (() => {
    try {
      parseSpec(`name: demo\nx-fleetkit: { target: coreos }\nservices: { web: { image: nginx } }\n`, 'c.yaml');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.type(err, SpecError);
  const problems = (err as SpecError).problems.map(formatProblem);
  t.equal(problems.length, 1);
  t.match(problems[0], /^c\.yaml:2:23: x-fleetkit\.target: unknown target "coreos"/);
  t.match(problems[0], /current: systemd ≥ 252, Docker ≥ 20\.10.*legacy: systemd ≥ 231, Docker ≥ 1\.12/s);
});

t.test('x-systemd: a directive the target lacks is a warning naming the version; legacy warns about every entry', async (t) => {
  const spec = parseSpec(`name: demo
services:
  web:
    image: local/httpd:latest
    x-systemd:
      Unit: { Upholds: [other.service] }
      Service: { RestartSteps: "3", TimeoutStartSec: "0" }
`, 'c.yaml');
  const legacy = renderCluster({ ...spec, target: 'legacy' }).warnings;
  t.strictSame(legacy.filter((w) => w.includes('needs')).map((w) => w.replace(/ \(.*\)$/, '')), [
    'web@.service: x-systemd Unit.Upholds= needs systemd 249; target legacy has systemd 231',
    'web@.service: x-systemd Service.RestartSteps= needs systemd 254; target legacy has systemd 231',
  ]);
  t.ok(legacy.some((w) => /x-systemd Unit\.Upholds, Service\.RestartSteps, Service\.TimeoutStartSec passed through unchecked; target legacy/.test(w)), 'legacy: every entry');
  const current = renderCluster(spec).warnings;
  t.strictSame(current.map((w) => w.replace(/ \(.*\)$/, '')), ['web@.service: x-systemd Service.RestartSteps= needs systemd 254; target current has systemd 252']);
});

t.test('a Compose key the target cannot carry is refused, naming the version', async (t) => {
  const spec = parseSpec(`name: demo
services:
  web:
    image: local/httpd:latest
    healthcheck: { test: ["CMD", "true"], start_period: 30s }
`, 'c.yaml');
  t.throws(() => renderCluster({ ...spec, target: 'legacy' }), { code: 'ERR_UNIT_TARGET', message: /web@\.service: docker run --health-start-period needs Docker 17\.05; target legacy has Docker 1\.12/ });
  t.doesNotThrow(() => renderCluster(spec));
});

t.test('gen-units --target and cloud-config --target', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetkit-target-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cluster.yaml'), SPEC);
  const legacy = await run(dir, 'gen', '--stdout', '--target', 'legacy');
  t.equal(legacy.code, 0);
  t.notMatch(legacy.out, /Upholds=|--pull/);
  const bad = await run(dir, 'gen', '--stdout', '--target', 'ancient');
  t.equal(bad.code, 2);
  t.match(bad.err, /unknown --target "ancient"/);
  t.match(bad.err, /current, legacy/);
  const help = await run(dir, 'gen', '--help');
  t.match(help.out, /--target NAME[\s\S]*legacy: systemd ≥ 231, Docker ≥ 1\.12 \(CoreOS Container Linux with fleet\)/);
  const cc = await run(dir, 'cloud-config', '--target', 'nope');
  t.equal(cc.code, 2);
  t.match(cc.err, /unknown --target "nope"/);
});

t.test('load --target: the spec rendered for those hosts reaches fleet; --target needs a spec', async (t) => {
  const { fleetLoadScratch, machineId } = await import('../cli/fleet-load.js');
  const scratch = await fleetLoadScratch(t, 'target');
  const server = await scratch.server(t, [{ id: machineId(1), primaryIP: '127.0.0.1', metadata: {} }]);
  writeFileSync(join(scratch.root, 'cluster.yaml'), SPEC);
  const r = await scratch.load(server, 'load', 'cluster.yaml', '--target', 'legacy', '--no-wait');
  t.equal(r.code, 0, r.stderr);
  const sidekick = server.units().find((u) => u.name === 'web-discovery@1.service');
  // fleet keeps %i in the options (systemd resolves it on the machine).
  t.ok(sidekick?.options.some((o) => o.section === 'Unit' && o.name === 'Requires' && o.value === 'web@%i.service'), 'the legacy sidekick');
  t.notOk(server.units().some((u) => u.options.some((o) => o.name === 'Upholds')), 'no Upholds= in fleet');
  const bad = await scratch.load(server, 'load', 'cluster.yaml', '--target', 'old');
  t.equal(bad.code, 2);
  t.match(bad.stderr, /fleetkit load: unknown --target "old"/);
  const names = await scratch.load(server, 'stop', 'web@1.service', '--target', 'legacy');
  t.equal(names.code, 2);
  t.match(names.stderr, /--target needs a SPEC/);
});
