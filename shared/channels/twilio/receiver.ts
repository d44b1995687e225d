import { InvalidRequest, VerificationRefused } from '../../domain/errors';
import { logger } from '../../logger';
import type { BotChannel, ChannelReceiver, WebhookOutcome, WebhookResponse } from '../channel';
import type { TwilioConfig } from './config';
import { isValidTwilioSignature } from './signature';
import { firstValues, formParams, MAX_WEBHOOK_BYTES, MAX_WEBHOOK_PARAMS, parseWebhook } from './webhook';

/** The empty TwiML document: nothing is said in the webhook's answer, replies go by the API. */
const EMPTY_TWIML: WebhookResponse = { statusCode: 200, contentType: 'text/xml; charset=utf-8', body: '<Response/>' };

const FORM_TYPE = /^application\/x-www-form-urlencoded\b/i;

/** Twilio's messaging webhook (intake). */
export const twilioReceiver = {
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
} satisfies ChannelReceiver<TwilioConfig>;
