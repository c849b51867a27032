// The whole Compose corpus on the real engine: every file in files/ is read as the CLI reads it (`.env` and
// env files beside it), rendered, and its container units run under a real systemd manager and dockerd;
// `docker inspect` must then show what the Compose file means: argv, environment, mounts, published ports,
// health check, and the one-flag keys the file uses. WANT below says it per service, written from reading
// the Compose files (not from the render), so a wrong render fails here.
//
// - Images: every image name is the local busybox with a probe entrypoint (/probe) that sleeps until the
//   stop signal the file names, so any command runs; `Cmd` shows the file's command after it. The one name
//   that is an image of the test engine itself, `local/httpd:latest` (static-site), is not tagged over: it
//   runs as the real image, and its health check must turn healthy.
// - Isolation: the engine is this test's own, in network and mount namespaces of its own (no published
//   port meets another run's; its / is shared inside as on a systemd host, so `rslave` binds work), and so
//   is the systemd manager (unit names such as db@.service are not unique across files, nor across tests).
//   Files whose unit names, container names or published ports meet go in separate rounds.
// - Beside each file: the relative paths its render names are made in its dir (a file when the name has a
//   dot, else a directory); BESIDE_TEXT holds the env files and `.env` some files read, and SHELL_ENV the
//   shell's environment (mailserver: interpolation with the shell over `.env`, defaults, `$$`).
// - `depends_on` across machines (gitea-postgres-depends): the units run the real `fleetkit await` against
//   the run's etcd, where the dependencies' announcements are put first, at the keys the units name.
// - Run or only created: a container runs from its unit (`systemctl start`) unless this machine cannot run
//   it, and then it is created (`docker create`) from the argv systemd itself parsed from the unit's
//   ExecStart= (D-Bus), and only its configuration is checked. The reasons are found at run time, so a
//   machine that can run more runs more:
//   * a bind source outside the file's dir that does not exist here (docker's -v would make it on the
//     machine): /var/run/docker.sock (influxdb-telegraf, traefik, woodpecker), /etc/pg/password
//     (postgres-pgadmin), /srv/media (jellyfin, plex), /var/lib/docker and /dev/disk (cadvisor);
//   * a device that does not exist here: /dev/dri (jellyfin, plex);
//   * `--gpus` (ollama-gpu): the test engine has no GPU driver;
//   * `privileged` (home-assistant, cadvisor) needs every capability in the bounding set, and raising a
//     hard ulimit (elk, rabbitmq) or a negative oom_score_adj (hardened-api) needs CAP_SYS_RESOURCE: this
//     sandbox's root lacks CAP_SYS_RESOURCE even in its bounding set (runc: "unable to apply caps",
//     "error setting rlimits", "can't get final child's PID"). Memory, CPU and pids limits, shm_size and
//     sysctls do run here.
// - The containers' hosts file (`/etc/hosts`, read-only) is mounted into every bridge container except one
//   with `hostname:` or `extra_hosts`, or on the host network (src/render/hosts-mount.ts).
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { newPartDir, readPartEnv, runCommand, runScript } from '../env/part-runtime.js';
import { loadCluster } from '../../src/cluster/cluster-file.js';
import type { ClusterSpec } from '../../src/cluster/types.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { renderCluster } from '../../src/render/render.js';
import { BESIDE_TEXT, SHELL_ENV, WANT, type Want } from './engine-want.js';
import { writeFleetkitShim } from '../env/fleetkit-shim.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const t0 = Date.now();
// About a minute on a quiet 2-core machine; far more when the machine is loaded.
t.setTimeout(300_000);
const [etcd, docker] = await Promise.all([etcdPart(t), dockerPart(t, { private: true, netns: true })]);
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-corpus-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// A manager of the test's own, its units reaching the test's engine.
const sdDir = newPartDir('systemd');
const slice = `${sdDir.name}.slice`;
t.teardown(() => runScript('systemd.sh', ['stop', sdDir.dir, slice]));
await runScript('systemd.sh', ['start', sdDir.dir, slice, docker.dockerHost]);
const sdEnv = readPartEnv(sdDir.dir);
const busEnv = { DBUS_SESSION_BUS_ADDRESS: sdEnv['SYSTEMD_BUS'] ?? '', XDG_RUNTIME_DIR: sdEnv['SYSTEMD_RUNTIME'] ?? '' };
const unitDir = sdEnv['SYSTEMD_UNIT_DIR'] ?? '';
const systemctl = (args: readonly string[]) => runCommand('systemctl', ['--user', ...args], busEnv);
const journal = async (unit: string): Promise<string> =>
  (await runCommand('journalctl', ['-D', sdEnv['SYSTEMD_JOURNAL_DIR'] ?? '', '--user-unit', unit, '-o', 'cat', '-n', '8', '--no-pager', '-q'])).stdout.trim().replace(/\n/g, ' | ');

