import { buildDeps, lazyDeps, type Deps } from '../shared/app/deps';
import { fileLink } from '../shared/app/file-links';
import {
  authorizeSession,
  botConfig,
  createWebSession,
  CreateSessionBody,
  PostMessageBody,
  postWebMessage,
  readWebMessages,
} from '../shared/app/web-channel';
import { loadConfig } from '../shared/config';
import { bearerToken, httpHandler, json, parseJsonBody, type HttpEvent } from '../shared/http/http-handler';

/** Web API and channel webhooks: validate, persist what the user sent, queue the work. */
export function createIntakeHandler(getDeps: () => Promise<Deps>) {
  const param = (e: HttpEvent, name: string) => e.pathParameters?.[name] ?? '';
  const session = async (e: HttpEvent) => {
    const deps = await getDeps();
    return { deps, session: await authorizeSession(deps, param(e, 'sessionId'), bearerToken(e)) };
  };
  return httpHandler({
    'GET /web/bots/{botId}/config': async (e) => json(200, botConfig(await getDeps(), param(e, 'botId'))),

    'POST /web/sessions': async (e) => {
      const body = parseJsonBody(e, CreateSessionBody);
      return json(201, await createWebSession(await getDeps(), body));
    },

    'POST /web/sessions/{sessionId}/messages': async (e) => {
      const { deps, session: s } = await session(e);
      await postWebMessage(deps, s, parseJsonBody(e, PostMessageBody));
      return json(202, { accepted: true });
    },

    'GET /web/sessions/{sessionId}/messages': async (e) => {
      const { deps, session: s } = await session(e);
      const link = (sess: { id: string }, aid: string) => fileLink(deps.tokens, sess, aid);
      return json(200, await readWebMessages(deps, s, e.queryStringParameters?.after, link));
    },
  });
}

export const handler = createIntakeHandler(lazyDeps(() => buildDeps(loadConfig())));
