/**
 * Which of systemd's ActiveState values mean a unit's processes may still run (src/unit/active-state.ts),
 * checked against systemd's own list: every state the installed `systemctl --state=help` names is known,
 * and the states of newer systemd (src/basic/unit-def.h has `refreshing`, which `systemctl is-active`
 * counts as active) are classified too. A stop or a rolling replace that took `refreshing` for stopped
 * would go on while the old process still runs.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { RUNNING_STATES } from '../../src/unit/active-state.js';

const NOT_RUNNING = ['inactive', 'failed', 'maintenance'];

t.test('each systemd ActiveState is either running or not', async (t) => {
  t.same([...RUNNING_STATES].sort(), ['activating', 'active', 'deactivating', 'refreshing', 'reloading']);
  for (const s of NOT_RUNNING) t.notOk(RUNNING_STATES.has(s), `${s}: no process runs`);
  t.notOk(RUNNING_STATES.has('unknown'), 'a state not reported yet is not taken for running');
});

t.test("the installed systemctl's states are all known", async (t) => {
  const text = execFileSync('systemctl', ['--state=help'], { encoding: 'utf8' });
  const section = /Available unit active states:\n([\s\S]*?)(?:\n\n|$)/.exec(text)?.[1];
  t.ok(section, 'systemctl lists the unit active states');
  const states = (section ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  t.ok(states.includes('active') && states.includes('deactivating'), states.join(' '));
  for (const s of states) t.ok(RUNNING_STATES.has(s) || NOT_RUNNING.includes(s), `${s} is classified`);
});
