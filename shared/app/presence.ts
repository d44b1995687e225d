import type { AgentIdentity } from './agent-identity';
import type { Ports } from './ports';

/** An agent counts as online this long after their last authenticated API call (SPEC section 6). */
export const PRESENCE_MS = 60_000;

/** Marks the agent online for the next minute; the console's polling keeps it fresh. */
export async function markAgentOnline(deps: Pick<Ports, 'presence' | 'now'>, agent: AgentIdentity): Promise<void> {
  await deps.presence.put({ agentId: agent.agentId, name: agent.name, onlineUntil: deps.now() + PRESENCE_MS });
}

/** The `agentsOnline` flow port: whether any agent called the API in the last minute. */
export async function anyAgentOnline(deps: Pick<Ports, 'presence' | 'now'>): Promise<boolean> {
  return (await deps.presence.online(deps.now())).length > 0;
}
