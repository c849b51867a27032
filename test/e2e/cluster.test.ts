/**
 * End to end, on the real systemd, dockerd and etcd of the test environment: examples/e2e/cluster.yaml
 * (a web service of two announced instances, and a client that reaches them by name) goes through
 * `gen-units` and `fleetkit load --systemd --user`, runs, announces, resolves, survives a crash and a
 * restart, is reported by `status` and `logs`, and is destroyed without a trace (systemd-flow.ts). The same
 * flow runs again with fleetkit on the host as its container image (`runtime.fleetkit.image`): the agent and
 * watch-hosts run from fleetkit:<version>, the sidekicks exec into the agent's container. Then the cluster
 * goes through fleet's API: the project's fleet test server, whose simulated agent starts the units on the
 * same systemd (fleet-flow.ts).
 *
 * The flows share this file because they use the same global unit names (fleetkit-agent-e2e.service,
 * fleetkit-hosts-e2e.service) and, in the image form, container names on the run's one systemd and engine, so
 * they must not run side by side.
 * The timings (unit active → announced → in the hosts file, kill → gone, restart → back) are printed at the end.
 */
import t from 'tap';
import { runFleetFlow } from './fleet-flow.js';
import { createFlowContext } from './flow-context.js';
import { runSystemdFlow } from './systemd-flow.js';

// Three real clusters, one after the other, every command a process of its own: over the default 180 s.
t.setTimeout(480_000);
const ctx = await createFlowContext(t);
t.teardown(() => t.comment(ctx.timings.table('e2e timings (ms):')));

t.test('on the local systemd: gen-units, fleetkit load --systemd --user', (t) => runSystemdFlow(t, ctx, 'binary'));
t.test('on the local systemd, fleetkit from its image: agent and watch-hosts in containers', (t) => runSystemdFlow(t, ctx, 'image'));
t.test('through fleet\'s API: gen-units, fleetkit load via the fleet test server', (t) => runFleetFlow(t, ctx));
