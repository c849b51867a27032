// Every rendered unit of the examples and of the golden cases passes `systemd-analyze verify` (systemd 252),
// with no warning at all. verify checks that executables exist, so each spec's units are verified in a fake
// root (`--root`) holding the units, systemd's own unit directory, and a stand-in for every executable the
// units name (/usr/bin/docker, /opt/bin/fleetkit, …): the committed text is verified as it is.
import t, { type Test } from 'tap';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/spec/load.js';
import { renderCluster, type RenderedUnit } from '../../src/render/render.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const specs = [
  'examples/seed/cluster.yaml',
  'examples/large/cluster.yaml',
  ...readdirSync(join(root, 'test/render/cases')).filter((f) => f.endsWith('.yaml')).map((f) => `test/render/cases/${f}`),
];

/** Runs systemd-analyze verify on `files` in a fresh fake root; returns its exit code and output. */
function verify(t: Test, files: readonly { path: string; text: string }[]): { code: number | null; output: string } {
  const fake = mkdtempSync(join(tmpdir(), 'fleetkit-verify-'));
  t.teardown(() => rmSync(fake, { recursive: true, force: true }));
  const unitDir = join(fake, 'etc/systemd/system');
  mkdirSync(unitDir, { recursive: true });
  cpSync('/usr/lib/systemd/system', join(fake, 'usr/lib/systemd/system'), { recursive: true });
  for (const f of files) {
    writeFileSync(join(unitDir, f.path), f.text);
    for (const line of f.text.split('\n')) {
      const m = /^Exec[A-Za-z]*=(.*)$/.exec(line);
      if (!m) continue;
      const exe = parseExecLine(m[1]!, { specifiers: { i: '1', H: 'h', m: '0'.repeat(32), p: 'p', n: 'n' } }).argv[0]!;
      mkdirSync(join(fake, dirname(exe)), { recursive: true });
      copyFileSync('/usr/bin/true', join(fake, exe));
    }
  }
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${fake}`, ...files.map((f) => join(unitDir, f.path))], {
    encoding: 'utf8',
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

t.test('the harness catches what verify reports', async (t) => {
  const bad = verify(t, [{ path: 'bad@.service', text: '[Service]\nExecStart=/usr/bin/docker run x\nRestartt=always\n' }]);
  t.match(bad.output, "Unknown key 'Restartt'", 'a warning is seen');
});

for (const spec of specs) {
  t.test(spec, async (t) => {
    const result = renderCluster(parseSpec(readFileSync(join(root, spec), 'utf8'), spec));
    const files: RenderedUnit[] = [...result.files];
    const r = verify(t, files);
    t.equal(r.output, '', 'no error and no warning');
    t.equal(r.code, 0, `systemd-analyze verify of ${files.map((f) => f.name).join(', ')}`);
  });
}
