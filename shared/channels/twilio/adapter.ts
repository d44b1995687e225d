import { InvalidRequest, VerificationRefused } from '../../domain/errors';
import { logger } from '../../logger';
import type { BotChannel, ChannelAdapter, WebhookOutcome, WebhookResponse } from '../channel';
import { TwilioConfig } from './config';
import { basicAuth, TwilioMessagesApi } from './messages-api';
import {
  buttonForText,
  IMAGE_TYPES,
  MAX_BUTTONS,
  MAX_IMAGE_BYTES,
  MAX_INBOUND_BYTES,
  MAX_OTHER_BYTES,
  MAX_TEXT_CHARS,
  partsFor,
  type TwilioPart,
} from './outbound';
import { isValidTwilioSignature } from './signature';
import { firstValues, formParams, MAX_WEBHOOK_BYTES, MAX_WEBHOOK_PARAMS, parseWebhook } from './webhook';

/**
 * Twilio SMS/MMS (SPEC 12): `POST /channels/twilio` (form-encoded) checked against
 * `X-Twilio-Signature` over the public URL and the sorted parameters, the bot chosen by `To`,
 * `MessageSid` as the message id, an empty TwiML answer; MMS media fetched with the account's
 * Basic credentials; replies through the Messages API with files as `MediaUrl` links.
 */

/** The empty TwiML document: nothing is said in the webhook's answer, replies go by the API. */
const EMPTY_TWIML: WebhookResponse = { statusCode: 200, contentType: 'text/xml; charset=utf-8', body: '<Response/>' };

const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

const sameOrigin = (a: string, b: string): boolean => {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
};

export const twilioChannel = {
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

  /**
   * One webhook. The signature is checked before anything else is looked at: with the auth
   * token of the bot whose number is `To`, or, for a number no bot has, with any Twilio bot's
   * (a genuine request for another number of the account is a quiet 200, a forged one a 403).
   */
  async receive(request, ctx): Promise<WebhookOutcome> {
    // Twilio's webhook bodies are a few KB with a few dozen parameters; anything far larger is
    // refused before it is parsed or hashed, so an unsigned flood cannot buy seconds of CPU.
    if (request.rawBody.length > MAX_WEBHOOK_BYTES) throw new VerificationRefused('the request is larger than a Twilio webhook');
    const params = formParams(request.rawBody);
    if (params.length > MAX_WEBHOOK_PARAMS) throw new VerificationRefused('the request has more parameters than a Twilio webhook');
    const p = firstValues(params);
    const signature = request.headers['x-twilio-signature'];
    const verifies = async (bot: BotChannel<TwilioConfig>) => isValidTwilioSignature(await ctx.secret(bot.config.authToken), signature, request.publicUrl, params);
    const bot = p.To ? ctx.bots.find((b) => b.config.phoneNumber === p.To) : undefined;
    let valid = false;
    if (bot) valid = await verifies(bot);
    else for (const other of ctx.bots) valid = (await verifies(other)) || valid;
    if (!valid) {
      logger.warn('twilio webhook with an invalid signature refused', { numberKnown: bot !== undefined });
      throw new VerificationRefused('X-Twilio-Signature does not match the request');
    }
    if (!FORM_TYPE.test(request.headers['content-type'] ?? '')) throw new InvalidRequest('Twilio webhooks are application/x-www-form-urlencoded');
    if (!bot) {
      logger.info('twilio webhook for a number no bot has ignored');
      return { kind: 'events', events: [], response: EMPTY_TWIML };
    }
    const parsed = parseWebhook(p);
    if (parsed.kind === 'invalid') throw new InvalidRequest(parsed.problem);
    if (parsed.kind === 'ignored') {
      logger.info('twilio webhook the flow does not use ignored', { botId: bot.botId, reason: parsed.reason });
      return { kind: 'events', events: [], response: EMPTY_TWIML };
    }
    return { kind: 'events', events: [{ ...parsed.event, botId: bot.botId, account: bot.config.phoneNumber }], response: EMPTY_TWIML };
  },

  /**
   * MMS media are at Twilio's media URLs, behind the account's Basic credentials; those are
   * sent only to the Twilio API's own origin (and the fetcher drops them on a redirect elsewhere).
   */
  async mediaSource(target, media) {
    const credentials = sameOrigin(media.ref, target.apiUrl)
      ? { headers: { authorization: basicAuth(target.config.accountSid, await target.secret(target.config.authToken)) } }
      : {};
    return {
      url: media.ref,
      ...credentials,
      maxBytes: MAX_INBOUND_BYTES,
      ...(media.fileName && { fileName: media.fileName }),
      ...(media.contentType && { contentType: media.contentType }),
    };
  },

  render: (message, files) => partsFor(message, files),

  /** Text replies choose a button: SMS shows buttons as numbered options. */
  buttonFromText: (text, offered) => buttonForText(text, offered.map((b) => b.label)),

  async send(target, part) {
    const api = new TwilioMessagesApi(target.apiUrl, target.config.accountSid, await target.secret(target.config.authToken));
    await api.create({ to: target.user, from: target.config.phoneNumber, body: part.body, ...(part.mediaUrl && { mediaUrl: part.mediaUrl }) });
  },
} satisfies ChannelAdapter<TwilioConfig, TwilioPart>;
