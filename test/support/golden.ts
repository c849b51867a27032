/**
 * Golden files: rendered output compared byte for byte with a committed file. `UPDATE_GOLDEN=1` rewrites
 * them; review the diff before committing.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

import type { Test } from 'tap';

/** Asserts `actual` equals the golden file at `path` (absolute), or rewrites it under UPDATE_GOLDEN=1. */
export function matchGolden(t: Pick<Test, 'equal' | 'fail'>, path: string, actual: string): void {
  if (process.env['UPDATE_GOLDEN']) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  if (!existsSync(path)) {
    t.fail(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 and review it`);
    return;
  }
  t.equal(actual, readFileSync(path, 'utf8'), `matches ${path.replace(/^.*\/test\//, 'test/')}`);
}
