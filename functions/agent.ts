import { agentFromClaims, type AgentIdentity } from '../shared/app/agent-identity';
import { listConversations, ListConversationsQuery, openConversation } from '../shared/app/agent-conversations';
import { AgentMessageBody, createAgentUpload, release, sendAgentMessage, takeOver } from '../shared/app/agent-takeover';
import { buildDeps, lazyDeps, type Deps } from '../shared/app/deps';
import { markAgentOnline } from '../shared/app/presence';
import { UploadRequestBody } from '../shared/app/uploads';
import { loadConfig } from '../shared/config';
import { badRequest, zodMessage } from '../shared/http/errors';
import { httpHandler, json, parseJsonBody, type HttpEvent, type HttpResult } from '../shared/http/http-handler';

/**
 * The Live Takeover API. API Gateway's JWT authorizer (locally: the same checks) has
 * verified the token before this runs; the agent is who its claims say. Every call marks
 * the agent online for a minute (SPEC section 6).
 */
export function createAgentHandler(getDeps: () => Promise<Deps>) {
  const route =
    (fn: (deps: Deps, agent: AgentIdentity, sessionId: string, e: HttpEvent) => Promise<HttpResult>) =>
    async (e: HttpEvent): Promise<HttpResult> => {
      const agent = agentFromClaims(e.requestContext.authorizer?.jwt?.claims);
      const deps = await getDeps();
      await markAgentOnline(deps, agent);
      return fn(deps, agent, e.pathParameters?.sessionId ?? '', e);
    };

  return httpHandler({
    'GET /agent/conversations': route(async (deps, _agent, _id, e) => {
      const query = ListConversationsQuery.safeParse(e.queryStringParameters ?? {});
      if (!query.success) throw badRequest(zodMessage(query.error));
      return json(200, { conversations: await listConversations(deps, query.data) });
    }),

    'GET /agent/conversations/{sessionId}': route(async (deps, _agent, id, e) =>
      json(200, await openConversation(deps, id, e.queryStringParameters?.after)),
    ),

    'POST /agent/conversations/{sessionId}/takeover': route(async (deps, agent, id) => {
      const { session, started } = await takeOver(deps, id, agent);
      return json(200, { sessionId: session.id, operator: { agentId: agent.agentId, name: agent.name }, started });
    }),

    'POST /agent/conversations/{sessionId}/release': route(async (deps, agent, id) => {
      await release(deps, id, agent);
      return json(200, { sessionId: id, released: true });
    }),

    'POST /agent/conversations/{sessionId}/messages': route(async (deps, agent, id, e) =>
      json(202, await sendAgentMessage(deps, id, agent, parseJsonBody(e, AgentMessageBody))),
    ),

    'POST /agent/conversations/{sessionId}/uploads': route(async (deps, agent, id, e) =>
      json(201, await createAgentUpload(deps, id, agent, parseJsonBody(e, UploadRequestBody))),
    ),
  });
}

export const handler = createAgentHandler(lazyDeps(() => buildDeps(loadConfig())));
