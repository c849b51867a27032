// Rendered units on the real systemd 252 of the test environment (no docker needed): a stand-in `docker`
// records its argv and runs `sleep` for `run`; a stand-in `fleetkit` logs each announce/withdraw. This proves
// (1) spec values with %, $, quotes and spaces reach docker's argv unchanged through systemd's own parsing,
// (2) the sidekick's dependencies bring the announcement back after `systemctl restart` and after an
// automatic Restart= of the container unit, and withdraw it when the container unit stops.
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemdPart, waitFor, type SystemdPart } from '../env/parts.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { dockerRunArgs } from '../../src/render/docker-run-args.js';
import { configHashOfUnit } from '../../src/render/config-hash.js';
import { LABEL_CLUSTER, LABEL_CONFIG_HASH, LABEL_UNIT } from '../../src/etcd/container-facts.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-render-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const docker = join(dir, 'docker');
const fleetkit = join(dir, 'fleetkit');
writeFileSync(
  docker,
  `#!/bin/sh
# Stand-in docker: "run" records its argv (NUL-separated) and becomes a sleep; "stop" ends that sleep.
d=${dir}
case "$1" in
  run) printf '%s\\0' "$@" > "$d/run-argv"; echo $$ > "$d/pid"; exec /bin/sleep 1000 ;;
  stop) [ -f "$d/pid" ] && kill "$(cat "$d/pid")" 2>/dev/null; rm -f "$d/pid"; exit 0 ;;
  *) exit 0 ;;
esac
`,
);
// Stand-in fleetkit: logs each announce/withdraw; the container unit's other call (watch-hosts --prepare of the
// cluster's containers' hosts file, which the stand-in docker does not mount) does nothing.
writeFileSync(fleetkit, `#!/bin/sh\n[ "$1" = announce ] || exit 0\necho "$2 $3" >> ${dir}/announce.log\n`);
chmodSync(docker, 0o755);
chmodSync(fleetkit, 0o755);

const svc = `rt${process.pid}`;
const yaml = `name: proof
runtime: { docker: ${docker}, fleetkit: { binary: ${fleetkit} } }
services:
  ${svc}:
    image: local/busybox:latest
    command: ["/bin/echo", "100% \\"quoted\\" $$HOME $\${USER} a;b", ";", "%i %n"]
    environment: { PRICE: "$5 and 50%", "EMPTY": "" }
    labels: { note: "it's $$$$ 100%" }
    restart: always
    x-announce: { port: 80, key: "/services/proof/${svc}/%i" }
    x-systemd: { Service: { RestartSec: "1" } }
`;
const spec = parseSpec(yaml, 'cluster.yaml');
const service = spec.services[0]!;
const rendered = renderCluster(spec);

async function install(sd: SystemdPart): Promise<void> {
  for (const f of rendered.files.filter((f) => f.name.startsWith(svc))) writeFileSync(join(sd.unitDir, f.path), f.text);
  t.teardown(async () => {
    await sd.systemctl(['stop', `${svc}@1.service`, `${svc}-discovery@1.service`]);
    for (const f of rendered.files.filter((f) => f.name.startsWith(svc))) rmSync(join(sd.unitDir, f.path), { force: true });
    await sd.systemctl(['daemon-reload']);
  });
  const r = await sd.systemctl(['daemon-reload']);
  if (r.code !== 0) throw new Error(`daemon-reload: ${r.stderr}`);
}

const state = async (sd: SystemdPart, unit: string): Promise<string> =>
  (await sd.systemctl(['show', '-P', 'ActiveState', unit])).stdout.trim();
const mainPid = async (sd: SystemdPart, unit: string): Promise<string> =>
  (await sd.systemctl(['show', '-P', 'MainPID', unit])).stdout.trim();
const log = (): string[] => (existsSync(join(dir, 'announce.log')) ? readFileSync(join(dir, 'announce.log'), 'utf8').trim().split('\n') : []);
const announced = (): number => log().filter((l) => l.startsWith('--key')).length;
const KEY = `--key /services/proof/${svc}/1`;
const WITHDRAW = '--withdraw --key';

