/**
 * A rolling kit's service as unit files on the real systemd (user manager) through `--systemd`: gen-units
 * renders each version into a directory, `load` takes the instance paths (each resolves its template beside
 * it) with the flags every such test gives, and the first version is loaded and announced.
 */
import type { Test } from 'tap';
import { join } from 'node:path';
import type { EtcdPart, SystemdPart } from '../env/parts.js';
import { ROOT, runProgram } from '../e2e/e2e-cluster.js';
import { runFleetkit } from '../cli/load-io.js';
import type { Container, KeyLog, RollingKit, Version } from './rolling-kit.js';

export interface SystemdRoll {
  /** Where gen-units writes the unit files. */
  readonly dir: string;
  /** The instance paths load and destroy take. */
  readonly files: readonly string[];
  /** --systemd, the run's unit and journal dirs, --stable 1s, and the etcd the agent publishes in. */
  readonly common: readonly string[];
  readonly env: Record<string, string>;
  render(v: Version): Promise<void>;
  /** Renders and loads `v`, waits until every instance is announced; destroyed at the end of `t`. What docker then runs. */
  loadFirst(t: Test, v: Version): Promise<{ keys: { log: KeyLog; present(): Set<string> }; before: Map<string, Container> }>;
}

export function systemdRoll(kit: RollingKit, sd: SystemdPart, etcd: EtcdPart): SystemdRoll {
  const dir = join(kit.dir, 'units');
  const files = kit.instances.flatMap((i) => [`${kit.S}@${i}.service`, `${kit.S}-discovery@${i}.service`]).map((f) => join(dir, f));
  // Unit files name no etcd: --etcd lets the roll see each new container run and be announced.
  const common = ['--systemd', '--user', '--unit-dir', sd.unitDir, '--journal-dir', sd.journalDir, '--stable', '1s', '--etcd', etcd.endpoints.join(','), '--etcd-prefix', kit.prefix];
  const env = { ...sd.env };
  const render = async (v: Version): Promise<void> => {
    const gen = await runProgram(process.execPath, [join(ROOT, 'bin/gen-units.cjs'), await kit.writeSpec(v), '-o', dir]);
    if (gen.code !== 0) throw new Error(`gen-units: ${gen.stderr}`);
  };
  return {
    dir, files, common, env, render,
    async loadFirst(t, v) {
      t.teardown(async () => void (await runFleetkit(['destroy', ...files, ...common], { env })));
      const keys = await kit.watchKeys(t);
      await render(v);
      const first = await runFleetkit(['load', ...files, ...common], { env });
      t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
      await kit.allAnnounced(keys.present);
      return { keys, before: await kit.inspectAll() };
    },
  };
}
