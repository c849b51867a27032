/**
 * The Butane `variant: fcos` schema (version 1.7.0, which produces Ignition 3.6.0), written from Butane's
 * configuration specification: the parts fleetkit emits (passwd.users, storage.files/directories,
 * systemd.units with dropins) plus their documented siblings. Unknown keys are rejected.
 */
import * as z from 'zod/mini';

const str = z.string();
const opt = z.optional;

/** File modes are integers (decimal in the output, e.g. 0600 → 384). */
const mode = z.int().check(z.gte(0), z.lte(0o7777));
const node = { path: str.check(z.regex(/^\//)), overwrite: opt(z.boolean()), user: opt(z.strictObject({ id: opt(z.int()), name: opt(str) })), group: opt(z.strictObject({ id: opt(z.int()), name: opt(str) })) };
const resource = z.strictObject({
  inline: opt(str),
  local: opt(str),
  source: opt(str),
  compression: opt(z.enum(['', 'gzip'])),
  verification: opt(z.strictObject({ hash: opt(str.check(z.regex(/^sha(256|512)-[0-9a-f]+$/))) })),
});

export const butaneSchema = z.strictObject({
  variant: z.literal('fcos'),
  version: z.literal('1.7.0'),
  passwd: opt(
    z.strictObject({
      users: opt(z.array(z.strictObject({ name: str, ssh_authorized_keys: opt(z.array(str)), groups: opt(z.array(str)), password_hash: opt(str), home_dir: opt(str), shell: opt(str) }))),
    }),
  ),
  storage: opt(
    z.strictObject({
      files: opt(z.array(z.strictObject({ ...node, mode: opt(mode), contents: opt(resource), append: opt(z.array(resource)) }))),
      directories: opt(z.array(z.strictObject({ ...node, mode: opt(mode) }))),
      links: opt(z.array(z.strictObject({ ...node, target: str, hard: opt(z.boolean()) }))),
    }),
  ),
  systemd: opt(
    z.strictObject({
      units: opt(
        z.array(
          z.strictObject({
            name: str,
            enabled: opt(z.boolean()),
            mask: opt(z.boolean()),
            contents: opt(str),
            dropins: opt(z.array(z.strictObject({ name: str.check(z.regex(/\.conf$/)), contents: opt(str) }))),
          }),
        ),
      ),
    }),
  ),
});
