/**
 * `systemd-analyze verify` (systemd 252) as a referee for generated units. verify checks that executables
 * exist, so units are verified in a fake root (`--root`) holding the units, systemd's own unit directory,
 * and a stand-in for every executable they name (/usr/bin/docker, /opt/bin/fleetkit, …): the generated
 * text is verified as it is. Drop-ins (`NAME.d/x.conf`) are applied to their unit; a unit given only by
 * its drop-ins (one the OS ships, e.g. `fleet.service`) gets a minimal stand-in to be applied to.
 */
import type { Test } from 'tap';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseExecLine } from '../../src/unit/parse-command-line.js';

/** A file under the unit directory: `web@.service`, or a drop-in `etcd-member.service.d/20-x.conf`. */
export interface VerifyFile {
  readonly path: string;
  readonly text: string;
}

/** Runs verify on the units among `files`; returns its exit code and everything it printed. */
export function verifyUnits(t: Pick<Test, 'teardown'>, files: readonly VerifyFile[]): { code: number | null; output: string } {
  const fake = mkdtempSync(join(tmpdir(), 'fleetkit-verify-'));
  t.teardown(() => rmSync(fake, { recursive: true, force: true }));
  const unitDir = join(fake, 'etc/systemd/system');
  mkdirSync(unitDir, { recursive: true });
  cpSync('/usr/lib/systemd/system', join(fake, 'usr/lib/systemd/system'), { recursive: true });
  const units = new Set<string>();
  for (const f of files) {
    mkdirSync(dirname(join(unitDir, f.path)), { recursive: true });
    writeFileSync(join(unitDir, f.path), f.text);
    units.add(f.path.split('/')[0]!.replace(/\.d$/, ''));
    for (const line of f.text.split('\n')) {
      const m = /^Exec[A-Za-z]*=(.*)$/.exec(line);
      if (!m) continue;
      const exe = parseExecLine(m[1]!, { specifiers: { i: '1', H: 'h.example.com', l: 'h', m: '0'.repeat(32), p: 'p', n: 'n' } }).argv[0]!;
      mkdirSync(join(fake, dirname(exe)), { recursive: true });
      copyFileSync('/usr/bin/true', join(fake, exe));
    }
  }
  for (const u of units) {
    if (existsSync(join(unitDir, u)) || existsSync(join(fake, 'usr/lib/systemd/system', u))) continue;
    writeFileSync(join(unitDir, u), '[Unit]\nDescription=stand-in for a unit the OS ships\n\n[Service]\nExecStart=/usr/bin/true\n');
    mkdirSync(join(fake, 'usr/bin'), { recursive: true });
    copyFileSync('/usr/bin/true', join(fake, 'usr/bin/true'));
  }
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${fake}`, ...[...units].map((u) => join(unitDir, u))], { encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
