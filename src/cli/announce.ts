/**
 * `fleetkit announce`: the sidekick. Registers a container with the host's agent over its socket and exits
 * once the agent has accepted (the rendered unit is Type=oneshot + RemainAfterExit=yes); `--withdraw`
 * (ExecStop) removes it. `--standalone` announces one container in the foreground without an agent.
 */
import { join } from 'node:path';
import { ExitCode, RemoteError, UsageError } from '../errors.js';
import { AGENT_SOCKET, requestAgent, type AgentRequest } from '../announce/agent-protocol.js';
import { createLogger } from '../log/logger.js';
import { checkKey, validateRegistration, type Registration } from '../announce/registration.js';
import { startAgent } from '../announce/start-agent.js';
import { connectEtcd, etcdError } from '../etcd/connect.js';
import { durationOption, intOption, parseCommandArgs } from './args.js';
import { etcdFlagSpec, etcdOptionsFrom } from './etcd-flags.js';
import { hostFlagSpec, hostOptionsFrom } from './agent.js';
import type { CliIO, Command } from './io.js';

const HELP = `usage: fleetkit announce --key KEY --container NAME [--port P] [--ttl 60s] [--hostname H] [--alias A…] [--extra NAME=VALUE…]
       fleetkit announce --withdraw --key KEY
       fleetkit announce --list
       fleetkit announce --standalone --etcd URL … --key KEY --container NAME …

Registers NAME with the host's agent (STATE_DIR/agent.sock, default /run/fleetkit) and exits once it is
accepted; the agent announces KEY while the container runs and is healthy. --list prints what the agent
holds, one JSON object per line (key, container, port, ttl, state); it waits for the agent like the others,
so the agent's unit uses it as its readiness check.

options:
  --alias A         a further name for the cluster's containers (the bare service name, a Compose alias);
                    repeatable
  --state-dir DIR   where the agent's socket is (default /run/fleetkit)
  --agent-wait D    how long to retry a socket nobody listens on yet (default 5s: the agent may be starting)
  --no-wait         exit once the agent holds the registration, without waiting for the container (the
                    sidekick units use it: they are active at once, and the agent gates on health)
  --etcd-prefix P   check the key against P here too (the agent always checks against its own prefix)
  --standalone      no agent: announce in the foreground until stopped (takes the agent's etcd/docker flags)
`;

