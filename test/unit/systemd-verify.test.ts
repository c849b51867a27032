/**
 * systemd itself accepts the quoting: a unit whose ExecStart= carries a nasty argv passes
 * `systemd-analyze verify` with no diagnostics, and systemd reports back the argv we meant.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { quoteArgv, quoteEnvironment, plainValue } from '../../src/unit/quote.js';
import { serializeUnit } from '../../src/unit/serialize.js';

const run = promisify(execFile);
const nasty = ['/bin/echo', 'a b', '', ';', '50%', '%n', '$HOME', '${X}', '$$', 'say "hi"', "it's", 'back\\slash', 'ends\\',
  'l1\nl2', 'tab\there', '\x1b[0m', 'é✓😀', '|', '&&', '>', '#', '\\;', '{"json":"100%"}'];

async function verify(dir: string, name: string, text: string): Promise<{ code: number; diagnostics: string[] }> {
  const file = join(dir, name);
  await writeFile(file, text);
  const result = await run('/usr/bin/systemd-analyze', ['verify', '--man=no', file]).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => e,
  );
  // systemd reports a problem with a line as "PATH:LINE: message".
  const diagnostics = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.startsWith(`${file}:`));
  return { code: result.code, diagnostics };
}

t.test('systemd-analyze verify accepts quoted argv', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-quote-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unit = {
    name: 'quote-check.service',
    options: [
      { section: 'Unit', name: 'Description', value: plainValue('Description', 'quoting 100% $HOME') },
      { section: 'Service', name: 'Type', value: 'oneshot' },
      { section: 'Service', name: 'Environment', value: quoteEnvironment('MSG', 'x "y" 100% $Z\nl2') },
      { section: 'Service', name: 'ExecStart', value: quoteArgv(nasty) },
    ],
  };
  t.same(await verify(dir, unit.name, serializeUnit(unit)), { code: 0, diagnostics: [] });

  // Control: the same check does see what naive quoting gets wrong.
  const naive = await verify(dir, 'naive.service', `[Service]\nType=oneshot\nExecStart=/bin/echo 50%z back\\q\n`);
  t.equal(naive.code, 1, 'an unknown specifier is fatal');
  t.match(naive.diagnostics.join('\n'), /Failed to resolve unit specifiers/u);
});
