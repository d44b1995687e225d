import { agentFromClaims, type AgentIdentity } from '../../shared/app/agent-identity';
import { listConversations, openConversation } from '../../shared/app/agent-conversations';
import { ListConversationsQuery } from '../../shared/app/agent-list-query';
import { AgentMessageBody, createAgentUpload, release, sendAgentMessage, takeOver, type TakeoverDeps } from '../../shared/app/agent-takeover';
import type { Ports, WithSessionAdmin } from '../../shared/app/ports';
import { markAgentOnline } from '../../shared/app/presence';
import { UploadRequestBody } from '../../shared/app/uploads';
import { badRequest, zodMessage } from '../../shared/http/errors';
import { idempotencyKey } from '../../shared/http/idempotency-key';
import { httpHandler, json, parseJsonBody, type HttpEvent, type HttpResult } from '../../shared/http/http-handler';

/** What the agent API uses: conversations, takeover, agent files (checked like users'), presence, delivery. */
export type AgentPorts = TakeoverDeps & Pick<Ports, 'presence' | 'tokens' | 'uploadForms'> & WithSessionAdmin<'claimOperator' | 'releaseOperator' | 'listConversations' | 'appendAgentMessage'> & Partial<Pick<Ports, 'sockets'>>;

/**
 * The Live Takeover API. API Gateway's JWT authorizer (locally: the same checks) has
 * verified the token before this runs; the agent is who its claims say. Every call marks
 * the agent online for a minute (SPEC section 6).
 */
export function createAgentHandler(getPorts: () => Promise<AgentPorts>) {
  const route =
    (fn: (ports: AgentPorts, agent: AgentIdentity, sessionId: string, e: HttpEvent) => Promise<HttpResult>) =>
    async (e: HttpEvent): Promise<HttpResult> => {
      const agent = agentFromClaims(e.requestContext.authorizer?.jwt?.claims);
      const ports = await getPorts();
      await markAgentOnline(ports, agent);
      return fn(ports, agent, e.pathParameters?.sessionId ?? '', e);
    };

  return httpHandler({
    'GET /agent/conversations': route(async (ports, _agent, _id, e) => {
      const query = ListConversationsQuery.safeParse(e.queryStringParameters ?? {});
      if (!query.success) throw badRequest(zodMessage(query.error));
      return json(200, await listConversations(ports, query.data));
    }),

    'GET /agent/conversations/{sessionId}': route(async (ports, agent, id, e) =>
      json(200, await openConversation(ports, id, e.queryStringParameters?.after, agent)),
    ),

    'POST /agent/conversations/{sessionId}/takeover': route(async (ports, agent, id) => {
      const { session, started } = await takeOver(ports, id, agent);
      return json(200, { sessionId: session.id, operator: { agentId: agent.agentId, name: agent.name }, started });
    }),

    'POST /agent/conversations/{sessionId}/release': route(async (ports, agent, id) => {
      await release(ports, id, agent);
      return json(200, { sessionId: id, released: true });
    }),

    'POST /agent/conversations/{sessionId}/messages': route(async (ports, agent, id, e) =>
      json(202, await sendAgentMessage(ports, id, agent, parseJsonBody(e, AgentMessageBody), idempotencyKey(e))),
    ),

    'POST /agent/conversations/{sessionId}/uploads': route(async (ports, agent, id, e) =>
      json(201, await createAgentUpload(ports, id, agent, parseJsonBody(e, UploadRequestBody))),
    ),
  });
}
