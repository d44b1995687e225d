import type { Readable } from 'node:stream';
import { InvalidRequest, VerificationRefused } from '../../domain/errors';
import type { WarningCode } from '../../domain/transcript';
import { logger } from '../../logger';
import { verifiedMetaJson } from '../meta-webhook';
import { ChannelSendError, type ChannelAdapter, type InboundEvent, type WebhookContext, type WebhookOutcome, type WebhookRequest } from '../channel';
import { CloudApi } from './cloud-api';
import { WhatsAppConfig } from './config';
import { MAX_MEDIA_BYTES, mediaFileName, sameDigest, sha256Digest } from './media';
import { buttonFromNumberedText, MAX_LIST_ROWS, MAX_TEXT_CHARS, mediaMessage, messageBody, partsFor, type OutboundPart } from './outbound';
import { handshakeChallenge } from './signature';
import { inboundMessages, phoneNumberIdsIn, WebhookBody } from './webhook';

/**
 * WhatsApp Cloud API (SPEC 12): Meta's `hub.challenge` handshake, `X-Hub-Signature-256` over
 * the raw body, the bot chosen by `metadata.phone_number_id`, media by media id (bearer token,
 * digest checked), replies as text / reply buttons / lists, files uploaded to `/media` and sent
 * by id. The 24-hour customer-service window is declared for agent messages.
 */

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

async function readAll(stream: Readable, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new ChannelSendError('the file is larger than WhatsApp carries', false);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

export const whatsappChannel = {
  name: 'whatsapp' as const,
  label: 'WhatsApp',
  configSchema: WhatsAppConfig,
  routes: [
    { method: 'GET' as const, path: '/channels/whatsapp' },
    { method: 'POST' as const, path: '/channels/whatsapp' },
  ],
  webhookAuthentication:
    'is the WhatsApp Cloud API webhook: the handler rejects POSTs whose X-Hub-Signature-256 HMAC of the raw body does not match the app secret, and GET answers the verify-token handshake',
  apiUrlSetting: 'WHATSAPP_API_URL' as const,
  limits: {
    // Cloud API media limits (reference/media#supported-media-types): documents 100 MB;
    // larger images go out as documents, so 100 MB each way.
    inboundMaxBytes: MAX_MEDIA_BYTES,
    outboundMaxBytes: MAX_MEDIA_BYTES,
    maxButtons: MAX_LIST_ROWS,
    maxTextChars: MAX_TEXT_CHARS,
  },
  replyWindowSeconds: 24 * 3600,
  eventPrefix: 'wa',
  secrets: (c) => ({ webhook: [c.appSecret, c.verifyToken], delivery: [c.accessToken] }),
  account: (bot) => bot.config.phoneNumberId,
  receive: (request, ctx) => (request.method === 'GET' ? handshake(request, ctx) : delivery(request, ctx)),
  /**
   * The media endpoint says where the bytes are and their digest (hex); a digest in the
   * webhook (often base64) must name the same bytes. The bytes come with the same bearer token.
   */
  mediaSource: async (target, media): Promise<Awaited<ReturnType<ChannelAdapter['mediaSource']>>> => {
    const token = await target.secret(target.config.accessToken);
    let info;
    try {
      info = await new CloudApi(target.apiUrl, token).mediaInfo(media.ref);
    } catch (err) {
      const e = err as ChannelSendError;
      logger.warn('whatsapp media endpoint refused', { status: e.status, code: e.code });
      return 'attachment_upload_failed' satisfies WarningCode;
    }
    const digest = sha256Digest(info.sha256);
    if (!digest || (media.sha256 !== undefined && !sameDigest(media.sha256, digest))) {
      logger.warn('whatsapp media digest unusable or different from the webhook', { kind: media.kind });
      return 'attachment_upload_failed' satisfies WarningCode;
    }
    const announced = Number(info.file_size);
    if (Number.isFinite(announced) && announced > MAX_MEDIA_BYTES) return 'attachment_too_large' satisfies WarningCode;
    const contentType = info.mime_type ?? media.contentType;
    return {
      url: info.url,
      headers: { authorization: `Bearer ${token}` },
      maxBytes: MAX_MEDIA_BYTES,
      sha256: digest.toString('hex'),
      fileName: mediaFileName(media.ref, media.fileName, contentType),
      ...(contentType !== undefined && { contentType }),
    };
  },
  render: (message) => partsFor(message),
  // More than 10 buttons go out as numbered text: a reply of the number or the label picks one.
  buttonFromText: buttonFromNumberedText,
  send: async (target, part, files) => {
    const api = new CloudApi(target.apiUrl, await target.secret(target.config.accessToken));
    if (part.type !== 'file') return api.sendMessage(target.account, messageBody(target.user, part));
    const a = part.attachment;
    const bytes = await readAll(await files.open(a), MAX_MEDIA_BYTES);
    const mediaId = await api.uploadMedia(target.account, { bytes, fileName: a.fileName, contentType: a.contentType });
    await api.sendMessage(target.account, messageBody(target.user, mediaMessage(a, mediaId)));
  },
} satisfies ChannelAdapter<WhatsAppConfig, OutboundPart>;
