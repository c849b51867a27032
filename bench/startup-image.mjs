// What the sidekick's `fleetkit announce` costs in the image form, as rendered, against the alternatives,
// on a Docker engine and etcd of its own (test/env/engine.sh, etcd.sh), ≥10 runs each, interleaved:
//   rendered:   `docker exec fleetkit-agent fleetkit announce …`   (the discovery unit's ExecStart)
//   docker run: `docker run --rm --net=host -v STATE:STATE IMAGE announce …` (a container per call)
//   binary:     `node dist/fleetkit.cjs announce …` and the SEA, on the host (the binary form)
//   exec floor: `docker exec fleetkit-agent node -e 0` (what any exec costs, fleetkit aside)
// Each announce call re-registers the same container with the running agent and waits for its answer,
// as the sidekick does on every start. The units' argv come from `gen-units --stdout` of a spec with
// runtime.fleetkit.image, so the figures are for the command lines fleetkit renders.
// Usage: npm run build && node bench/startup-image.mjs [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsAt = process.argv.indexOf('--runs');
const runs = Math.max(10, runsAt > 0 ? Number(process.argv[runsAt + 1]) : 10);
const { version } = JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: root, encoding: 'utf8' }));
const image = `fleetkit:${version}`;
const tmp = mkdtempSync(join(tmpdir(), 'fleetkit-bench-image-'));
const engineDir = join(tmp, 'engine');
const etcdDir = join(tmp, 'etcd');
const name = `fkb${process.pid}`.slice(0, 15);
const sh = (script, args) => execFileSync('bash', [join(root, 'test/env', script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

try {
  const dockerHost = sh('engine.sh', ['start', engineDir, name]).split('\n').pop();
  const etcdUrl = sh('etcd.sh', ['start', etcdDir]).split('\n').pop();
  const env = { ...process.env, DOCKER_HOST: dockerHost, NODE_OPTIONS: '' };
  const docker = (args) => execFileSync('docker', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const built = spawnSync(process.execPath, [join(root, 'scripts/image.mjs'), '--no-bundle'], { env, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`image: ${built.stderr}`);
  process.stderr.write(built.stderr);

  const state = join(tmp, 'run');
  mkdirSync(join(tmp, 'etc'));
  const spec = join(tmp, 'cluster.yaml');
  const dockerCli = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  writeFileSync(spec, `name: bench\netcd: { endpoints: ["${etcdUrl}"], prefix: /bench }\nruntime: { docker: ${dockerCli}, dockerSocket: ${dockerHost.replace('unix://', '')}, stateDir: ${state}, fleetkit: { image: "${image}" } }\n` +
    `hosts: { file: ${tmp}/etc/hosts }\nservices:\n  web:\n    image: local/httpd:latest\n    x-announce: { port: 8080, ttl: 30s }\n`);
  const units = execFileSync(process.execPath, [join(root, 'dist/fleetkit.cjs'), 'gen', spec, '--stdout'], { encoding: 'utf8' });
  // The rendered values here hold no quotes, escapes or spaces inside words: words split on spaces.
  const execOf = (unit, key) => {
    const text = units.split(/^# ==> /m).find((s) => s.startsWith(`${unit} <==`)) ?? '';
    const line = text.split('\n').find((l) => l.startsWith(`${key}=`));
    if (!line || /["'\\]/.test(line)) throw new Error(`no plain ${key} in ${unit}`);
    return line.slice(key.length + 1).replaceAll('%i', '1').split(' ');
  };
  const agentArgv = execOf('fleetkit-agent.service', 'ExecStart');
  agentArgv.splice(agentArgv.indexOf('run') + 1, 0, '-d');
  execFileSync(agentArgv[0], agentArgv.slice(1), { env, stdio: 'ignore' });
  docker(['run', '-d', '--init', '--name', 'web-1', 'local/httpd:latest']);
  for (let i = 0; i < 300 && !existsSync(join(state, 'agent.sock')); i++) spawnSync('sleep', ['0.1']);
  if (!existsSync(join(state, 'agent.sock'))) throw new Error(`the agent did not start: ${docker(['logs', 'fleetkit-agent'])}`);

  const rendered = execOf('web-discovery@.service', 'ExecStart');
  const announceArgs = rendered.slice(rendered.indexOf('announce'));
  const sea = join(tmp, 'fleetkit');
  const madeSea = spawnSync(process.execPath, [join(root, 'scripts/sea.mjs'), '--no-bundle', '--output', sea], { encoding: 'utf8' }).status === 0;
  const variants = {
    'exec floor: docker exec … node -e 0': [dockerCli, ['exec', 'fleetkit-agent', '/usr/bin/node', '-e', '0']],
    'rendered: docker exec … fleetkit announce': [rendered[0], rendered.slice(1)],
    'docker run --rm IMAGE announce': [dockerCli, ['run', '--rm', '--net=host', '-v', `${state}:${state}`, image, ...announceArgs]],
    'binary: node dist/fleetkit.cjs announce': [process.execPath, [join(root, 'dist/fleetkit.cjs'), ...announceArgs]],
    ...(madeSea ? { 'binary: SEA announce': [sea, announceArgs] } : {}),
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const [cmd, args] of Object.values(variants)) spawnSync(cmd, args, { env, stdio: 'ignore' }); // warm
  for (let i = 0; i < runs; i++) {
    for (const [k, [cmd, args]] of Object.entries(variants)) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${k}: exit ${r.status}: ${r.stderr}`);
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  console.log(`sidekick announce in the image form, median of ${runs} runs each, interleaved (load ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ')[0]}):`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(44)} ${median(v).toFixed(0).padStart(6)} ms   (min ${Math.min(...v).toFixed(0)})`);
} finally {
  try {
    execFileSync('bash', [join(root, 'test/env/engine.sh'), 'stop', engineDir], { stdio: 'ignore' });
  } catch {}
  try {
    execFileSync('bash', [join(root, 'test/env/etcd.sh'), 'stop', etcdDir], { stdio: 'ignore' });
  } catch {}
  rmSync(tmp, { recursive: true, force: true });
}
