import { InvalidRequest, InvalidSignature, NotFound } from '../../domain/errors';
import { logger } from '../../logger';
import type { ChannelReceiver, InboundEvent, WebhookOutcome } from '../channel';
import { secretsEqual } from '../messenger/signature';
import { TelegramBotApi } from './bot-api';
import { SECRET_TOKEN_PATTERN, WEAK_SECRET_TOKEN_ADVICE, weakSecretToken, type TelegramConfig } from './config';
import { inboundEvent, Update } from './update';

/** Bots whose weak secret token this container has warned about (once each). */
const warnedWeak = new Set<string>();

/** Telegram's webhook (intake). */
export const telegramReceiver = {
  /**
   * One update. The secret token is compared (in constant time) before the body is even
   * parsed. A path naming no bot with a Telegram channel is a 404 like every unknown bot id
   * (bot ids are public: the config endpoint answers for them).
   */
  async receive(request, ctx): Promise<WebhookOutcome> {
    const botId = request.pathParameters.botId ?? '';
    const bot = ctx.bots.find((b) => b.botId === botId);
    if (!bot) throw new NotFound('bot_not_found', 'No bot with a Telegram channel has this id');
    const given = request.headers['x-telegram-bot-api-secret-token'];
    const expected = await ctx.secret(bot.config.secretToken);
    // A stored token Telegram could never send verifies nothing (fail closed).
    const usable = SECRET_TOKEN_PATTERN.test(expected);
    if (!usable) logger.error('telegram secret token is not one Telegram accepts; every update is refused', { botId });
    else if (weakSecretToken(expected) && !warnedWeak.has(botId)) {
      warnedWeak.add(botId);
      logger.warn(`telegram secret token is weak: ${WEAK_SECRET_TOKEN_ADVICE}`, { botId, alarm: 'WeakSecretToken' });
    }
    if (given === undefined || !usable || !secretsEqual(given, expected)) {
      logger.warn('telegram webhook with a wrong secret token refused', { botId });
      throw new InvalidSignature('X-Telegram-Bot-Api-Secret-Token does not match');
    }
    let json: unknown;
    try {
      json = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      throw new InvalidRequest('Request body is not valid JSON');
    }
    const update = Update.safeParse(json);
    if (!update.success) throw new InvalidRequest('Request body is not a Telegram update');
    const { event, callbackQueryId } = inboundEvent(update.data, bot.botId);
    if (!event) logger.info('telegram update the flow does not use ignored', { botId: bot.botId, updateId: update.data.update_id });
    const events: InboundEvent[] = event ? [event] : [];
    return {
      kind: 'events',
      events,
      // Stops the button's spinner in the user's app; a failure only leaves it spinning.
      ...(callbackQueryId && {
        afterQueued: async () => {
          try {
            // A short timeout: the webhook's answer waits for this call.
            const token = await ctx.secret(bot.config.botToken);
            await new TelegramBotApi(ctx.apiUrl, token, 5_000).call('answerCallbackQuery', { callback_query_id: callbackQueryId });
          } catch (err) {
            logger.warn('telegram answerCallbackQuery failed', { botId: bot.botId, reason: (err as Error).message });
          }
        },
      }),
    };
  },
} satisfies ChannelReceiver<TelegramConfig>;
