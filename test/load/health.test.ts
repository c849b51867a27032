/**
 * The one judgement of health, as a table: active and not restarting; a unit that restarts must stay up;
 * 3 restarts within the wait, or restarting when it ends, is a crash loop; one failure then up passes.
 */
import t from 'tap';
import { judgeHealth, type HealthInput } from '../../src/load/health.js';
import type { UnitState } from '../../src/unithost/unit-host.js';

const state = (o: Partial<UnitState>): UnitState => ({ name: 'web@1.service', loadState: 'loaded', activeState: 'active', subState: 'running', machines: [], restarts: 0, activeSince: undefined, result: 'success', exitStatus: undefined, restartPolicy: 'always', ...o });
const judge = (s: Partial<UnitState>, o: Partial<HealthInput> = {}) => judgeHealth({ state: state(s), restartsAtStart: 0, restarts: s.restarts ?? 0, lastExit: undefined, activeSince: undefined, now: 10_000, stableMs: 3000, final: false, ...o }).kind;

t.test('a unit without Restart= is healthy on its own state', async (t) => {
  t.equal(judge({ restartPolicy: 'no' }), 'healthy');
  t.equal(judge({ restartPolicy: undefined }), 'healthy', 'a host that does not say (fleet without facts)');
  t.equal(judge({ restartPolicy: undefined, restarts: undefined }, { restarts: 0, fromFacts: true, activeSince: 9_000 }), 'pending', 'its container\'s facts exist: the container may restart, it must stay up');
  t.equal(judge({ restartPolicy: undefined, restarts: undefined }, { restarts: 0, fromFacts: true, activeSince: 7_000 }), 'healthy');
  t.equal(judge({ restartPolicy: 'no', activeState: 'failed', result: 'exit-code' }, { lastExit: 3 }), 'failed');
});

t.test('a unit that restarts counts once it stayed active for the stable time', async (t) => {
  t.equal(judge({}, { activeSince: 9_000 }), 'pending', 'active for 1 s of 3');
  t.equal(judge({}, { activeSince: 7_000 }), 'healthy');
  t.equal(judge({ restarts: 1 }, { activeSince: 6_000, lastExit: 1 }), 'healthy', 'failed once (waiting for its database), then stayed up');
});

t.test('a crash loop: 3 restarts within the wait, at once; or restarting when the wait ends', async (t) => {
  t.equal(judge({ restarts: 3, subState: 'running' }, { activeSince: 1_000 }), 'crash-loop', 'counted, whatever the state now');
  t.equal(judge({ restarts: 5 }, { restartsAtStart: 3, activeSince: 9_900 }), 'pending', 'restarts before the wait do not count');
  t.equal(judge({ activeState: 'activating', subState: 'auto-restart', restarts: 1 }), 'pending', 'one failure is not a loop yet');
  t.equal(judge({ activeState: 'activating', subState: 'auto-restart', restarts: 1 }, { final: true }), 'crash-loop');
  t.equal(judge({ restarts: 2 }, { activeSince: 9_500, final: true }), 'crash-loop', 'up again but not stable when the wait ended after restarts');
  t.equal(judge({ activeState: 'activating', subState: 'start' }, { final: true }), 'failed', 'never came up');
});

t.test('the verdict says why, with the exit status', async (t) => {
  const v = judgeHealth({ state: state({ restarts: 3 }), restartsAtStart: 0, restarts: 3, lastExit: 1, activeSince: undefined, now: 0, stableMs: 3000, final: false });
  t.same(v, { kind: 'crash-loop', why: 'crash loop: restarted 3 times while waiting (last exit status 1)' });
});
