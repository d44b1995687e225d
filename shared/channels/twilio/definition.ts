import type { ChannelDefinition } from '../channel';
import { TwilioConfig } from './config';
import { IMAGE_TYPES, MAX_BUTTONS, MAX_IMAGE_BYTES, MAX_INBOUND_BYTES, MAX_OTHER_BYTES, MAX_TEXT_CHARS } from './outbound';

/** What every function may know of Twilio SMS/MMS (bot files, grants, routes, limits), without protocol code. */
export const twilioDefinition = {
  name: 'twilio' as const,
  label: 'SMS/MMS',
  configSchema: TwilioConfig,
  routes: [{ method: 'POST' as const, path: '/channels/twilio' }],
  webhookAuthentication:
    "is Twilio's messaging webhook: the handler rejects requests whose X-Twilio-Signature is not the HMAC-SHA1 of the public URL and the sorted form parameters under the auth token of the bot owning the To number (constant-time comparison) before storing anything",
  apiUrlSetting: 'TWILIO_API_URL' as const,
  limits: {
    inboundMaxBytes: MAX_INBOUND_BYTES,
    outboundMaxBytes: MAX_OTHER_BYTES,
    outboundMaxBytesByType: Object.fromEntries(IMAGE_TYPES.map((t) => [t, MAX_IMAGE_BYTES])),
    maxButtons: MAX_BUTTONS,
    maxTextChars: MAX_TEXT_CHARS,
  },
  eventPrefix: 'tw',
  // The auth token checks webhooks (intake) and authenticates API calls and media downloads (actions, agent).
  secrets: (c) => ({ webhook: [c.authToken], delivery: [c.authToken] }),
  account: (bot) => bot.config.phoneNumber,
} satisfies ChannelDefinition<TwilioConfig>;