/** Fails the setup with what the command said. */
async function must(what: string, r: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const done = await r;
  if (done.code !== 0) throw new Error(`${what}: ${done.stderr.trim()}`);
  return done.stdout;
}

// `fleetkit await` as the units run it: the built CLI.
const fleetkit = writeFleetkitShim(join(dir, 'fleetkit'));
const client = await connectEtcd({ endpoints: etcd.endpoints });
const awaited = new Set<string>();
t.teardown(async () => {
  for (const key of awaited) await client.delete().key(key).exec();
  client.close();
});

// What this machine cannot give a container (see the header): read from the engine's own process.
const dockerdStatus = readFileSync(`/proc/${readPartEnv(docker.dir)['DOCKER_PID']}/status`, 'utf8');
const caps = (field: string): bigint => BigInt(`0x${/^Cap\w+:\s*([0-9a-f]+)/m.exec(dockerdStatus.slice(dockerdStatus.indexOf(`${field}:`)))?.[1] ?? '0'}`);
const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
const CAP_SYS_RESOURCE = 24n;
const sysResource = ((caps('CapEff') >> CAP_SYS_RESOURCE) & 1n) === 1n;
const fullBounding = caps('CapBnd') === (1n << BigInt(lastCap + 1)) - 1n;

/** Why this machine cannot run the service's container (empty: it can). */
function blockers(s: ClusterSpec['services'][number], fileDir: string): string[] {
  const why: string[] = [];
  for (const v of s.volumes) {
    if (v.source?.startsWith('/') && !v.source.startsWith(`${fileDir}/`) && !existsSync(v.source)) why.push(`${v.source} does not exist here`);
  }
  for (const d of s.run.devices) if (!existsSync(d.split(':')[0]!)) why.push(`device ${d.split(':')[0]} does not exist here`);
  if (s.run.extraArgs.includes('--gpus')) why.push('--gpus: the test engine has no GPU driver');
  if (s.run.privileged && !fullBounding) why.push('privileged: the bounding set lacks capabilities');
  if (s.run.ulimits.length > 0 && !sysResource) why.push('ulimits above the hard limits need CAP_SYS_RESOURCE');
  if ((s.run.oomScoreAdj ?? 0) < 0 && !sysResource) why.push('a negative oom_score_adj needs CAP_SYS_RESOURCE');
  return why;
}

// The probe image: busybox, /probe, and the users the corpus names.
const src = `probe-src-${process.pid}`;
const probe = "#!/bin/sh\ntrap 'exit 0' TERM INT QUIT\nwhile :; do sleep 1; done\n";
const passwd = 'root:x:0:0:root:/root:/bin/sh\ntelegraf:x:999:999::/etc/telegraf:/bin/false\n';
await must('write the probe', docker.docker(['run', '--name', src, docker.busyboxImage, 'sh', '-c', 'printf "%s" "$0" > /probe && chmod 755 /probe && printf "%s" "$1" > /etc/passwd', probe, passwd]));
const probeImage = `fleetkit-probe:${process.pid}`;
await must('commit the probe image', docker.docker(['commit', '--change', 'ENTRYPOINT ["/probe"]', '--change', 'CMD []', src, probeImage]));
await docker.docker(['rm', src]);

