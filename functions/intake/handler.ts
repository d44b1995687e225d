import { fileLink } from '../../shared/app/file-links';
import { receiveMessengerWebhook, verifyMessengerSubscription, type MessengerIntakeDeps } from '../../shared/app/messenger-channel';
import type { Ports } from '../../shared/app/ports';
import { socketUrlFor } from '../../shared/app/socket-url';
import { requestWebUpload, UploadRequestBody, type UploadSlotDeps } from '../../shared/app/uploads';
import {
  authorizeSession,
  botConfig,
  createWebSession,
  CreateSessionBody,
  PostMessageBody,
  postWebMessage,
  readWebMessages,
  verifySessionToken,
} from '../../shared/app/web-channel';
import { withResponseHeaders } from '../../shared/http/errors';
import { pageResponse, widgetScriptResponse, type PageDeps } from '../../shared/http/pages';
import { bearerToken, httpHandler, json, parseJsonBody, rawBody, type HttpEvent } from '../../shared/http/http-handler';

/** What intake uses: the web API, upload forms, the Messenger webhook and the pages. */
export type IntakePorts = UploadSlotDeps & MessengerIntakeDeps & PageDeps & Pick<Ports, 'tokens' | 'push' | 'socketUrl'>;

/** The pages' settings with the socket address this client will be given (its origin joins connect-src). */
const withSocket = (ports: IntakePorts, e: HttpEvent): PageDeps => ({
  ...ports,
  pages: { ...ports.pages, socketUrl: socketUrlFor(ports.socketUrl, e.headers?.host) },
});

const ANY_ORIGIN = { 'access-control-allow-origin': '*' };

/** Web API and channel webhooks: validate, persist what the user sent, queue the work. */
export function createIntakeHandler(getPorts: () => Promise<IntakePorts>) {
  const param = (e: HttpEvent, name: string) => e.pathParameters?.[name] ?? '';
  const session = async (e: HttpEvent) => {
    const ports = await getPorts();
    return { ports, session: await authorizeSession(ports, param(e, 'sessionId'), bearerToken(e)) };
  };
  return httpHandler({
    // The chat page's frame-ancestors follow the bot it shows (SPEC 11).
    'GET /': async (e) => pageResponse('chat', withSocket(await getPorts(), e), e.queryStringParameters?.bot),
    'GET /agent': async (e) => pageResponse('agent', withSocket(await getPorts(), e)),
    'GET /widget.js': async (e) => widgetScriptResponse(e.headers?.['if-none-match']),

    // Public and credential-free: the widget reads the bot's look from other sites' pages.
    'GET /web/bots/{botId}/config': async (e) => {
      const ports = await getPorts();
      try {
        return json(200, botConfig(ports, param(e, 'botId'), e.headers?.host), ANY_ORIGIN);
      } catch (err) {
        throw withResponseHeaders(err, ANY_ORIGIN);
      }
    },

    'POST /web/sessions': async (e) => {
      const body = parseJsonBody(e, CreateSessionBody);
      return json(201, await createWebSession(await getPorts(), body));
    },

    'POST /web/sessions/{sessionId}/uploads': async (e) => {
      const { ports, session: s } = await session(e);
      return json(201, await requestWebUpload(ports, s, parseJsonBody(e, UploadRequestBody)));
    },

    // The token names the session and its bot, so these read nothing before their one
    // conditional write or one query, which also check the session is live (SPEC 10).
    'POST /web/sessions/{sessionId}/messages': async (e) => {
      const ports = await getPorts();
      const claims = verifySessionToken(ports, param(e, 'sessionId'), bearerToken(e));
      const target = claims.bot ? { id: claims.sid, botId: claims.bot } : await authorizeSession(ports, claims.sid, bearerToken(e));
      await postWebMessage(ports, target, parseJsonBody(e, PostMessageBody));
      return json(202, { accepted: true });
    },

    'GET /web/sessions/{sessionId}/messages': async (e) => {
      const ports = await getPorts();
      const claims = verifySessionToken(ports, param(e, 'sessionId'), bearerToken(e));
      const link = (sess: { id: string }, aid: string) => fileLink(ports.tokens, sess, aid);
      return json(200, await readWebMessages(ports, { id: claims.sid }, e.queryStringParameters?.after, link));
    },

    'GET /channels/messenger': async (e) => ({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      body: await verifyMessengerSubscription(await getPorts(), e.queryStringParameters ?? {}),
    }),

    // Signature first, over the exact bytes Meta signed; the work itself runs in actions.
    'POST /channels/messenger': async (e) => {
      const signature = e.headers?.['x-hub-signature-256'] ?? e.headers?.['X-Hub-Signature-256'];
      await receiveMessengerWebhook(await getPorts(), rawBody(e), signature);
      return json(200, { received: true });
    },
  });
}
