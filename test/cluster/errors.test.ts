/**
 * Bad specs → exact problems. Each row is a small cluster.yaml and every problem it must produce, as
 * [line:col, path, message], in order. Every problem must also carry a hint, and the error exits with 2.
 */
import t from 'tap';
import { ExitCode, SpecError, formatProblem } from '../../src/errors.js';
import { parseSpec } from '../../src/cluster/load.js';

const LONG = 'a'.repeat(240);

interface Row {
  readonly name: string;
  readonly yaml: string;
  readonly problems: ReadonlyArray<readonly [pos: string, path: string, message: string]>;
}

const rows: Row[] = [
  {
    name: "name is not a string",
    yaml: `name: [web]
services: { a: { image: nginx } }
`,
    problems: [
      ["1:7", "name", "expected a string, got a list"],
    ],
  },
  {
    name: "services missing",
    yaml: `name: web
`,
    problems: [
      ["1:1", "services", "\"services\" is required"],
    ],
  },
  {
    name: "image wrong type",
    yaml: `name: web
services:
  a:
    image: 5
`,
    problems: [
      ["4:12", "services.a.image", "expected a string, got 5"],
    ],
  },
  {
    name: "unknown service key with did-you-mean",
    yaml: `name: web
services:
  a:
    image: nginx
    enviroment: { A: b }
`,
    problems: [
      ["5:5", "services.a.enviroment", "unknown key \"enviroment\""],
    ],
  },
  {
    name: "unknown top-level key",
    yaml: `name: web
service: {}
services: { a: { image: nginx } }
`,
    problems: [
      ["2:1", "service", "unknown key \"service\""],
    ],
  },
  {
    name: "build without image",
    yaml: `name: web
services:
  a:
    build: .
`,
    problems: [
      ["4:5", "services.a.build", "fleetkit runs images and does not build them"],
    ],
  },
  {
    name: "internal network",
    yaml: `name: web
networks: { front: { internal: true } }
services: { a: { image: nginx, networks: [front, back] } }
`,
    problems: [
      ["2:22", "networks.front.internal", "an internal network promises no way out, but every container of a cluster shares one network with a way out"],
      ["3:50", "services.a.networks[1]", "network \"back\" is not declared under the top-level networks:"],
    ],
  },
  {
    name: "depends_on: unknown, itself, twice, a finished job, a bad condition, health without announcements",
    yaml: `name: web
services:
  a:
    image: nginx
    depends_on: [b, a, c, c]
  c:
    image: nginx
    depends_on:
      d: { condition: service_completed_successfully }
      e: { condition: service_ready }
      f: { condition: service_healthy }
  d: { image: nginx }
  e: { image: nginx }
  f: { image: nginx, healthcheck: { test: ["CMD", "true"] } }
`,
    problems: [
      ["5:18", "services.a.depends_on[0]", "service \"b\" does not exist"],
      ["5:21", "services.a.depends_on[1]", "service \"a\" cannot depend on itself"],
      ["5:27", "services.a.depends_on[3]", "\"c\" is listed twice"],
      ["9:23", "services.c.depends_on.d.condition", "service_completed_successfully cannot be awaited: a container that has finished is never announced, and systemd orders a unit after the start of another, not its end"],
      ["10:23", "services.c.depends_on.e.condition", "expected service_started or service_healthy, got \"service_ready\""],
      ["11:7", "services.c.depends_on.f", "\"f\" has no x-announce, so its health cannot be awaited: only announcements in etcd (made while a container is healthy) are seen on every machine"],
    ],
  },
  {
    name: "depends_on: a cycle, and a host name before the last segment of the key",
    yaml: `name: web
services:
  a: { image: nginx, depends_on: [b], x-announce: true }
  b: { image: nginx, depends_on: [a], x-announce: true }
  c: { image: nginx, depends_on: [g] }
  g: { image: nginx, deploy: { mode: global }, x-announce: { key: "/services/web/%H/g" } }
`,
    problems: [
      ["4:35", "services.b.depends_on[0]", "dependency cycle: a → b → a; each would wait for the next forever"],
      ["5:35", "services.c.depends_on[0]", "the announcements of \"g\" cannot be awaited: its x-announce.key names the host (%H) before its last segment"],
    ],
  },
  {
    name: "port 0",
    yaml: `name: web
services:
  a:
    image: nginx
    ports: ["0:80"]
`,
    problems: [
      ["5:13", "services.a.ports[0]", "expected a whole number from 1 to 65535, got \"0\""],
    ],
  },
  {
    name: "port 70000",
    yaml: `name: web
services:
  a:
    image: nginx
    ports: [70000]
`,
    problems: [
      ["5:13", "services.a.ports[0]", "expected a whole number from 1 to 65535, got 70000"],
    ],
  },
  {
    name: "port 80a",
    yaml: `name: web
services:
  a:
    image: nginx
    ports: ["8080:80a"]
`,
    problems: [
      ["5:13", "services.a.ports[0]", "expected a whole number from 1 to 65535, got \"80a\""],
    ],
  },
  {
    name: "port range mismatch",
    yaml: `name: web
services:
  a:
    image: nginx
    ports: ["9000-9001:9000-9002"]
`,
    problems: [
      ["5:13", "services.a.ports[0]", "published range has 2 ports but the container range has 3"],
    ],
  },
  {
    name: "port range backwards",
    yaml: `name: web
services:
  a:
    image: nginx
    ports: ["9002-9000"]
`,
    problems: [
      ["5:13", "services.a.ports[0]", "port range 9002-9000 ends before it starts"],
    ],
  },
  {
    name: "bad protocol",
    yaml: `name: web
services:
  a:
    image: nginx
    ports: ["53:53/icmp"]
`,
    problems: [
      ["5:13", "services.a.ports[0]", "expected protocol tcp, udp or sctp, got \"icmp\""],
    ],
  },
  {
    name: "machineID with conflicts",
    yaml: `name: web
services:
  a:
    image: nginx
    x-fleet: { conflicts: true, machineID: 0123456789abcdef0123456789abcdef }
`,
    problems: [
      ["5:14", "services.a.x-fleet", "fleet would refuse this unit: MachineID cannot be used with Conflicts"],
    ],
  },
  {
    name: "global with machineOf",
    yaml: `name: web
services:
  a:
    image: nginx
    x-fleet: { global: true, machineOf: b@1.service }
`,
    problems: [
      ["5:14", "services.a.x-fleet", "fleet would refuse this unit: Global cannot be used with Peers"],
    ],
  },
  {
    name: "conflicts with replaces",
    yaml: `name: web
services:
  a:
    image: nginx
    x-fleet: { conflicts: true, replaces: "old@*.service" }
`,
    problems: [
      ["5:14", "services.a.x-fleet", "fleet would refuse this unit: Conflicts cannot be used with Replaces"],
    ],
  },
  {
    name: "global with replicas",
    yaml: `name: web
services:
  a:
    image: nginx
    deploy: { replicas: 3 }
    x-fleet: { global: true }
`,
    problems: [
      ["5:25", "services.a.deploy.replicas", "a global service runs once on every machine; replicas: 3 cannot apply"],
    ],
  },
  {
    name: "placement !=",
    yaml: `name: web
services:
  a:
    image: nginx
    deploy:
      placement:
        constraints: ["node.labels.disk != hdd"]
`,
    problems: [
      ["7:23", "services.a.deploy.placement.constraints[0]", "fleet cannot express \"!=\" in placement: MachineMetadata only matches equal values"],
    ],
  },
  {
    name: "placement node.role",
    yaml: `name: web
services:
  a:
    image: nginx
    deploy:
      placement:
        constraints: ["node.role == manager"]
`,
    problems: [
      ["7:23", "services.a.deploy.placement.constraints[0]", "fleet can only place by machine metadata, not by \"node.role\""],
    ],
  },
  {
    name: "service name with capital",
    yaml: `name: web
services:
  Web_1:
    image: nginx
`,
    problems: [
      ["3:3", "services.Web_1", "service name \"Web_1\" must be lower-case letters, digits and \"-\", starting with a letter or digit"],
    ],
  },
  {
    name: "unit name over 255 bytes",
    yaml: `name: web
services:
  ${LONG}:
    image: nginx
    x-announce: { hostname: "a-%i" }
`,
    problems: [
      ["3:3", `services.${LONG}`, "unit name \"aaaaaaaaaaaaaaaaaaaa…-discovery@1.service\" would be 260 bytes; systemd allows at most 255"],
    ],
  },
  {
    name: "machineOf an instance never rendered",
    yaml: `name: web
services:
  db: { image: postgres }
  a:
    image: nginx
    x-fleet: { machineOf: db@2.service }
`,
    problems: [
      ["6:27", "services.a.x-fleet.machineOf", "db@2.service is never rendered: service \"db\" has 1 instance(s)"],
    ],
  },
  {
    name: "malformed conflicts glob",
    yaml: `name: web
services:
  a:
    image: nginx
    x-fleet: { conflicts: "a@[.service" }
`,
    problems: [
      ["5:14", "services.a.x-fleet", "[X-Fleet] Conflicts=a@[.service: malformed glob pattern: it never matches"],
    ],
  },
  {
    name: "env name with =",
    yaml: `name: web
services:
  a:
    image: nginx
    environment: ["=x"]
`,
    problems: [
      ["5:19", "services.a.environment[0]", "environment variable name \"\" must not be empty or contain \"=\", spaces or control characters"],
    ],
  },
  {
    name: "replicas 0",
    yaml: `name: web
services:
  a:
    image: nginx
    deploy: { replicas: 0 }
`,
    problems: [
      ["5:25", "services.a.deploy.replicas", "replicas must be at least 1: a service with no instance renders nothing"],
    ],
  },
  {
    name: "bad duration",
    yaml: `name: web
services:
  a:
    image: nginx
    stop_grace_period: 10 seconds
`,
    problems: [
      ["5:24", "services.a.stop_grace_period", "expected a duration like \"10s\" or \"1m30s\", got \"10 seconds\""],
    ],
  },
  {
    name: "ttl below 5s",
    yaml: `name: web
services:
  a:
    image: nginx
    x-announce: { ttl: 2s }
`,
    problems: [
      ["5:24", "services.a.x-announce.ttl", "must be at least 5s, got \"2s\""],
    ],
  },
  {
    name: "yaml syntax error",
    yaml: `name: web
services:
  a: { image: nginx
`,
    problems: [
      ["4:1", "", "YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }"],
    ],
  },
  {
    name: "duplicate key",
    yaml: `name: web
services:
  a:
    image: nginx
  a:
    image: httpd
`,
    problems: [
      ["5:3", "", "duplicate key \"a\": YAML allows each key once in a mapping"],
    ],
  },
  {
    name: "newline in env name",
    yaml: `name: web
services:
  a:
    image: nginx
    environment: { "A\\nB": x }
`,
    problems: [
      ["5:28", "services.a.environment[\"A\\nB\"]", "environment variable name \"A\\nB\" must not be empty or contain \"=\", spaces or control characters"],
    ],
  },
  {
    name: "newline in image",
    yaml: `name: web
services:
  a:
    image: "nginx\\nExecStartPre=/bin/sh"
`,
    problems: [
      ["4:12", "services.a.image", "expected a docker image reference, got \"nginx\\nExecStartPre=/bin/sh\""],
    ],
  },
  {
    name: "newline in service name",
    yaml: `name: web
services:
  "a\\nb":
    image: nginx
`,
    problems: [
      ["3:3", "services[\"a\\nb\"]", "service name \"a\\nb\" must be lower-case letters, digits and \"-\", starting with a letter or digit"],
    ],
  },
  {
    name: "newline in label key",
    yaml: `name: web
services:
  a:
    image: nginx
    labels: ["a\\nb=c"]
`,
    problems: [
      ["5:14", "services.a.labels[0]", "label name \"a\\nb\" must not be empty or contain \"=\", spaces or control characters"],
    ],
  },
  {
    name: "newline in x-systemd value",
    yaml: `name: web
services:
  a:
    image: nginx
    x-systemd: { Service: { Environment: "A=1\\nExecStartPre=/bin/rm -rf /" } }
`,
    problems: [
      ["5:42", "services.a.x-systemd.Service.Environment", "value \"A=1\\nExecStartPre=/bin/rm -rf /\" contains a newline or control character, which would end the directive and start another"],
    ],
  },
  {
    name: "x-systemd X-Fleet section",
    yaml: `name: web
services:
  a:
    image: nginx
    x-systemd: { X-Fleet: { Global: "true" } }
`,
    problems: [
      ["5:18", "services.a.x-systemd.X-Fleet", "the X-Fleet section is not allowed in x-systemd"],
    ],
  },
  {
    name: "x-systemd bad directive name",
    yaml: `name: web
services:
  a:
    image: nginx
    x-systemd: { Service: { "Exec Start": /bin/true } }
`,
    problems: [
      ["5:29", "services.a.x-systemd.Service[\"Exec Start\"]", "directive name \"Exec Start\" must be letters, digits and \"-\""],
    ],
  },
  {
    name: "% in machineMetadata",
    yaml: `name: web
services:
  a:
    image: nginx
    x-fleet: { machineMetadata: { rack: "r%i" } }
`,
    problems: [
      ["5:41", "services.a.x-fleet.machineMetadata.rack", "metadata value \"r%i\" must be letters, digits, \".\", \"_\" or \"-\""],
    ],
  },
  {
    name: "% specifier in hostname",
    yaml: `name: web
services:
  a:
    image: nginx
    x-announce: { hostname: "a-%m" }
`,
    problems: [
      ["5:29", "services.a.x-announce.hostname", "hostname \"a-%m\" uses \"%m\"; only %i, %l are replaced here"],
    ],
  },
  {
    name: "%H (full host name, may hold dots) in hostname",
    yaml: `name: web
services:
  a:
    image: nginx
    x-announce: { hostname: "a-%H" }
`,
    problems: [
      ["5:29", "services.a.x-announce.hostname", "hostname \"a-%H\" uses \"%H\"; only %i, %l are replaced here (%H is the full host name, which may hold dots, as in ip-10-0-0-1.ec2.internal; a hosts-file name is one label, and %l is the host name up to its first dot)"],
    ],
  },
  {
    name: "$ in announce key",
    yaml: `name: web
services:
  a:
    image: nginx
    x-announce: { key: "/services/$$HOME/%i" }
`,
    problems: [
      ["5:24", "services.a.x-announce.key", "key \"/services/$HOME/%i\" may contain only letters, digits, \".\", \"_\", \"-\", \"/\" and %i, %H, %l, %m"],
    ],
  },
  {
    name: "announce key outside prefix",
    yaml: `name: web
services:
  a:
    image: nginx
    x-announce: { key: "/other/a/%i" }
`,
    problems: [
      ["5:24", "services.a.x-announce.key", "key \"/other/a/%i\" must lie under the etcd prefix /services/"],
    ],
  },
  {
    name: "announce port not a container port",
    yaml: `name: web
services:
  a:
    image: nginx
    ports: ["8080:80"]
    x-announce: { port: 443 }
`,
    problems: [
      ["6:25", "services.a.x-announce.port", "port 443 is not one of the service's container ports (80)"],
    ],
  },
  {
    name: "unterminated quote in command",
    yaml: `name: web
services:
  a:
    image: nginx
    command: echo "hi
`,
    problems: [
      ["5:14", "services.a.command", "unterminated double quote in command string"],
    ],
  },
  {
    name: "home-relative volume",
    yaml: `name: web
services:
  a:
    image: nginx
    volumes: ["~/data:/data"]
`,
    problems: [
      ["5:15", "services.a.volumes[0]", "\"~/data\": the home directory of the user who renders is not a path on the hosts"],
    ],
  },
  {
    name: "restart bad",
    yaml: `name: web
services:
  a:
    image: nginx
    restart: sometimes
`,
    problems: [
      ["5:14", "services.a.restart", "expected no, always, on-failure[:N] or unless-stopped, got \"sometimes\""],
    ],
  },
  {
    name: "several problems at once",
    yaml: `name: Web!
services:
  a:
    image: nginx
    ports: ["80a"]
  b:
    image: 7
    links: [a]
`,
    problems: [
      ["1:7", "name", "cluster name \"Web!\" must be an RFC 1123 label (letters, digits, inner hyphens, at most 63 characters)"],
      ["5:13", "services.a.ports[0]", "expected a whole number from 1 to 65535, got \"80a\""],
      ["7:12", "services.b.image", "expected a string, got 7"],
      ["8:5", "services.b.links", "unsupported Compose key \"links\": links only work on one Docker host"],
    ],
  },
  {
    name: "flannel subnetLen too short",
    yaml: `name: web
flannel: { network: 10.1.0.0/16, subnetLen: 16 }
services: { a: { image: nginx } }
`,
    problems: [
      ["2:45", "flannel.subnetLen", "subnetLen 16 must be longer than the network's /16 and at most 30"],
    ],
  },
  {
    name: "x-fleet at top level",
    yaml: `name: web
x-fleet: { global: true }
services: { a: { image: nginx } }
`,
    problems: [
      ["2:1", "x-fleet", "x-fleet belongs under a service, not at the top level"],
    ],
  },
  {
    name: "discovery name collision",
    yaml: `name: web
services:
  a: { image: nginx, x-announce: true }
  a-discovery: { image: nginx }
`,
    problems: [
      ["4:3", "services.a-discovery", "service name \"a-discovery\" collides with the discovery unit of service \"a\""],
    ],
  },
  {
    name: "runtime url without sha256",
    yaml: `name: web
runtime:
  fleetkit: { url: "https://example.com/fleetkit" }
services: { a: { image: nginx } }
`,
    problems: [
      ["3:20", "runtime.fleetkit.url", "a download URL needs a sha256 to check it against"],
    ],
  },
  {
    name: "relative runtime.dockerSocket",
    yaml: `name: web
runtime: { dockerSocket: "run/docker.sock" }
services: { a: { image: nginx } }
`,
    problems: [
      ["2:26", "runtime.dockerSocket", "expected an absolute path, got \"run/docker.sock\""],
    ],
  },
  {
    name: "hostname with dot in x-announce",
    yaml: `name: web
services:
  a:
    image: nginx
    x-announce: { hostname: "a.%i" }
`,
    problems: [
      ["5:29", "services.a.x-announce.hostname", "hostname \"a.%i\" must become an RFC 1123 label (letters, digits, inner hyphens, at most 63 characters)"],
    ],
  },

];

