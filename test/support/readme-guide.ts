/**
 * The README's first-cluster guide as a test reads it: the `sh` blocks of one section, in order, joined into
 * one script, and the few places where the test environment differs from a user's machine, replaced in the
 * text by name (each replacement must find its text, so the guide cannot drift away from what is replaced).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');

/** The `sh` code blocks under the heading `### <title>` of README.md, up to the next heading of that level or above. */
export function guideBlocks(title: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n### ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section "### ${title}"`);
  const rest = readme.slice(start + 1);
  const end = rest.slice(4).search(/\n#{2,3} /);
  const section = end < 0 ? rest : rest.slice(0, end + 4);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Applies `[from, to]` replacements to every occurrence; throws when one finds nothing. */
export function adapt(script: string, replacements: ReadonlyArray<readonly [string | RegExp, string]>): string {
  let out = script;
  for (const [from, to] of replacements) {
    const found = typeof from === 'string' ? out.includes(from) : from.test(out);
    if (!found) throw new Error(`the guide no longer contains ${String(from)}: the test's replacement would not apply`);
    out = typeof from === 'string' ? out.replaceAll(from, to) : out.replace(new RegExp(from.source, from.flags.includes('g') ? from.flags : `${from.flags}g`), to);
  }
  return out;
}
