/**
 * The command a container unit's ExecStart runs, seen past fleetkit's own wrapper: a service with
 * `depends_on` starts `fleetkit await … -- docker run …` (src/render/plan-await.ts), and the readers of a
 * unit's docker command (the target check, the configuration hash) look at what follows the `--`. Pure.
 */

/** `[fleetkit, 'await', …, '--', docker, 'run', …]` → `[docker, 'run', …]`; any other argv as it is. */
export function unwrapAwait(argv: readonly string[]): readonly string[] {
  if (argv[1] !== 'await' || !/(^|\/)fleetkit$/.test(argv[0] ?? '')) return argv;
  const sep = argv.indexOf('--');
  return sep < 0 ? argv : argv.slice(sep + 1);
}