t.ok(rows.length >= 30, `at least 30 bad specs (${rows.length})`);

for (const row of rows) {
  t.test(row.name, async (t) => {
    const err = t.throws(() => parseSpec(row.yaml, 'cluster.yaml')) as unknown;
    t.ok(err instanceof SpecError, 'a SpecError');
    if (!(err instanceof SpecError)) return;
    t.equal(err.exitCode, ExitCode.usage);
    t.equal(err.code, 'ERR_SPEC');
    const got = err.problems.map((p) => [p.pos ? `${p.pos.line}:${p.pos.col}` : '', p.path, p.message]);
    t.same(got, row.problems);
    for (const p of err.problems) {
      t.equal(p.file, 'cluster.yaml');
      t.match(p.hint, /\S/, `a hint for ${p.path}`);
    }
  });
}

t.test('formatted output names file:line:col and path, then the hint', async (t) => {
  const err = t.throws(() => parseSpec('name: web\nservices:\n  a:\n    image: nginx\n    ports: ["80a"]\n', 'cluster.yaml')) as SpecError;
  t.equal(
    formatProblem(err.problems[0]!),
    'cluster.yaml:5:13: services.a.ports[0]: expected a whole number from 1 to 65535, got "80a"\n' +
      '  hint: write a port from 1 to 65535, e.g. "8080:80", "127.0.0.1:8080:80/udp" or "9000-9002:9000-9002"',
  );
});

t.test('several problems end with a count line', async (t) => {
  const err = t.throws(() => parseSpec('name: Web!\nservices:\n  a: { image: 5 }\n', 'c.yaml')) as SpecError;
  t.match(err.format(), /\n2 problems; nothing was written\.$/);
});
