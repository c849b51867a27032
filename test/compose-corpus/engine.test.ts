// A representative part of the Compose corpus on the real engine: the rendered container units start under
// the test environment's systemd and dockerd, and `docker inspect` shows what the Compose file means
// (argv, environment, mounts, ports, health check, and the one-flag keys). Every image name the files use is
// the local busybox with a probe entrypoint that waits for the file's stop signal, so any command runs.
// The files: wordpress-mysql (secrets, named volumes, exec-form check, expose, ports, two services) and
// nginx-configs (configs, long-syntax bind and tmpfs, stop signal). hardened-api and rabbitmq (limits,
// ulimits) do not start in the test environment's nested engine (runc cannot apply them there), so their
// flags are pinned by the goldens and compose-keys.test.ts only.
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerPart, systemdPart, waitFor } from '../env/parts.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const [docker, sd] = await Promise.all([dockerPart(t), systemdPart(t)]);
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-corpus-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// The files beside each cluster file that its relative paths name.
const BESIDE: Record<string, string[]> = {
  'wordpress-mysql': ['secrets/db_root_password.txt', 'secrets/db_password.txt'],
  'nginx-configs': ['nginx/nginx.conf', 'nginx/conf.d/site.conf', 'html/index.html'],
};

const specs = Object.entries(BESIDE).map(([name, files]) => {
  const file = join(dir, name, 'compose.yaml');
  for (const f of files) {
    mkdirSync(dirname(join(dir, name, f)), { recursive: true });
    writeFileSync(join(dir, name, f), `${f}\n`);
  }
  const spec = parseSpec(readFileSync(`${here}files/${name}.yaml`, 'utf8'), file);
  // The cluster's containers' hosts file in the run's own dir, made before anything mounts it, as watch-hosts
  // makes it on a host.
  const containers = join(dir, name, 'containers-hosts');
  writeFileSync(containers, '127.0.0.1\tlocalhost\n');
  return { ...spec, hosts: { ...spec.hosts, containers } };
});

// The probe: waits until the stop signal the file names (TERM by default, INT, QUIT) and exits 0.
const src = `probe-src-${process.pid}`;
const probe = "#!/bin/sh\ntrap 'exit 0' TERM INT QUIT\nwhile :; do sleep 1; done\n";
/** Fails the setup with what the command said. */
const must = async (what: string, r: Promise<{ code: number | null; stderr: string }>): Promise<void> => {
  const done = await r;
  if (done.code !== 0) throw new Error(`${what}: ${done.stderr}`);
};
await must('write the probe', docker.docker(['run', '--name', src, docker.busyboxImage, 'sh', '-c', `printf '%s' "$0" > /probe && chmod 755 /probe`, probe]));
const probeImage = `fleetkit-probe:${process.pid}`;
await must('commit the probe image', docker.docker(['commit', '--change', 'ENTRYPOINT ["/probe"]', '--change', 'CMD []', src, probeImage]));
await docker.docker(['rm', src]);
const images = [...new Set(specs.flatMap((s) => s.services.map((x) => x.image)))];
for (const image of images) await must(`tag ${image}`, docker.docker(['tag', probeImage, image]));
t.teardown(() => docker.docker(['rmi', probeImage, ...images]));

const units = specs.flatMap((s) => renderCluster(s).files.filter((f) => !f.name.startsWith('fleetkit-') && !f.name.includes('-discovery')));
for (const f of units) writeFileSync(join(sd.unitDir, f.path), f.text);
await must('daemon-reload', sd.systemctl(['daemon-reload']));
const instances = specs.flatMap((s) => s.services.map((x) => `${x.name}@1.service`));
t.teardown(async () => {
  await sd.systemctl(['stop', ...instances]);
  for (const f of units) rmSync(join(sd.unitDir, f.path), { force: true });
  await sd.systemctl(['daemon-reload']);
});
await must(`start ${instances.join(', ')}`, sd.systemctl(['start', ...instances]));

type Inspect = { Config: Record<string, any>; HostConfig: Record<string, any>; Mounts: Array<Record<string, any>>; State: { Running: boolean } };
async function inspect(name: string, unit: string): Promise<Inspect> {
  let found: Inspect | undefined;
  await waitFor(async () => {
    if ((await sd.systemctl(['show', '-P', 'ActiveState', unit])).stdout.trim() === 'failed') throw new Error(`${unit} failed: ${(await sd.journalLines(unit, 5)).join(' | ')}`);
    const r = await docker.docker(['inspect', name]);
    found = r.code === 0 ? (JSON.parse(r.stdout) as Inspect[])[0] : undefined;
    return found?.State.Running === true;
  }, { what: `container ${name} running`, timeoutMs: 60_000 });
  return found!;
}
const mounts = (c: Inspect) => c.Mounts.map((m) => `${m.Type} ${m.Type === 'volume' ? m.Name : m.Source}:${m.Destination} ${m.RW ? 'rw' : 'ro'}`).sort();
const S = 1e9;

t.test('wordpress-mysql: secrets, named volumes, the exec-form check, the command after the probe', async (t) => {
  const db = await inspect('db-1', 'db@1.service');
  const wp = join(dir, 'wordpress-mysql');
  t.strictSame(db.Config.Entrypoint, ['/probe']);
  t.strictSame(db.Config.Cmd, ['--default-authentication-plugin=mysql_native_password']);
  t.ok(db.Config.Env.includes('MYSQL_PASSWORD_FILE=/run/secrets/db_password'));
  t.strictSame(mounts(db), [
    `bind ${wp}/containers-hosts:/etc/hosts ro`,
    `bind ${wp}/secrets/db_password.txt:/run/secrets/db_password ro`,
    `bind ${wp}/secrets/db_root_password.txt:/run/secrets/db_root_password ro`,
    'volume db_data:/var/lib/mysql rw',
  ]);
  t.strictSame(db.Config.Healthcheck, { Test: ['CMD-SHELL', 'exec mysqladmin ping -h 127.0.0.1 --silent'], Interval: 3 * S, StartPeriod: 30 * S, Retries: 5 });
  t.strictSame(Object.keys(db.Config.ExposedPorts).sort(), ['3306/tcp', '33060/tcp']);
  t.notOk(db.HostConfig.Init, 'no --init unless the file asks');
  const site = await inspect('wordpress-1', 'wordpress@1.service');
  t.strictSame(site.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  t.strictSame(mounts(site), [`bind ${wp}/containers-hosts:/etc/hosts ro`, `bind ${wp}/secrets/db_password.txt:/run/secrets/db_password ro`, 'volume wp_content:/var/www/html/wp-content rw']);
});

t.test('nginx-configs: configs read-only at their targets, long-syntax bind and tmpfs, the stop signal', async (t) => {
  const c = await inspect('nginx-1', 'nginx@1.service');
  const d = join(dir, 'nginx-configs');
  t.strictSame(mounts(c), [
    `bind ${d}/containers-hosts:/etc/hosts ro`,
    `bind ${d}/html:/usr/share/nginx/html ro`,
    `bind ${d}/nginx/conf.d/site.conf:/etc/nginx/conf.d/default.conf ro`,
    `bind ${d}/nginx/nginx.conf:/etc/nginx/nginx.conf ro`,
  ]);
  t.strictSame(c.HostConfig.Tmpfs, { '/var/cache/nginx': 'size=67108864' });
  t.equal(c.Config.StopSignal, 'SIGQUIT');
  const stopped = await sd.systemctl(['stop', 'nginx@1.service']);
  t.equal(stopped.code, 0, 'the probe exits on SIGQUIT, the signal docker stop sends');
});
