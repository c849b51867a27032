// esbuild plugin: optional modules that dependencies try to `require` inside try/catch and do without.
// Left as plain run-time requires, they would be looked up beside the bundle, so the same file could load
// native code in one directory and not in another. Each is replaced by a module that throws when loaded,
// which is exactly the "not installed" case every one of these callers already handles.

/**
 * Module requests that the single-file build never satisfies, and why each may be missing:
 * - `cpu-features` (ssh2): picks the fastest cipher order; without it ssh2 uses its default order.
 * - `./crypto/build/Release/sshcrypto.node` (ssh2): native ciphers; without it ssh2 uses node:crypto.
 * - `usocket` (dbus-next): only for abstract-namespace bus addresses; systemd's buses are `unix:path=`.
 */
export const ABSENT_MODULES = ['cpu-features', './crypto/build/Release/sshcrypto.node', 'usocket'];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The plugin. */
export function absentOptionalModules(names = ABSENT_MODULES) {
  const filter = new RegExp(`^(${names.map(escape).join('|')})$`);
  return {
    name: 'absent-optional-modules',
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'fleetkit-absent' }));
      build.onLoad({ filter: /.*/, namespace: 'fleetkit-absent' }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (not part of the single-file build)`)}), { code: 'MODULE_NOT_FOUND' });`,
        loader: 'js',
      }));
    },
  };
}
