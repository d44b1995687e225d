import { fileLink } from '../../shared/app/file-links';
import { receiveChannelWebhook, type ChannelIntakeDeps } from '../../shared/app/channel-intake';
import { RECEIVING_CHANNELS } from '../../shared/channels/receivers';
import type { WebhookRequest } from '../../shared/channels/channel';
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
import { idempotencyKey } from '../../shared/http/idempotency-key';
import { bearerToken, httpHandler, json, parseJsonBody, rawBody, type HttpEvent } from '../../shared/http/http-handler';

/** What intake uses: the web API, upload forms, every channel's webhooks and the pages. */
export type IntakePorts = UploadSlotDeps & ChannelIntakeDeps & PageDeps & Pick<Ports, 'tokens' | 'push' | 'socketUrl' | 'publicBaseUrl'>;

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
      await postWebMessage(ports, target, parseJsonBody(e, PostMessageBody), idempotencyKey(e));
      return json(202, { accepted: true });
    },

    'GET /web/sessions/{sessionId}/messages': async (e) => {
      const ports = await getPorts();
      const claims = verifySessionToken(ports, param(e, 'sessionId'), bearerToken(e));
      const link = (sess: { id: string }, aid: string) => fileLink(ports.tokens, sess, aid);
      return json(200, await readWebMessages(ports, { id: claims.sid }, e.queryStringParameters?.after, link));
    },

    // Every channel's webhook routes (shared/channels/receivers.ts): the adapter verifies over
    // the exact bytes and headers the channel sent; the work itself runs in actions.
    ...Object.fromEntries(
      RECEIVING_CHANNELS.flatMap((channel) =>
        channel.routes.map((r) => [
          `${r.method} ${r.path}`,
          async (e: HttpEvent) => {
            const ports = await getPorts();
            const { response } = await receiveChannelWebhook(ports, channel, webhookRequest(ports, r.method, e));
            return response
              ? { statusCode: response.statusCode, headers: { 'content-type': response.contentType, 'cache-control': 'no-store' }, body: response.body }
              : json(200, { received: true });
          },
        ]),
      ),
    ),
  });
}

/** A webhook as the channel adapters see it: raw body, lower-case headers, the public URL called. */
function webhookRequest(ports: Pick<IntakePorts, 'publicBaseUrl'>, method: 'GET' | 'POST', e: HttpEvent): WebhookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(e.headers ?? {})) headers[name.toLowerCase()] = value;
  const base = ports.publicBaseUrl.replace(/\/+$/, '');
  return {
    method,
    pathParameters: Object.fromEntries(Object.entries(e.pathParameters ?? {}).filter((kv): kv is [string, string] => kv[1] !== undefined)),
    query: e.queryStringParameters ?? {},
    headers,
    rawBody: rawBody(e),
    publicUrl: `${base}${e.rawPath ?? ''}${e.rawQueryString ? `?${e.rawQueryString}` : ''}`,
  };
}
