/**
 * Golden files: rendered output compared byte for byte with a committed file (or a committed directory of
 * files). `UPDATE_GOLDEN=1` rewrites them; review the diff before committing.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Test } from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const updating = (): boolean => Boolean(process.env['UPDATE_GOLDEN']);
/** A path as the repository names it, for assertion names. */
const shown = (path: string): string => relative(root, path) || '.';

/** Asserts `actual` equals the golden file at `path` (absolute), or rewrites it under UPDATE_GOLDEN=1. */
export function matchGolden(t: Pick<Test, 'equal' | 'fail'>, path: string, actual: string): void {
  if (updating()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  if (!existsSync(path)) {
    t.fail(`golden file ${shown(path)} is missing: run with UPDATE_GOLDEN=1 and review it`);
    return;
  }
  t.equal(actual, readFileSync(path, 'utf8'), `matches ${shown(path)}`);
}

/** One file of a golden directory: its name in the directory and its expected text. */
export interface GoldenFile {
  readonly path: string;
  readonly text: string;
}

/**
 * Asserts the directory `dir` (absolute) holds exactly `files`: each one matches (matchGolden) and no other
 * entry is there. Under UPDATE_GOLDEN=1 the directory is rewritten to hold exactly them.
 */
export function matchGoldenDir(t: Pick<Test, 'equal' | 'fail' | 'strictSame'>, dir: string, files: readonly GoldenFile[]): void {
  const wanted = new Set(files.map((f) => f.path));
  const others = (): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => !wanted.has(f)).sort() : []);
  if (updating()) for (const f of others()) rmSync(join(dir, f), { recursive: true, force: true });
  for (const f of files) matchGolden(t, join(dir, f.path), f.text);
  t.strictSame(others(), [], `${shown(dir)}: no file beyond the golden set`);
}
