import { buildDeps, lazyDeps, type Deps } from '../shared/app/deps';
import { fileLink } from '../shared/app/file-links';
import { receiveMessengerWebhook, verifyMessengerSubscription } from '../shared/app/messenger-channel';
import { requestWebUpload, UploadRequestBody } from '../shared/app/uploads';
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
import { pageResponse } from '../shared/http/pages';
import { bearerToken, httpHandler, json, parseJsonBody, rawBody, type HttpEvent } from '../shared/http/http-handler';

/** Web API and channel webhooks: validate, persist what the user sent, queue the work. */
export function createIntakeHandler(getDeps: () => Promise<Deps>) {
  const param = (e: HttpEvent, name: string) => e.pathParameters?.[name] ?? '';
  const session = async (e: HttpEvent) => {
    const deps = await getDeps();
    return { deps, session: await authorizeSession(deps, param(e, 'sessionId'), bearerToken(e)) };
  };
  return httpHandler({
    'GET /': async () => pageResponse('chat', await getDeps()),
    'GET /agent': async () => pageResponse('agent', await getDeps()),

    'GET /web/bots/{botId}/config': async (e) => json(200, botConfig(await getDeps(), param(e, 'botId'))),

    'POST /web/sessions': async (e) => {
      const body = parseJsonBody(e, CreateSessionBody);
      return json(201, await createWebSession(await getDeps(), body));
    },

    'POST /web/sessions/{sessionId}/uploads': async (e) => {
      const { deps, session: s } = await session(e);
      return json(201, await requestWebUpload(deps, s, parseJsonBody(e, UploadRequestBody)));
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

    'GET /channels/messenger': async (e) => ({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      body: await verifyMessengerSubscription(await getDeps(), e.queryStringParameters ?? {}),
    }),

    // Signature first, over the exact bytes Meta signed; the work itself runs in actions.
    'POST /channels/messenger': async (e) => {
      const signature = e.headers?.['x-hub-signature-256'] ?? e.headers?.['X-Hub-Signature-256'];
      await receiveMessengerWebhook(await getDeps(), rawBody(e), signature);
      return json(200, { received: true });
    },
  });
}

export const handler = createIntakeHandler(lazyDeps(() => buildDeps(loadConfig())));
