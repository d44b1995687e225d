import { InvalidRequest, VerificationRefused } from '../../domain/errors';
import { logger } from '../../logger';
import { verifiedMetaJson } from '../meta-webhook';
import type { ChannelAdapter, WebhookContext, WebhookOutcome, WebhookRequest } from '../channel';
import { MessengerConfig } from './config';
import { MAX_QUICK_REPLIES, MAX_TEXT_CHARS, sendsFor, type SendMessage } from './outbound';
import { SendApi } from './send-api';
import { secretsEqual } from './signature';
import { inboundMessages, pageIdsIn, WebhookBody } from './webhook';

/**
 * Facebook Messenger (SPEC 2, 7): Meta's `hub.challenge` handshake, `X-Hub-Signature-256`
 * over the raw body, the bot chosen by the page id, media by CDN URL, replies through the
 * Send API with files by `/files` URL (Meta fetches them).
 */

type Ctx = WebhookContext<MessengerConfig>;

const text = (statusCode: number, body: string) => ({ statusCode, contentType: 'text/plain; charset=utf-8', body });

/** GET: Meta's subscription handshake; the verify token must be some Messenger bot's (constant time). */
async function handshake(request: WebhookRequest, ctx: Ctx): Promise<WebhookOutcome> {
  const { query } = request;
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (query['hub.mode'] === 'subscribe' && token && challenge && challenge.length <= 256) {
    for (const bot of ctx.bots) {
      if (secretsEqual(token, await ctx.secret(bot.config.verifyToken))) return { kind: 'response', response: text(200, challenge) };
    }
  }
  logger.warn('messenger subscription refused', { mode: query['hub.mode'] });
  throw new VerificationRefused('The verify token does not match');
}

/** POST: one signed delivery; each user message becomes an event of the page's bot. */
async function delivery(request: WebhookRequest, ctx: Ctx): Promise<WebhookOutcome> {
  const json = await verifiedMetaJson(request, ctx, pageIdsIn, (c) => c.pageId, 'messenger');
  const body = WebhookBody.safeParse(json);
  if (!body.success) throw new InvalidRequest('Request body is not a Messenger webhook event');
  if (body.data.object !== 'page') {
    logger.info('messenger webhook for another object ignored', { object: body.data.object });
    return { kind: 'events', events: [] };
  }
  const events = body.data.entry.flatMap((entry) => {
    const bot = ctx.bots.find((b) => b.config.pageId === entry.id);
    if (!bot) {
      logger.warn('messenger webhook for an unknown page ignored', { pageId: entry.id });
      return [];
    }
    return inboundMessages(entry).map((m) => ({
      botId: bot.botId,
      account: m.pageId,
      user: m.psid,
      messageId: m.mid,
      ...(m.text !== undefined && { text: m.text }),
      ...(m.buttonIndex !== undefined && { buttonIndex: m.buttonIndex }),
      media: m.media.map((item) => ({ kind: item.type, ref: item.url })),
    }));
  });
  return { kind: 'events', events };
}

export const messengerChannel = {
  name: 'messenger' as const,
  label: 'Facebook Messenger',
  configSchema: MessengerConfig,
  routes: [
    { method: 'GET' as const, path: '/channels/messenger' },
    { method: 'POST' as const, path: '/channels/messenger' },
  ],
  webhookAuthentication:
    'is the Messenger webhook: the handler rejects POSTs whose X-Hub-Signature-256 HMAC of the raw body does not match the app secret, and GET answers the verify-token handshake',
  apiUrlSetting: 'MESSENGER_API_URL' as const,
  limits: {
    // Meta's attachment limit (Send API reference): 25 MB each way.
    inboundMaxBytes: 25 * 1024 * 1024,
    outboundMaxBytes: 25 * 1024 * 1024,
    maxButtons: MAX_QUICK_REPLIES,
    maxTextChars: MAX_TEXT_CHARS,
  },
  eventPrefix: 'msgr',
  secrets: (c) => ({ webhook: [c.appSecret, c.verifyToken], delivery: [c.pageAccessToken] }),
  account: (bot) => bot.config.pageId,
  receive: (request, ctx) => (request.method === 'GET' ? handshake(request, ctx) : delivery(request, ctx)),
  // Meta's CDN URLs are signed and public: fetched as they are.
  mediaSource: async (_target, media) => ({ url: media.ref }),
  render: (message, files) => sendsFor(message, files.link),
  send: async (target, part) => {
    const token = await target.secret(target.config.pageAccessToken);
    await new SendApi(target.apiUrl).send(token, target.user, part);
  },
} satisfies ChannelAdapter<MessengerConfig, SendMessage>;
