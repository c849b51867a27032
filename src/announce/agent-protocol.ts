/**
 * The agent's socket protocol: one JSON object per line each way. Requests:
 * `{"op":"register","registration":{key,container,port?,ttl,hostname?,extra?}}`, `{"op":"withdraw","key":K}`,
 * `{"op":"list"}`. Replies: `{"ok":true,…}` or `{"ok":false,"code","message","hint"?}`.
 */
import { createConnection } from 'node:net';
import { RemoteError } from '../errors.js';

/** A request line. */
export type AgentRequest =
  /** `wait: false`: reply once the registration is valid and held, before the container is found or announced. */
  | { readonly op: 'register'; readonly registration: unknown; readonly wait?: boolean }
  | { readonly op: 'withdraw'; readonly key: string }
  | { readonly op: 'list' };

/** A reply line. */
export type AgentReply =
  | ({ readonly ok: true } & Record<string, unknown>)
  | { readonly ok: false; readonly code: string; readonly message: string; readonly hint?: string };

/** The socket's name inside the state dir. */
export const AGENT_SOCKET = 'agent.sock';

/**
 * Sends one request to the agent at `socketPath` and returns its reply. A missing or dead socket becomes an
 * ERR_NO_AGENT error that names the socket and the unit to start.
 */
export function requestAgent(socketPath: string, request: AgentRequest, timeoutMs = 30_000): Promise<AgentReply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new RemoteError('agent', 'ERR_AGENT_TIMEOUT', `the fleetkit agent at ${socketPath} did not answer within ${timeoutMs / 1000} s`, {
        hint: "check it with: systemctl status 'fleetkit-agent-*.service'; journalctl -u 'fleetkit-agent-*.service'",
      }));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(request)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as AgentReply);
      } catch {
        reject(new RemoteError('agent', 'ERR_AGENT_REPLY', `the fleetkit agent at ${socketPath} sent a malformed reply`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new RemoteError('agent', 'ERR_NO_AGENT', `no fleetkit agent answers on ${socketPath} (${e.code ?? e.message})`, {
        hint: 'start it with: systemctl start fleetkit-agent-CLUSTER.service (or pass --state-dir where the agent runs, or use --standalone)',
        cause: e,
      }));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new RemoteError('agent', 'ERR_AGENT_REPLY', `the fleetkit agent at ${socketPath} closed the connection without a reply`));
    });
  });
}
