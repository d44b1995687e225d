import { InvalidRequest, VerificationRefused } from '../../domain/errors';
import { logger } from '../../logger';
import { verifiedMetaJson } from '../meta-webhook';
import type { ChannelReceiver, WebhookContext, WebhookOutcome, WebhookRequest } from '../channel';
import type { MessengerConfig } from './config';
import { secretsEqual } from './signature';
import { inboundMessages, pageIdsIn, WebhookBody } from './webhook';

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

/** Messenger's webhook (intake). */
export const messengerReceiver = {
  receive: (request, ctx) => (request.method === 'GET' ? handshake(request, ctx) : delivery(request, ctx)),
} satisfies ChannelReceiver<MessengerConfig>;
