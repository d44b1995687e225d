import type { ChannelDefinition } from '../channel';
import { MessengerConfig } from './config';
import { MAX_QUICK_REPLIES, MAX_TEXT_CHARS } from './outbound';

/** What every function may know of Messenger (bot files, grants, routes, limits), without protocol code. */
export const messengerDefinition = {
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
} satisfies ChannelDefinition<MessengerConfig>;