t.comment(`setup ${Date.now() - t0} ms`);
// Every file: its dir, env files, the paths it names, the render.
interface Loaded {
  name: string;
  fileDir: string;
  spec: ClusterSpec;
  units: Array<{ path: string; text: string; name: string }>;
  /** Container name → { unit, why it only gets created }. */
  containers: Map<string, { unit: string; service: string; blockedBy: string[] }>;
  keys: Set<string>;
}
const names = readdirSync(`${here}files`).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();
const loaded: Loaded[] = [];
for (const name of names) {
  const fileDir = join(dir, name);
  mkdirSync(fileDir);
  const file = join(fileDir, 'compose.yaml');
  writeFileSync(file, readFileSync(`${here}files/${name}.yaml`));
  for (const [path, text] of Object.entries(BESIDE_TEXT[name] ?? {})) {
    mkdirSync(dirname(join(fileDir, path)), { recursive: true });
    writeFileSync(join(fileDir, path), text);
  }
  const { spec: read } = await loadCluster({ file, cwd: fileDir, env: SHELL_ENV[name] ?? {} });
  for (const s of read.services) {
    for (const v of s.volumes) {
      if (!v.source?.startsWith(`${fileDir}/`) || existsSync(v.source)) continue;
      const last = v.source.replace(/\/+$/, '').split('/').pop()!;
      if (last.includes('.') || last === 'Caddyfile') {
        mkdirSync(dirname(v.source), { recursive: true });
        writeFileSync(v.source, `${last}\n`);
      } else mkdirSync(v.source, { recursive: true });
    }
  }
  // The cluster's containers' hosts file in the file's own dir, made before anything mounts it, as
  // watch-hosts makes it on a host; etcd and fleetkit of this run.
  const containersFile = join(fileDir, 'containers-hosts');
  writeFileSync(containersFile, '127.0.0.1\tlocalhost\n');
  const spec: ClusterSpec = {
    ...read,
    hosts: { ...read.hosts, containers: read.hosts.containers === undefined ? undefined : containersFile },
    etcd: { ...read.etcd, endpoints: etcd.endpoints },
    runtime: { ...read.runtime, fleetkit: { kind: 'binary', path: fleetkit, url: undefined, sha256: undefined } },
  };
  const units = renderCluster(spec).files.filter((f) => !f.name.startsWith('fleetkit-') && !f.name.includes('-discovery'));
  const containers = new Map<string, { unit: string; service: string; blockedBy: string[] }>();
  const keys = new Set<string>(units.map((u) => `unit ${u.name}`));
  for (const s of spec.services) {
    const global = s.fleet.global;
    // Replicas that publish a host port are kept apart by fleet (Conflicts=): on one engine, the first runs.
    const instances = global || s.ports.some((p) => p.host !== undefined) ? 1 : s.replicas;
    for (let i = 1; i <= instances; i++) {
      const container = s.containerName ?? (global ? s.name : `${s.name}-${i}`);
      containers.set(container, { unit: global ? `${s.name}.service` : `${s.name}@${i}.service`, service: s.name, blockedBy: blockers(s, fileDir) });
      keys.add(`container ${container}`);
    }
    if (s.run.network !== 'host') for (const p of s.ports) for (let k = 0; k < p.count; k++) keys.add(`port ${(p.host ?? 0) + k}/${p.protocol}`);
  }
  loaded.push({ name, fileDir, spec, units, containers, keys });
}

// External volumes exist before the containers start, as the file says they must.
for (const v of new Set(loaded.flatMap((l) => l.spec.services.flatMap((s) => s.externalVolumes)))) await must(`volume ${v}`, docker.docker(['volume', 'create', v]));