/** The command's flags: the sidekick's own, plus the agent's etcd/docker/host flags for --standalone. */
const announceFlagSpec = {
  ...etcdFlagSpec,
  ...hostFlagSpec,
  key: { type: 'string' },
  container: { type: 'string' },
  port: { type: 'string' },
  ttl: { type: 'string' },
  hostname: { type: 'string' },
  alias: { type: 'string', multiple: true },
  extra: { type: 'string', multiple: true },
  'state-dir': { type: 'string' },
  'agent-wait': { type: 'string' },
  'no-wait': { type: 'boolean' },
  withdraw: { type: 'boolean' },
  list: { type: 'boolean' },
  standalone: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type AnnounceValues = ReturnType<typeof parseCommandArgs<typeof announceFlagSpec>>['values'];

/** Builds the registration from the flags, validated the way the agent validates it. */
function registrationFrom(values: Record<string, unknown>, prefix: string): Registration {
  if (!values['container']) throw Object.assign(new UsageError('announce: --container is required', 'pass --container NAME (the docker container to announce)'), { code: 'ERR_NO_CONTAINER' });
  const ttlMs = (() => {
    try {
      return durationOption('ttl', values['ttl'] as string | undefined, 60_000);
    } catch (e) {
      throw Object.assign(e as Error, { code: 'ERR_TTL' });
    }
  })();
  if (ttlMs % 1000 !== 0) throw Object.assign(new UsageError(`--ttl must be whole seconds, not "${String(values['ttl'])}"`, 'e.g. --ttl 60s'), { code: 'ERR_TTL' });
  const extra: Record<string, string> = {};
  for (const kv of (values['extra'] as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--extra must be NAME=VALUE, not "${kv}"`);
    extra[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return validateRegistration({
    key: values['key'],
    container: values['container'],
    ...(values['port'] === undefined ? {} : { port: intOption('port', values['port'] as string, 0, 1) }),
    ttl: ttlMs / 1000,
    ...(values['hostname'] === undefined ? {} : { hostname: values['hostname'] }),
    ...(values['alias'] === undefined ? {} : { aliases: values['alias'] }),
    ...(Object.keys(extra).length ? { extra } : {}),
  }, { prefix });
}

async function ask(socketPath: string, request: AgentRequest, waitMs: number): Promise<Record<string, unknown>> {
  // At boot the agent unit may have been forked but not yet be listening (it is Type=simple, and runs in a
  // container in the image form): retry a missing or refusing socket for a moment before giving up.
  const deadline = Date.now() + waitMs;
  let reply;
  for (;;) {
    try {
      reply = await requestAgent(socketPath, request);
      break;
    } catch (e) {
      if ((e as RemoteError).code !== 'ERR_NO_AGENT' || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!reply.ok) {
    // The agent's validation errors are the user's input errors: same codes, exit 2.
    const usage = /^ERR_(KEY|NO_KEY|KEY_PREFIX|TTL|PORT|HOSTNAME|EXTRA|CONTAINER|NO_CONTAINER|NO_SUCH_CONTAINER|USAGE|REGISTRATION)$/.test(reply.code);
    throw new RemoteError('agent', reply.code, `the agent refused: ${reply.message}`, { ...(reply.hint ? { hint: reply.hint } : {}), exitCode: usage ? ExitCode.usage : ExitCode.failed });
  }
  return reply;
}

async function runStandalone(values: AnnounceValues, reg: Registration | undefined, io: CliIO): Promise<number> {
  const { prefix, ...etcd } = etcdOptionsFrom(values, undefined, io.env);
  if (!reg) {
    // --withdraw --standalone: delete the key directly.
    const key = values.key ?? '';
    checkKey(key, prefix);
    const client = await connectEtcd(etcd);
    try {
      await client.delete().key(key);
    } catch (e) {
      throw etcdError(e, `delete of ${key}`, etcd.endpoints);
    } finally {
      client.close();
    }
    return ExitCode.ok;
  }
  const log = createLogger(io.stdout, { debug: values.debug ?? false, env: io.env });
  const agent = await startAgent({
    etcd, prefix, stateDir: undefined, registrations: [reg], requireEtcd: true, ...hostOptionsFrom(values, io.env), log,
  });
  if (!io.signal.aborted) await new Promise((resolve) => io.signal.addEventListener('abort', resolve, { once: true }));
  await agent.close({ revoke: true });
  return ExitCode.ok;
}

export const run: Command = async (argv, io) => {
  const { values } = parseCommandArgs('fleetkit announce', argv, announceFlagSpec);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const agentWait = durationOption('agent-wait', values['agent-wait'], 5000);
  if (values.list) {
    const reply = await ask(join(values['state-dir'] ?? '/run/fleetkit', AGENT_SOCKET), { op: 'list' }, agentWait);
    const regs = Array.isArray(reply['registrations']) ? (reply['registrations'] as unknown[]) : [];
    io.stdout.write(regs.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return ExitCode.ok;
  }
  if (!values.key) throw Object.assign(new UsageError('announce: --key is required', 'pass --key PREFIX/CLUSTER/SERVICE/INSTANCE'), { code: 'ERR_NO_KEY' });
  // Without --etcd-prefix only the key's form is checked here; the agent checks it against its prefix.
  const prefix = values.standalone || values['etcd-prefix'] ? etcdOptionsFrom(values, undefined, io.env).prefix : '/';
  if (values.withdraw) {
    checkKey(values.key, prefix);
    if (values.standalone) return runStandalone(values, undefined, io);
    const socketPath = join(values['state-dir'] ?? '/run/fleetkit', AGENT_SOCKET);
    const reply = await ask(socketPath, { op: 'withdraw', key: values.key }, agentWait);
    io.stderr.write(`fleetkit announce: withdrew ${values.key}${reply['known'] ? '' : ' (it was not registered)'}\n`);
    return ExitCode.ok;
  }
  const reg = registrationFrom(values, prefix);
  if (values.standalone) return runStandalone(values, reg, io);
  const socketPath = join(values['state-dir'] ?? '/run/fleetkit', AGENT_SOCKET);
  const reply = await ask(socketPath, { op: 'register', registration: reg, ...(values['no-wait'] ? { wait: false } : {}) }, agentWait);
  io.stderr.write(`fleetkit announce: ${reg.key} registered for container ${reg.container} (${String(reply['state'])})\n`);
  return ExitCode.ok;
};
