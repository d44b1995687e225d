import type { ChannelDefinition } from '../channel';
import { SECRET_TOKEN_PATTERN, TelegramConfig, WEAK_SECRET_TOKEN_ADVICE, weakSecretToken } from './config';
import { MAX_BUTTONS, MAX_DOWNLOAD_BYTES, MAX_PHOTO_BYTES, MAX_TEXT_CHARS, MAX_UPLOAD_BYTES } from './outbound';

/** What every function may know of Telegram (bot files, grants, routes, limits), without protocol code. */
export const telegramDefinition = {
  name: 'telegram' as const,
  label: 'Telegram',
  configSchema: TelegramConfig,
  routes: [{ method: 'POST' as const, path: '/channels/telegram/{botId}' }],
  webhookAuthentication:
    "is the Telegram webhook: the handler rejects requests whose X-Telegram-Bot-Api-Secret-Token is not the bot's secret token (constant-time comparison) before reading the body",
  apiUrlSetting: 'TELEGRAM_API_URL' as const,
  limits: {
    inboundMaxBytes: MAX_DOWNLOAD_BYTES,
    outboundMaxBytes: MAX_UPLOAD_BYTES,
    outboundMaxBytesByType: { 'image/jpeg': MAX_PHOTO_BYTES, 'image/png': MAX_PHOTO_BYTES },
    maxButtons: MAX_BUTTONS,
    maxTextChars: MAX_TEXT_CHARS,
  },
  eventPrefix: 'tg',
  // The bot token also checks webhooks: intake answers button presses (answerCallbackQuery).
  secrets: (c) => ({ webhook: [c.secretToken, c.botToken], delivery: [c.botToken] }),
  account: (bot) => bot.botId,
  secretProblem: (config, name, value) =>
    name === config.secretToken.secret && !SECRET_TOKEN_PATTERN.test(value)
      ? 'a Telegram secret token is 1-256 characters of A-Z, a-z, 0-9, _ and -'
      : undefined,
  secretAdvice: (config, name, value) => (name === config.secretToken.secret && SECRET_TOKEN_PATTERN.test(value) && weakSecretToken(value) ? WEAK_SECRET_TOKEN_ADVICE : undefined),
} satisfies ChannelDefinition<TelegramConfig>;
