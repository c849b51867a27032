// STATE_DIR/leases.json: what a restarted agent takes over. Only whole TTLs and int64 lease ids in decimal
// text are read back; anything else is dropped with a line (the cost is a new lease, never a wrong one).
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEASES_FILE, loadLeases, writeLeases } from '../../src/announce/registry-file.js';
import { createLogger } from '../../src/log/logger.js';

t.test('round trip, and hostile content dropped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fk-leases-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = createLogger({ write: (s: string) => void lines.push(...s.split('\n').filter(Boolean)) }, { journal: true });
  t.strictSame(await loadLeases(dir, log), new Map(), 'no file: nothing to take over');
  t.strictSame(lines, [], 'and nothing to say');
  // 9223372036854775807 is int64's largest: a double would round it to …808.
  await writeLeases(dir, new Map([[60, '9223372036854775807'], [5, '7587869312459873283']]));
  t.strictSame(await loadLeases(dir, log), new Map([[60, '9223372036854775807'], [5, '7587869312459873283']]), 'ids kept exact');
  await writeFile(join(dir, LEASES_FILE), JSON.stringify({ version: 1, leases: {
    60: '9223372036854775808', 5: 123, '-1': '5', '1.5': '7', x: '8', 30: '0', 20: '12 ', 10: '4242',
  } }));
  t.strictSame(await loadLeases(dir, log), new Map([[10, '4242']]), 'only the valid entry');
  t.equal(lines.filter((l) => l.includes('dropped the entry')).length, 7, 'one line per dropped entry');
  await writeFile(join(dir, LEASES_FILE), '{"leases":');
  t.strictSame(await loadLeases(dir, log), new Map(), 'not JSON: nothing');
  t.match(lines.at(-1), /cannot read .*leases\.json/);
});
