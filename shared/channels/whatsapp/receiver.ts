import { InvalidRequest, VerificationRefused } from '../../domain/errors';
import { logger } from '../../logger';
import { verifiedMetaJson } from '../meta-webhook';
import type { ChannelReceiver, InboundEvent, WebhookContext, WebhookOutcome, WebhookRequest } from '../channel';
import type { WhatsAppConfig } from './config';
import { handshakeChallenge } from './signature';
import { inboundMessages, phoneNumberIdsIn, WebhookBody } from './webhook';

type Ctx = WebhookContext<WhatsAppConfig>;

const text = (statusCode: number, body: string) => ({ statusCode, contentType: 'text/plain; charset=utf-8', body });

/** GET: the subscription handshake; the verify token must be some WhatsApp bot's (constant time). */
async function handshake(request: WebhookRequest, ctx: Ctx): Promise<WebhookOutcome> {
  const tokens = await Promise.all(ctx.bots.map((bot) => ctx.secret(bot.config.verifyToken)));
  const challenge = handshakeChallenge(request.query, tokens);
  if (challenge === undefined) {
    logger.warn('whatsapp subscription refused', { mode: request.query['hub.mode'] });
    throw new VerificationRefused('The verify token does not match');
  }
  return { kind: 'response', response: text(200, challenge) };
}

/** POST: one signed delivery; each user message becomes an event of its phone number's bot. */
async function delivery(request: WebhookRequest, ctx: Ctx): Promise<WebhookOutcome> {
  const json = await verifiedMetaJson(request, ctx, phoneNumberIdsIn, (c) => c.phoneNumberId, 'whatsapp');
  const body = WebhookBody.safeParse(json);
  if (!body.success) throw new InvalidRequest('Request body is not a WhatsApp webhook event');
  if (body.data.object !== 'whatsapp_business_account') {
    logger.info('whatsapp webhook for another object ignored', { object: body.data.object });
    return { kind: 'events', events: [] };
  }
  const events: InboundEvent[] = [];
  for (const m of inboundMessages(body.data)) {
    const bot = ctx.bots.find((b) => b.config.phoneNumberId === m.phoneNumberId);
    if (!bot) {
      logger.warn('whatsapp webhook for an unknown phone number ignored', { phoneNumberId: m.phoneNumberId });
      continue;
    }
    events.push({
      botId: bot.botId,
      account: m.phoneNumberId,
      user: m.waId,
      messageId: m.messageId,
      ...(m.text !== undefined && { text: m.text }),
      ...(m.buttonIndex !== undefined && { buttonIndex: m.buttonIndex }),
      ...(m.userName !== undefined && { userName: m.userName }),
      media: m.media.map((item) => ({
        kind: item.kind,
        ref: item.mediaId,
        ...(item.fileName !== undefined && { fileName: item.fileName }),
        ...(item.mimeType !== undefined && { contentType: item.mimeType }),
        ...(item.sha256 !== undefined && { sha256: item.sha256 }),
      })),
    });
  }
  return { kind: 'events', events };
}

/** WhatsApp's webhook (intake). */
export const whatsappReceiver = {
  receive: (request, ctx) => (request.method === 'GET' ? handshake(request, ctx) : delivery(request, ctx)),
} satisfies ChannelReceiver<WhatsAppConfig>;