t.test('units on systemd 252', async (t) => {
  const sd = await systemdPart(t);
  await install(sd);
  const container = `${svc}@1.service`;
  const sidekick = `${svc}-discovery@1.service`;
  // Started the way `gen-units | xargs fleetctl start` starts them: container, then sidekick.
  t.equal((await sd.systemctl(['start', container, sidekick])).code, 0, 'started');
  await waitFor(() => existsSync(join(dir, 'run-argv')), { what: 'docker run', timeoutMs: 30_000 });

  t.test('spec values reach docker argv unchanged', async (t) => {
    const argv = readFileSync(join(dir, 'run-argv'), 'utf8').split('\0').slice(0, -1);
    const template = rendered.files.find((f) => f.name === `${svc}@.service`)!;
    const hash = configHashOfUnit(template.text);
    t.ok(hash, 'the template has a configuration hash');
    // systemd resolves %n to the instance's own name: the agent knows the container's unit from its label.
    const labels = [[LABEL_UNIT, `${svc}@1.service`], [LABEL_CLUSTER, 'proof'], [LABEL_CONFIG_HASH, hash!]] as const;
    const expected = dockerRunArgs(service, `${svc}-1`, labels, [`--mount=type=bind,source=/run/fleetkit/hosts/proof,target=/etc/hosts,readonly`]);
    t.strictSame(argv, expected, 'argv as docker received it');
    t.ok(argv.includes('100% "quoted" $HOME ${USER} a;b'), 'command word with %, $, quotes');
    t.ok(argv.includes('PRICE=$5 and 50%'), 'environment value with $ and %');
    t.ok(argv.includes("note=it's $$ 100%"), 'label with $$ and %');
    t.ok(argv.includes('%i %n') && argv.includes(';'), 'a literal %i and a lone ;');
  });

  t.test('announced after start', async (t) => {
    await waitFor(async () => (await state(sd, sidekick)) === 'active', { what: `${sidekick} active`, timeoutMs: 30_000 });
    t.equal(log().at(-1), KEY, 'the last call announces the key of instance 1');
  });

  t.test('systemctl restart of the container unit announces again', async (t) => {
    const before = announced();
    t.equal((await sd.systemctl(['restart', container])).code, 0);
    await waitFor(async () => announced() > before && (await state(sd, sidekick)) === 'active', { what: 'announce after restart', timeoutMs: 30_000 });
    const tail = log().slice(-2);
    t.ok(tail[0]!.startsWith(WITHDRAW), 'withdrawn while the container was down');
    t.equal(tail[1], KEY, 'announced again');
  });

  t.test('an automatic Restart= of the container unit announces again', async (t) => {
    const pid = await mainPid(sd, container);
    const before = announced();
    t.equal((await sd.systemctl(['kill', '--kill-who=main', '--signal=SIGKILL', container])).code, 0);
    await waitFor(async () => {
      const now = await mainPid(sd, container);
      return now !== '0' && now !== pid && (await state(sd, container)) === 'active';
    }, { what: 'container unit restarted by Restart=', timeoutMs: 30_000 });
    await waitFor(async () => (await state(sd, sidekick)) === 'active' && log().at(-1) === KEY, { what: 'sidekick active, key announced', timeoutMs: 30_000 });
    t.ok(announced() >= before, 'never left withdrawn');
    t.equal(log().at(-1), KEY, 'the last call announces the key');
  });

  t.test('stopping the container unit withdraws the announcement', async (t) => {
    t.equal((await sd.systemctl(['stop', container])).code, 0);
    await waitFor(async () => (await state(sd, sidekick)) === 'inactive', { what: `${sidekick} stopped`, timeoutMs: 30_000 });
    t.ok(log().at(-1)!.startsWith(WITHDRAW), 'withdrawn');
  });
});
