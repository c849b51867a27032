/**
 * restartsThisRun on timestamps as systemd 252 stamps them (read with `systemctl show` from a unit that exits
 * 1 at once, Restart=always, RestartSec=100ms, on the test environment's systemd; µs). The real reads are in
 * systemd-manager.test.ts and, for a unit repaired by hand out of auto-restart, truth-matrix-systemd.test.ts.
 */
import t from 'tap';
import { restartsThisRun } from '../../src/systemd/systemd-manager.js';

const R = 100_000;

t.test('running again after an automatic restart: the restart job took it to dead RestartUSec after the exit', async (t) => {
  // ActiveExit (the exit) → 118 ms in auto-restart → InactiveEnter (the timer's restart job) → InactiveExit = ActiveEnter.
  t.equal(restartsThisRun(2, { activeExit: 16216747064, inactiveEnter: 16216865092, inactiveExit: 16216869891, activeEnter: 16216869891 }, R), 2);
});

t.test('waiting in auto-restart: active before it left inactive again, the count is this run', async (t) => {
  t.equal(restartsThisRun(2, { activeEnter: 16216869891, activeExit: 16216885876, inactiveEnter: 16216885876, inactiveExit: 16216886156 }, R), 2);
});

t.test('restarted by hand while waiting in auto-restart: dead sooner than RestartUSec after the exit, the count is the last run', async (t) => {
  const exit = 16216885876;
  t.equal(restartsThisRun(3, { activeExit: exit, inactiveEnter: exit + 30_000, inactiveExit: exit + 31_000, activeEnter: exit + 31_000 }, R), 0);
});

t.test('what needs no judgement', async (t) => {
  const any = { activeExit: 1, inactiveEnter: 2, inactiveExit: 3, activeEnter: 3 };
  t.equal(restartsThisRun(0, any, R), 0, 'no restarts');
  t.equal(restartsThisRun(undefined, any, R), undefined, 'no count (systemd before 235)');
  t.equal(restartsThisRun(4, any, 0), 4, 'no RestartUSec to tell by');
  t.equal(restartsThisRun(4, { ...any, activeEnter: 0 }, R), 4, 'never active');
});
