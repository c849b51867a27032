/**
 * Every example says where its hosts get fleetkit in a form that something makes (README, "Shipping
 * fleetkit to hosts"): an image `REGISTRY/fleetkit:VERSION` with the registry the user names
 * (FLEETKIT_REGISTRY) and the tag `npm run image` gives; a single executable by URL with its sha256; or the
 * npm package installed globally. And the README's commands make what the examples name: its image build
 * and tag run for real (the push needs a registry, which the test environment has not), and `npm pack`
 * names the tarball the README installs.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCluster } from '../../src/cluster/cluster-file.js';
import { renderCluster } from '../../src/render/render.js';
import { dockerPart } from '../env/parts.js';
import { ensureImage, IMAGE } from './image-build.js';
import { ROOT, VERSION } from './standalone.js';
import { agentUnitName } from '../../src/unit/names.js';

const REGISTRY = 'registry.test:5000';
/** Where `npm install -g` puts fleetkit with npm's default global prefix (/usr/local). */
const NPM_GLOBAL_BIN = '/usr/local/bin/fleetkit';
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const shipping = readme.slice(readme.indexOf('## Shipping fleetkit to hosts'), readme.indexOf('\n## ', readme.indexOf('## Shipping fleetkit to hosts') + 5));
const examples = readdirSync(join(ROOT, 'examples')).filter((d) => readdirSync(join(ROOT, 'examples', d)).includes('cluster.yaml'));

/** The example's fleetkit source with FLEETKIT_REGISTRY set as a user would. */
async function source(name: string, env: Record<string, string> = { FLEETKIT_REGISTRY: REGISTRY }) {
  const c = await loadCluster({ file: join(ROOT, 'examples', name, 'cluster.yaml'), cwd: ROOT, env });
  return c.spec;
}

t.test('every example names a fleetkit source that something makes', async (t) => {
  t.ok(examples.length >= 3, `examples: ${examples.join(', ')}`);
  for (const name of examples) {
    const spec = await source(name);
    const f = spec.runtime.fleetkit;
    if (f.kind === 'image') {
      t.equal(f.image, `${REGISTRY}/fleetkit:${VERSION}`, `${name}: the image npm run image tags (fleetkit:${VERSION}) in the user's registry`);
      const unset = await source(name, {});
      t.not(unset.runtime.fleetkit.kind === 'image' && unset.runtime.fleetkit.image, `fleetkit:${VERSION}`, `${name}: never the bare local tag, which no host can pull`);
      const agent = renderCluster(spec).files.find((u) => u.name === agentUnitName(spec.name))!;
      t.match(agent.text, ` ${REGISTRY}/fleetkit:${VERSION} agent `, `${name}: the agent unit runs that image`);
    } else if (f.url !== undefined) {
      t.match(f.sha256, /^[0-9a-f]{64}$/, `${name}: a download is checked against its sha256`);
    } else {
      t.equal(f.path, NPM_GLOBAL_BIN, `${name}: a binary no one downloads is the one npm install -g puts on the host`);
      t.match(shipping, `npm install -g ./fleetkit-${VERSION}.tgz`, 'and the README says how to put it there');
    }
  }
});

t.test("the README's image commands make the image the examples name", async (t) => {
  const block = /```sh\n([^`]*npm run image[^`]*)```/.exec(shipping)?.[1];
  if (!block) return void t.fail('no sh block with npm run image under "Shipping fleetkit to hosts"');
  const lines = block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
  t.same(lines, [
    'export FLEETKIT_REGISTRY=registry.example.com',
    'npm ci && npm run image',
    `docker tag fleetkit:${VERSION} "$FLEETKIT_REGISTRY/fleetkit:${VERSION}"`,
    `docker push "$FLEETKIT_REGISTRY/fleetkit:${VERSION}"`,
  ], 'build, tag for the registry, push: with the version of package.json');
  t.match(block, `npm run image                              # builds fleetkit:${VERSION}`, 'the tag the README says npm run image gives');
  const docker = await dockerPart(t);
  // `npm run image` is scripts/image.mjs (built once per run, as every test that needs the image does).
  const built = await ensureImage(docker);
  t.equal(built.build.code, 0, built.build.stderr);
  t.equal(IMAGE, `fleetkit:${VERSION}`, 'npm run image tags fleetkit:<package version>');
  // The README's tag line, run as written by sh, with the registry a user would export.
  const tag = lines.find((l) => l.startsWith('docker tag '))!;
  const r = await new Promise<{ code: number; err: string }>((done) => execFile('sh', ['-c', tag], { env: { ...process.env, FLEETKIT_REGISTRY: REGISTRY, DOCKER_HOST: docker.dockerHost } }, (e, _o, err) => done({ code: e ? Number(e.code) : 0, err })));
  t.equal(r.code, 0, r.err);
  t.teardown(() => docker.docker(['rmi', `${REGISTRY}/fleetkit:${VERSION}`]).then(() => undefined));
  const id = await docker.docker(['image', 'inspect', '--format', '{{.Id}}', IMAGE, `${REGISTRY}/fleetkit:${VERSION}`]);
  t.equal(id.code, 0, id.stderr);
  const [a, b] = id.stdout.trim().split('\n');
  t.equal(a, b, `${REGISTRY}/fleetkit:${VERSION} is the image npm run image built`);
  for (const name of examples) {
    const f = (await source(name)).runtime.fleetkit;
    if (f.kind === 'image') t.equal(f.image, `${REGISTRY}/fleetkit:${VERSION}`, `${name} names exactly the image that was tagged`);
  }
});

t.test('npm pack names the tarball the README installs', async (t) => {
  const r = await new Promise<{ code: number; out: string; err: string }>((done) => execFile('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT }, (e, out, err) => done({ code: e ? Number(e.code) : 0, out, err })));
  t.equal(r.code, 0, r.err);
  const [pack] = JSON.parse(r.out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  t.equal(pack?.filename, `fleetkit-${VERSION}.tgz`);
  t.match(shipping, `npm install -g ./${pack?.filename}`);
  t.ok(pack?.files.some((f) => f.path === 'bin/fleetkit.cjs'), 'the package has the fleetkit command npm install -g links into its bin');
});
