/**
 * The simulated machine's container unit (host-service.ts) on the real dockerd: a stop that arrives before the
 * unit's `docker run` has created its container must still leave no container running, and must return (a
 * `docker stop` of a container that does not exist yet stops nothing, and the run then starts it for good).
 */
import t from 'tap';
import { dockerPart } from '../env/parts.js';
import { serviceSettings, startService } from './host-service.js';

t.setTimeout(180_000);
const docker = await dockerPart(t);
const ROUNDS = 8;

t.test('a stop right after the start: the unit stops and leaves no container, every round', async (t) => {
  for (let i = 0; i < ROUNDS; i++) {
    const name = `fk-hs-${process.pid}-${i}`;
    t.teardown(() => docker.docker(['rm', '-f', name]).then(() => undefined));
    // A container that ends at SIGTERM (as PID 1, sh ignores it otherwise and docker stop waits 10 s).
    const argv = ['/usr/bin/docker', 'run', '--rm', '--name', name, docker.busyboxImage, 'sh', '-c', "trap 'exit 143' TERM; sleep 600 & wait"];
    const { service } = await startService(docker, argv, name, serviceSettings([{ section: 'Service', name: 'Restart', value: 'always' }]), () => undefined);
    // At once: the loop's `docker run` is on its way, its container not yet created.
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      service.stop().then(() => 'stopped'),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('hung'), 40_000))),
    ]);
    clearTimeout(timer);
    t.equal(outcome, 'stopped', `round ${i}: stop returns`);
    const ps = await docker.docker(['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Names}} {{.State}}']);
    t.equal(ps.stdout.trim(), '', `round ${i}: no container of the unit is left (${ps.stdout.trim() || 'none'})`);
    if (outcome !== 'stopped' || ps.stdout.trim()) break;
  }
});
