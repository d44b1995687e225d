import type { ChannelDefinition } from '../channel';
import { WhatsAppConfig } from './config';
import { MAX_MEDIA_BYTES } from './media';
import { MAX_LIST_ROWS, MAX_TEXT_CHARS } from './outbound';

/** What every function may know of WhatsApp (bot files, grants, routes, limits), without protocol code. */
export const whatsappDefinition = {
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
} satisfies ChannelDefinition<WhatsAppConfig>;
