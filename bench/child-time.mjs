// Shared by the start-up benches: one child run, timed as a user waits for it (wall) and by the CPU it used.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // CLK_TCK is 100 on Linux

/** User+system CPU of this process's waited-for children so far (/proc/self/stat cutime+cstime), ms. */
export function childCpuMs() {
  // Fields after the command name: state is field 3; cutime and cstime are fields 16 and 17.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

/** Runs `cmd args` in `cwd` (NODE_OPTIONS cleared) and returns `{ wall, cpu }` in ms; throws on a non-zero exit. */
export function timeRun(cmd, args, cwd, env = process.env) {
  const cpu0 = childCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, NODE_OPTIONS: '' } });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: childCpuMs() - cpu0 };
}
