/**
 * Runs a oneshot install unit from a generated cloud-config as the machine would at boot, on this machine,
 * without touching its files: in a private mount namespace (`unshare --mount`), /etc, /opt and /var/lib are
 * overlays whose writable layer is a tmpfs of the namespace. cloud-config's `write_files` are written first;
 * then, as systemd runs a `Type=oneshot` unit, the unit runs only if one of its triggering (`|`)
 * `ConditionPathExists=` holds, its `ExecStart=` lines run in order until one fails, and its `ExecStopPost=`
 * lines run after either outcome. What the namespace's writable layers then hold is reported: every file
 * the install left, with its mode and sha256.
 */
import { execFile } from 'node:child_process';
import { parseExecLine } from '../../src/unit/parse-command-line.js';

/** A `write_files` entry of a cloud-config. */
export interface BootFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
}

export interface InstallRun {
  /** False when no triggering condition held (systemd skips the unit). */
  readonly ran: boolean;
  /** 0, or the exit code of the first ExecStart that failed. */
  readonly code: number;
  /** The first ExecStart that failed (its argv[0] and argv[1]), or undefined. */
  readonly failed: string | undefined;
  /** Files left in the writable layers (write_files' included): `/opt/bin/fleetd` → `0755 <sha256>`. */
  readonly files: Record<string, string>;
  /** Directories made under /opt and /var/lib. */
  readonly dirs: readonly string[];
  /** What the commands printed. */
  readonly output: string;
}

const sq = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

function lines(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

/**
 * Runs `unit` (its text) after writing `files`. `before` is shell run first inside the namespace (e.g. to
 * plant a file an earlier boot left). Bounded by `timeoutMs`.
 */
export async function runInstallUnit(unit: string, writeFiles: readonly BootFile[], o: { before?: string; timeoutMs?: number } = {}): Promise<InstallRun> {
  // One ExecStart: run while nothing has failed; a failure ends the unit unless the line has systemd's `-`.
  const step = (line: string): string => {
    const { prefix, argv } = parseExecLine(line);
    const run = `${argv.map(sq).join(' ')} >>"$layer/out" 2>&1`;
    return prefix.includes('-') ? `if [ $code = 0 ]; then ${run}; fi` : `if [ $code = 0 ]; then ${run} || { code=$?; failed=${sq(argv.slice(0, 2).join(' '))}; }; fi`;
  };
  const conditions = lines(unit, 'ConditionPathExists').map((c) => {
    const trigger = c.startsWith('|');
    const rest = trigger ? c.slice(1) : c;
    const negate = rest.startsWith('!');
    return { trigger, test: `${negate ? '! ' : ''}[ -e ${sq(negate ? rest.slice(1) : rest)} ]` };
  });
  const triggering = conditions.filter((c) => c.trigger).map((c) => c.test);
  const plain = conditions.filter((c) => !c.trigger).map((c) => c.test);
  const cond = [...plain, ...(triggering.length ? [`{ ${triggering.join(' || ')}; }`] : [])].join(' && ') || 'true';
  const script = [
    'set -u',
    'layer=$(mktemp -d)',
    'mount -t tmpfs fk-install "$layer"',
    'for d in /etc /opt /var/lib; do n=$(echo "$d" | tr / _); mkdir -p "$layer/u$n" "$layer/w$n"; mount -t overlay fk-install -o "lowerdir=$d,upperdir=$layer/u$n,workdir=$layer/w$n" "$d"; done',
    ...writeFiles.flatMap((f) => [`mkdir -p "$(dirname ${sq(f.path)})"`, `printf %s ${sq(f.content)} > ${sq(f.path)}`, `chmod ${f.permissions} ${sq(f.path)}`]),
    ...(o.before ? [o.before] : []),
    'code=0; failed=; ran=0',
    `if ${cond}; then`,
    '  ran=1',
    ...lines(unit, 'ExecStart').map((l) => `  ${step(l)}`),
    ...lines(unit, 'ExecStopPost').map((l) => `  ${parseExecLine(l).argv.map(sq).join(' ')} >>"$layer/out" 2>&1`),
    'fi',
    // Every file of the writable layers (write_files' too), read through the merged view.
    'echo "ran=$ran code=$code failed=$failed"',
    'for d in /etc /opt /var/lib; do n=$(echo "$d" | tr / _); (cd "$layer/u$n" && find . -type f) | while read -r f; do p="$d/${f#./}"; echo "file $p $(stat -c %a "$p") $(sha256sum < "$p" | cut -d" " -f1)"; done; done',
    'for d in /opt /var/lib; do n=$(echo "$d" | tr / _); (cd "$layer/u$n" && find . -mindepth 1 -type d) | while read -r f; do echo "dir $d/${f#./}"; done; done',
    'echo "--- output"; cat "$layer/out" 2>/dev/null; exit 0',
  ].join('\n');
  // Asynchronous: the server the unit fetches from may live in this very process.
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    execFile('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: o.timeoutMs ?? 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr: stderr || (err?.message ?? '') });
    });
  });
  if (r.status !== 0) throw new Error(`unshare failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  const head = /^ran=(\d) code=(\d+) failed=(.*)$/m.exec(r.stdout);
  if (!head) throw new Error(`no result from the install run:\n${r.stdout}\n${r.stderr}`);
  const files: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/^file (\S+) (\d+) ([0-9a-f]{64})$/gm)) files[m[1]!] = `${m[2]!.padStart(4, '0')} ${m[3]}`;
  const dirs = [...r.stdout.matchAll(/^dir (\S+)$/gm)].map((m) => m[1]!).sort();
  return { ran: head[1] === '1', code: Number(head[2]), failed: head[3] || undefined, files, dirs, output: r.stdout.slice(r.stdout.indexOf('--- output\n') + 11) };
}
