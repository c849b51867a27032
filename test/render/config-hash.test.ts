// The container configuration hash: the label the renderer writes is what configHashOfUnit reads back from the
// unit text (so a rolling replace can compare a desired unit with a running container), it is shared by every
// instance, and it changes with what defines the container and with nothing else.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { configHashOfExecStart, configHashOfUnit, isConfigHash } from '../../src/render/config-hash.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';
import { valuesOf } from '../../src/unit/model.js';
import { LABEL_CLUSTER, LABEL_CONFIG_HASH, LABEL_UNIT } from '../../src/etcd/container-facts.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

const spec = (body: string, name = 'shop'): string => `name: ${name}
services:
${body}`;
const WEB = `  web:
    image: local/httpd:2.4
    command: ["httpd", "-f", "100% $HOME"]
    environment: { MODE: prod, PRICE: "$$5 50%" }
    labels: { com.example.team: shop }
    deploy: { replicas: 3 }
    x-announce: { port: 80 }
`;

/** The rendered container unit of `web` and the labels of its `docker run` (as systemd reads them for instance 2). */
function render(body: string, name = 'shop') {
  const r = renderCluster(parseSpec(spec(body, name), 'cluster.yaml'));
  const unit = r.files.find((f) => /^web@?\.service$/.test(f.name))!;
  const exec = valuesOf(unit.unit, 'Service', 'ExecStart')[0]!;
  const argv = parseExecLine(exec, { specifiers: { i: '2', n: unit.name.replace('@.', '@2.') } }).argv;
  const labels = new Map<string, string>();
  argv.forEach((w, i) => {
    if (argv[i - 1] === '--label') labels.set(w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1));
  });
  return { unit, exec, argv, labels, hash: configHashOfUnit(unit.text, unit.name) };
}

t.test('the label carries the unit (per instance), the cluster and the hash that configHashOfUnit reads back', async (t) => {
  const r = render(WEB);
  t.equal(r.labels.get(LABEL_UNIT), 'web@2.service', '%n: each instance names itself');
  t.equal(r.labels.get(LABEL_CLUSTER), 'shop');
  t.ok(isConfigHash(r.labels.get(LABEL_CONFIG_HASH) ?? ''), 'a hash of the documented shape');
  t.equal(r.hash, r.labels.get(LABEL_CONFIG_HASH), 'the unit text gives the hash its label carries');
  t.equal(r.labels.get('com.example.team'), 'shop', 'the file\'s own label is kept');
  const image = r.argv.indexOf('local/httpd:2.4');
  t.ok(r.argv.lastIndexOf('--label') < image, 'labels come before the image');
});

t.test('stable across renders, and the same for every instance', async (t) => {
  t.equal(render(WEB).hash, render(WEB).hash);
  const r = render(WEB);
  // An instance unit carries its template's text (fleet and systemd alike): one hash for all.
  t.match(r.unit.text, /fleetkit\.unit=%n/, 'the template names the unit by specifier, not by instance');
  t.match(r.unit.text, /--name web-%i/);
});

t.test('changes with what defines the container', async (t) => {
  const base = render(WEB).hash;
  const variants: Record<string, string> = {
    image: WEB.replace('local/httpd:2.4', 'local/httpd:2.5'),
    command: WEB.replace('"-f"', '"-F"'),
    environment: WEB.replace('MODE: prod', 'MODE: dev'),
    'a literal % in the environment': WEB.replace('$$5 50%', '$$5 51%'),
    'a label of the file': WEB.replace('team: shop', 'team: ops'),
    ports: `${WEB}    ports: ["8080:80"]\n`,
    volumes: `${WEB}    volumes: ["/srv:/srv:ro"]\n`,
  };
  const seen = new Set([base]);
  for (const [what, body] of Object.entries(variants)) {
    const h = render(body).hash;
    t.ok(h && !seen.has(h), `${what} changes the hash`);
    seen.add(h!);
  }
});

t.test('does not change with where the container runs or with fleetkit\'s own labels', async (t) => {
  const base = render(WEB);
  // The default containers' hosts file is named after the cluster (a mount the container sees): with one path
  // given, the name is a label only.
  const shared = `${WEB}x-fleetkit: { hosts: { containers: /run/fleetkit/hosts/shared } }\n`;
  t.equal(render(shared, 'shop2').hash, render(shared).hash, 'the cluster\'s name is a label, not configuration');
  t.not(render(WEB, 'shop2').hash, base.hash, 'the default hosts file of another cluster is another mount');
  const socket = spec(WEB).replace('services:', 'x-fleetkit:\n  runtime: { dockerSocket: /run/other/docker.sock }\nservices:');
  const other = renderCluster(parseSpec(socket, 'cluster.yaml')).files.find((f) => f.name === 'web@.service')!;
  t.match(other.text, /DOCKER_HOST=unix:\/\/\/run\/other\/docker\.sock/, 'the engine socket is set');
  t.equal(configHashOfUnit(other.text), base.hash, 'the engine socket changes nothing');
  const moved = base.exec.replace('/usr/bin/docker', '/opt/bin/docker');
  t.equal(configHashOfExecStart(moved), base.hash, 'the docker binary changes nothing');
  const relabelled = base.exec.replace(/fleetkit\.config-hash=[0-9a-f]+/, 'fleetkit.config-hash=00000000000000000000000000000000');
  t.equal(configHashOfExecStart(relabelled), base.hash, 'the hash label is not hashed');
});

t.test('a literal %i in the spec is not the %i specifier', async (t) => {
  const a = render(WEB.replace('"-f"', '"%i"'));
  t.match(a.exec, /%%i/, 'spec text written as %%i');
  t.not(a.hash, render(WEB.replace('"-f"', '"2"')).hash);
  const live = configHashOfExecStart(a.exec.replace('%%i', '%i'));
  t.ok(live && live !== a.hash, 'the live specifier hashes differently from the literal');
});

t.test('no hash for what runs no container or cannot be read', async (t) => {
  t.equal(configHashOfUnit('[Service]\nExecStart=/bin/true\n'), undefined);
  t.equal(configHashOfUnit('[Service]\nExecStart=/usr/bin/docker run "unterminated\n'), undefined);
  t.equal(configHashOfUnit('[Service\n'), undefined);
  t.equal(configHashOfExecStart('/usr/bin/docker run %q image'), undefined, 'an unknown specifier');
});

t.test('every committed and golden container unit: its label is the hash read back from its text', async (t) => {
  const dirs = [join(root, 'examples/seed/units'), join(root, 'examples/large/units'),
    ...readdirSync(join(root, 'test/compose-corpus/golden')).map((d) => join(root, 'test/compose-corpus/golden', d))];
  let n = 0;
  for (const dir of dirs) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.service'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      const label = /fleetkit\.config-hash=([0-9a-f]+)/.exec(text)?.[1];
      if (!label) continue;
      n++;
      t.equal(configHashOfUnit(text, f), label, `${dir.slice(root.length)}/${f}`);
    }
  }
  t.ok(n >= 30, `${n} container units checked`);
});
