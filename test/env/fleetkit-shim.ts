/**
 * The built CLI (dist/fleetkit.cjs) as an executable file, for units and scripts that run `fleetkit` by path:
 * the one place tests write that shim, so the way the CLI is started for them is the same everywhere.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../../dist/fleetkit.cjs', import.meta.url));

/** Writes an executable `path` that runs the built CLI with this Node; returns `path`. */
export function writeFleetkitShim(path: string): string {
  writeFileSync(path, `#!/bin/sh\nexec ${process.execPath} ${BUNDLE} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