// Tag the probe under every image name but the engine's own.
const images = [...new Set(loaded.flatMap((l) => l.spec.services.map((s) => s.image)))].filter((i) => i !== docker.httpImage);
// Through the API: one process for all of them instead of a docker CLI each.
async function tag(image: string): Promise<void> {
  const at = image.lastIndexOf(':') > image.lastIndexOf('/') ? image.lastIndexOf(':') : image.length;
  const query = new URLSearchParams({ repo: image.slice(0, at), tag: image.slice(at + 1) || 'latest' });
  const status = await new Promise<number>((done, fail) => {
    const req = request({ socketPath: docker.socketPath, method: 'POST', path: `/images/${encodeURIComponent(probeImage)}/tag?${query}` }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end();
  });
  if (status !== 201) throw new Error(`tag ${image}: HTTP ${status}`);
}
await Promise.all(images.map(tag));

t.comment(`files and images ${Date.now() - t0} ms`);
// Rounds of files that share no unit name, container name or published port.
// First fit, biggest first; static-site first of all, as its real check takes an interval (10 s) to pass.
const rounds: Loaded[][] = [];
const order = [...loaded].sort((a, b) => Number(b.name === 'static-site') - Number(a.name === 'static-site') || b.containers.size - a.containers.size);
for (const l of order) {
  const round = rounds.find((r) => r.every((o) => [...l.keys].every((k) => !o.keys.has(k))));
  if (round) round.push(l);
  else rounds.push([l]);
}

type Inspect = { Name: string; Config: Record<string, any>; HostConfig: Record<string, any>; Mounts: Array<Record<string, any>>; State: { Running: boolean; Health?: { Status: string } } };
const seen = new Map<string, { c: Inspect; ran: boolean; blockedBy: string[] }>();

/** The argv systemd parsed from the unit's ExecStart= (over D-Bus). */
async function execStart(unit: string): Promise<string[]> {
  const busctl = (args: string[]) => runCommand('busctl', ['--user', '--json=short', ...args], busEnv);
  const path = JSON.parse(await must(`load ${unit}`, busctl(['call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'LoadUnit', 's', unit]))).data[0] as string;
  const exec = JSON.parse(await must(`ExecStart of ${unit}`, busctl(['get-property', 'org.freedesktop.systemd1', path, 'org.freedesktop.systemd1.Service', 'ExecStart']))).data as Array<[string, string[]]>;
  return exec[0]![1];
}
/** `fleetkit await … -- docker run …` runs the command after `--`. */
const afterAwait = (argv: string[]): string[] => (argv[0] === fleetkit && argv.includes('--') ? argv.slice(argv.indexOf('--') + 1) : argv);

for (const round of rounds) {
  for (const l of round) for (const u of l.units) writeFileSync(join(unitDir, u.path), u.text);
  await must('daemon-reload', systemctl(['daemon-reload']));
  // The dependencies' announcements, as their agents would put them, at the keys the units await.
  for (const l of round) {
    for (const [, c] of l.containers) {
      if (!l.spec.services.find((s) => s.name === c.service)?.dependsOn?.length) continue;
      const argv = await execStart(c.unit);
      if (argv[0] !== fleetkit) continue;
      for (const [i, a] of argv.entries()) {
        if (a === '--') break;
        if (a !== '--need' && a !== '--want') continue;
        for (const key of argv[i + 1]!.slice(argv[i + 1]!.indexOf('=') + 1).split(',')) {
          awaited.add(key);
          await client.put(key).value(JSON.stringify({ host: '127.0.0.1', port: 1 }));
        }
      }
    }
  }
  const r0 = Date.now();
  const all = round.flatMap((l) => [...l.containers.entries()].map(([name, c]) => [name, c, l] as const));
  const run = all.filter(([, c]) => c.blockedBy.length === 0);
  const created = all.filter(([, c]) => c.blockedBy.length > 0);
  // Created first, while the manager and the engine are idle.
  await Promise.all(created.map(async ([name, c]) => {
    const argv = afterAwait(await execStart(c.unit));
    if (argv[0] !== '/usr/bin/docker' || argv[1] !== 'run') throw new Error(`${c.unit}: ExecStart is not docker run: ${argv.join(' ')}`);
    await must(`docker create ${name}`, docker.docker(['create', ...argv.slice(2)]));
  }));
  const rc = Date.now();
  await must(`start ${run.map(([, c]) => c.unit).join(' ')}`, systemctl(['start', '--no-block', ...run.map(([, c]) => c.unit)]));
  const r1 = Date.now();
  await Promise.all(all.map(([name, c, l]) => waitFor(async () => {
    const r = await docker.docker(['inspect', name]);
    const found = r.code === 0 ? (JSON.parse(r.stdout) as Inspect[])[0] : undefined;
    if (c.blockedBy.length === 0) {
      if (!found?.State.Running) {
        const [state, restarts] = (await systemctl(['show', '-P', 'ActiveState', '-P', 'NRestarts', c.unit])).stdout.trim().split('\n');
        if (state === 'failed' || Number(restarts) > 0) throw new Error(`${c.unit} ${state}, ${restarts} restarts: ${await journal(c.unit)}`);
        return false;
      }
      // static-site's real httpd: its health check passes.
      if (found.Config.Image === docker.httpImage && found.State.Health?.Status !== 'healthy') return false;
    } else if (!found) return false;
    seen.set(`${l.name}/${name}`, { c: found, ran: c.blockedBy.length === 0, blockedBy: c.blockedBy });
    return true;
  }, { what: `container ${name} ${c.blockedBy.length ? 'created' : 'running'}`, timeoutMs: 60_000 }).catch(async (err: Error) => {
    const state = (await systemctl(['show', '-P', 'ActiveState', c.unit])).stdout.trim();
    throw new Error(`${err.message}: ${c.unit} ${state}: ${await journal(c.unit)}`);
  })));
  const r2 = Date.now();
  // The probe exits on the stop signal the file names: every unit stops cleanly (not failed).
  const units = run.map(([, c]) => c.unit);
  await must('stop', systemctl(['stop', ...units]));
  const failed = (await systemctl(['show', '-P', 'ActiveState', ...units])).stdout.split('\n').filter((s) => s === 'failed');
  if (failed.length) throw new Error(`units failed on stop: ${units.join(' ')}`);
  if (created.length) await must('rm', docker.docker(['rm', '-f', ...created.map(([n]) => n)]));
  for (const l of round) for (const u of l.units) rmSync(join(unitDir, u.path), { force: true });
  t.comment(`round of ${round.map((l) => l.name).join(' ')}: create ${rc - r0} ms, start ${r1 - rc} ms, running ${r2 - r1} ms, stop ${Date.now() - r2} ms`);
}
await must('daemon-reload', systemctl(['daemon-reload']));
t.comment(`${loaded.length} files in ${rounds.length} rounds, ${[...seen.values()].filter((s) => s.ran).length} containers ran, ${[...seen.values()].filter((s) => !s.ran).length} created only, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

/** `bind SOURCE:DEST ro|rw[ PROPAGATION]` / `volume NAME:DEST rw`, sorted. */
const mounts = (c: Inspect) => c.Mounts.map((m) => `${m.Type} ${m.Type === 'volume' ? m.Name : m.Source}:${m.Destination} ${m.RW ? 'rw' : 'ro'}${['', 'rprivate'].includes(m.Propagation) ? '' : ` ${m.Propagation}`}`).sort();
const ports = (c: Inspect) => Object.entries((c.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }>>)
  .flatMap(([p, bs]) => bs.map((b) => `${b.HostIp}:${b.HostPort}->${p}`)).sort();
const S = 1e9;

/** The words a `CMD-SHELL` string gives to the shell: how an exec-form check is checked. */
async function shellWords(line: string): Promise<string[]> {
  const r = await runCommand('sh', ['-c', 'eval "set -- $1"; printf "%s\\0" "$@"', 'sh', line]);
  return r.stdout.split('\0').slice(0, -1);
}

t.test('every file of the corpus is covered', async (t) => {
  t.strictSame(Object.keys(WANT).sort(), names, 'WANT names every file');
  for (const l of loaded) t.strictSame([...l.containers.keys()].sort(), Object.keys(WANT[l.name]!).sort(), `${l.name}: every container`);
  const created = [...seen.entries()].filter(([, s]) => !s.ran).map(([n, s]) => `${n}: ${s.blockedBy.join('; ')}`);
  t.comment(`created only:\n${created.join('\n')}`);
  t.ok([...seen.values()].filter((s) => s.ran).length >= 40, 'most containers really run');
});

for (const l of loaded) {
  t.test(l.name, async (t) => {
    for (const [name, want] of Object.entries(WANT[l.name] ?? {})) {
      const got = seen.get(`${l.name}/${name}`);
      if (!got) {
        t.fail(`${name}: no container`);
        continue;
      }
      await check(t, l, name, got.c, want);
    }
  });
}

async function check(t: Test, l: Loaded, name: string, c: Inspect, w: Want): Promise<void> {
  const d = l.fileDir;
  const local = (s: string) => s.replace(/(^| )\.\//g, `$1${d}/`);
  const real = c.Config.Image === docker.httpImage;
  t.strictSame(c.Config.Entrypoint, real ? null : ['/probe'], `${name}: the image's entrypoint`);
  t.strictSame(c.Config.Cmd ?? [], w.cmd ?? [], `${name}: the command`);
  t.strictSame([...(c.Config.Env as string[])].sort(), ['PATH=/bin', ...Object.entries(w.env ?? {}).map(([k, v]) => `${k}=${v}`)].sort(), `${name}: the environment`);
  const hosts = w.hostsFile === false ? [] : [`bind ${d}/containers-hosts:/etc/hosts ro`];
  t.strictSame(mounts(c), [...hosts, ...(w.mounts ?? []).map(local)].sort(), `${name}: the mounts`);
  t.strictSame(ports(c), [...(w.ports ?? [])].sort(), `${name}: the published ports`);
  t.strictSame(Object.keys(c.Config.ExposedPorts ?? {}).sort(), [...new Set([...(w.expose ?? []), ...(w.ports ?? []).map((p) => p.split('->')[1]!)])].sort(), `${name}: the exposed ports`);
  const h = c.Config.Healthcheck as { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } | undefined;
  if (w.health === undefined) t.equal(h, undefined, `${name}: no health check of its own`);
  else if (w.health === 'none') t.strictSame(h, { Test: ['NONE'] }, `${name}: the image's check disabled`);
  else {
    const { test, ...times } = w.health;
    t.equal(h?.Test[0], 'CMD-SHELL', `${name}: the check runs as docker's CMD-SHELL`);
    if (test[0] === 'CMD') {
      t.match(h?.Test[1], /^exec /, `${name}: exec form: the shell execs the command, not a child of it`);
      t.strictSame(await shellWords(h?.Test[1]?.replace(/^exec /, '') ?? ''), test.slice(1), `${name}: exec form: the argv word for word`);
    } else t.equal(h?.Test[1], test[1], `${name}: shell form: the line as written`);
    const ns = Object.fromEntries(Object.entries(times).map(([k, v]) => [k === 'retries' ? 'Retries' : k[0]!.toUpperCase() + k.slice(1), k === 'retries' ? v : Number(v) * S]));
    t.strictSame(Object.fromEntries(Object.entries(h ?? {}).filter(([k]) => k !== 'Test')), ns, `${name}: the check's times`);
  }
  for (const [k, v] of Object.entries(w.labels ?? {})) t.equal(c.Config.Labels?.[k], v, `${name}: label ${k}`);
  for (const [k, v] of Object.entries(w.config ?? {})) t.strictSame(c.Config[k], v, `${name}: Config.${k}`);
  // docker keeps capabilities as given or with CAP_ in front, depending on the API path: the same thing.
  const hostConfig = (k: string): unknown => (['CapAdd', 'CapDrop'].includes(k) ? (c.HostConfig[k] as string[] | null)?.map((x) => x.replace(/^CAP_/, '')) : c.HostConfig[k]);
  for (const [k, v] of Object.entries(w.host ?? {})) t.strictSame(hostConfig(k), v, `${name}: HostConfig.${k}`);
  t.equal(c.HostConfig.Init ?? false, w.host?.Init ?? false, `${name}: --init only when the file asks`);
}
