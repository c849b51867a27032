// Child process of bench/load-fleet.mjs: the fleet test server runs in its own process, as fleetd does, so
// its CPU time is not charged to the client being measured. Talks to the parent over IPC:
//   parent → {socketPath, latencyMs, machines}; child → {endpoint}; parent → 'stats' → {requests, puts, bugs}.
import { importBundled } from './load-bundle.mjs';

const { startFleetServer } = await importBundled(["export { startFleetServer } from './test/fleet-server/server.ts';"]);
process.once('message', async (opts) => {
  const server = await startFleetServer(opts);
  process.on('message', async (m) => {
    if (m === 'stats') {
      const r = server.requests;
      process.send({ requests: r.length, puts: r.filter((x) => x.method === 'PUT').length, bugs: server.bugsTriggered.length });
    } else if (m === 'close') {
      await server.close();
      process.exit(0);
    }
  });
  process.send({ endpoint: server.endpoint, socketPath: server.socketPath });
});
process.send('ready');
