// A Compose key whose docker flag the target's Docker lacks is a problem at that key's line:col, reported
// with the file's other problems in one run (not by the render's check, which has no position). The hint
// offers the newer target only when that target has the flag.
import t from 'tap';
import { SpecError, formatProblem } from '../../src/errors.js';
import { parseSpec } from '../../src/cluster/load.js';

const located = (yaml: string): string[] => {
  try {
    parseSpec(yaml, 'c.yaml');
  } catch (e) {
    if (e instanceof SpecError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
};

t.test('legacy: every key at its place, with the other problems, in line order', async (t) => {
  const got = located(`name: demo
x-fleetkit: { target: legacy }
services:
  web:
    image: nginx
    init: true
    healthcheck:
      test: ["CMD", "true"]
      start_period: 5s
      start_interval: 1s
    ports: ["80a"]
    x-docker: { args: ["--cgroupns=host"] }
    deploy: { resources: { limits: { cpus: "0.5" } } }
`).map((l) => l.replace(/ \(.*\)(?=\n|$)/, ''));
  t.strictSame(got.map((l) => l.split(': ').slice(0, 2).join(': ')), [
    'c.yaml:6:5: services.web.init',
    'c.yaml:9:7: services.web.healthcheck.start_period',
    'c.yaml:10:7: services.web.healthcheck.start_interval',
    'c.yaml:11:13: services.web.ports[0]',
    'c.yaml:12:24: services.web.x-docker.args[0]',
    'c.yaml:13:38: services.web.deploy.resources.limits.cpus',
  ]);
  t.match(got[0], 'docker run --init needs Docker 1.13; target legacy has Docker 1.12\n  hint: remove it, or render for target current (x-fleetkit.target: current)');
  t.match(got[2], /docker run --health-start-interval needs Docker 25\.0; target legacy has Docker 1\.12\n  hint: remove it$/);
});

t.test('current: start_interval (Docker 25) at its line; the same keys are fine where the target has them', async (t) => {
  const got = located(`name: demo
services:
  web:
    image: nginx
    init: true
    healthcheck: { test: ["CMD", "true"], start_period: 5s, start_interval: 1s }
`);
  t.equal(got.length, 1);
  t.match(got[0], /^c\.yaml:6:61: services\.web\.healthcheck\.start_interval: docker run --health-start-interval needs Docker 25\.0; target current has Docker 20\.10/);
  t.strictSame(located(`name: demo
services:
  web: { image: nginx, init: true, cpus: 0.5, healthcheck: { test: ["CMD", "true"], start_period: 5s } }
`), []);
});

t.test('legacy: create_host_path: false needs docker run --mount (Docker 17.06), found at volumes:', async (t) => {
  const got = located(`name: demo
x-fleetkit: { target: legacy }
services:
  web:
    image: nginx
    volumes:
      - { type: bind, source: /srv/conf, target: /etc/app, bind: { create_host_path: false } }
`).map((l) => l.replace(/ \(.*\)(?=\n|$)/, ''));
  t.strictSame(got.map((l) => l.split('\n')[0]), ['c.yaml:6:5: services.web.volumes: docker run --mount needs Docker 17.06; target legacy has Docker 1.12']);
});
