/** fleetkit's agent answers on its socket (`STATE_DIR/agent.sock`), the way a sidekick reaches it. */
import { join } from 'node:path';
import { AGENT_SOCKET, requestAgent } from '../announce/agent-protocol.js';
import { fail, failFrom, ok, type CheckDef } from './check.js';

export function agentCheck(stateDir: string): CheckDef {
  const socket = join(stateDir, AGENT_SOCKET);
  return {
    name: 'agent',
    async run(ctx) {
      try {
        const reply = await requestAgent(socket, { op: 'list' }, ctx.timeoutMs);
        if (!reply.ok) return fail(`the agent on ${socket} refused a list: ${reply.message}`, reply.hint);
        const held = Array.isArray(reply['registrations']) ? (reply['registrations'] as unknown[]).length : undefined;
        return ok(`the agent answers on ${socket}${held === undefined ? '' : ` (${held} registration${held === 1 ? '' : 's'})`}`);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ERR_NO_AGENT') return fail((e as Error).message, `start it: systemctl start fleetkit-agent-CLUSTER.service (or pass --state-dir where it runs)`);
        return failFrom(e);
      }
    },
  };
}
