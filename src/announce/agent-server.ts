/**
 * The agent's unix socket (`STATE_DIR/agent.sock`, mode 0660: root and the socket's group may announce).
 * Each line is a request; each gets one reply line. Errors are replies, never a dropped connection.
 */
import { chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { FleetkitError, RemoteError } from '../errors.js';
import type { AgentReply } from './agent-protocol.js';

/** What a request is turned into. */
export type AgentHandler = (request: unknown) => Promise<AgentReply>;

/** Turns any thrown error into a reply. */
export function errorReply(e: unknown): AgentReply {
  if (e instanceof FleetkitError) return { ok: false, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { ok: false, code: 'ERR_INTERNAL', message: `internal error: ${(e as Error)?.message ?? String(e)}` };
}

/** True when something answers on the socket (another agent). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/** Listens on `path`, replacing a stale socket but never a live agent's. */
export async function listenAgentSocket(path: string, handle: AgentHandler): Promise<Server> {
  if (await answers(path)) {
    throw new RemoteError('agent', 'ERR_AGENT_RUNNING', `another fleetkit agent already answers on ${path}`, {
      hint: 'run one agent per host and cluster (fleetkit-agent-CLUSTER.service), or give this one its own --state-dir',
    });
  }
  await unlink(path).catch(() => undefined);
  const server = createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    let chain = Promise.resolve();
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 65_536) {
        sock.end(`${JSON.stringify({ ok: false, code: 'ERR_REQUEST', message: 'request line too long' })}\n`);
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // Replies keep request order on one connection.
        chain = chain.then(async () => {
          let reply: AgentReply;
          try {
            reply = await handle(JSON.parse(line));
          } catch (e) {
            reply = e instanceof SyntaxError ? { ok: false, code: 'ERR_REQUEST', message: 'request is not JSON' } : errorReply(e);
          }
          if (!sock.destroyed) sock.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => (server.off('error', reject), resolve()));
  });
  await chmod(path, 0o660);
  return server;
}
