import { Readable } from 'node:stream';
import { InvalidRequest, InvalidSignature, NotFound } from '../../domain/errors';
import { logger } from '../../logger';
import { type ChannelAdapter, type ChannelTarget, type FileAccess, type InboundEvent, type WebhookOutcome } from '../channel';
import { secretsEqual } from '../messenger/signature';
import { TelegramBotApi } from './bot-api';
import { SECRET_TOKEN_PATTERN, TelegramConfig } from './config';
import { MAX_BUTTONS, MAX_DOWNLOAD_BYTES, MAX_PHOTO_BYTES, MAX_TEXT_CHARS, MAX_UPLOAD_BYTES, partsFor, type TelegramPart } from './outbound';
import { inboundEvent, Update } from './update';

/**
 * Telegram (SPEC 12): `POST /channels/telegram/{botId}` checked against the bot's secret token
 * (`X-Telegram-Bot-Api-Secret-Token`, set once with setWebhook), `update_id` as the message id,
 * files through getFile, replies by sendMessage / sendPhoto / sendDocument (multipart uploads).
 */

/** Chat ids are integers (negative for groups); sent as numbers as the API documents them. */
const chatId = (user: string): number | string => (/^-?\d{1,16}$/.test(user) ? Number(user) : user);

const api = (target: Pick<ChannelTarget<TelegramConfig>, 'apiUrl' | 'secret' | 'config'>) =>
  target.secret(target.config.botToken).then((token) => new TelegramBotApi(target.apiUrl, token));

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function upload(target: ChannelTarget<TelegramConfig>, part: Extract<TelegramPart, { attachment: unknown }>, files: FileAccess): Promise<void> {
  const a = part.attachment;
  const field = part.method === 'sendPhoto' ? 'photo' : 'document';
  if (a.size > MAX_UPLOAD_BYTES) {
    // Larger than a bot may upload: the user gets a link instead of nothing.
    await (await api(target)).call('sendMessage', { chat_id: chatId(target.user), text: `${a.fileName}: ${files.link(a)}` });
    return;
  }
  // Files are at most 50 MB here (checked above), so buffering one for the multipart body is bounded.
  const bytes = await readAll(await files.open(a));
  const form = new FormData();
  form.append('chat_id', String(chatId(target.user)));
  form.append(field, new Blob([bytes], { type: a.contentType }), a.fileName);
  await (await api(target)).call(part.method, form);
}

export const telegramChannel = {
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
    if (!SECRET_TOKEN_PATTERN.test(expected)) logger.error('telegram secret token is not one Telegram accepts; every update is refused', { botId });
    if (given === undefined || !SECRET_TOKEN_PATTERN.test(expected) || !secretsEqual(given, expected)) {
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

  async mediaSource(target, media) {
    const file = await (await api(target)).fileUrl(media.ref);
    if (file.size !== undefined && file.size > MAX_DOWNLOAD_BYTES) return 'attachment_too_large';
    return {
      url: file.url,
      maxBytes: MAX_DOWNLOAD_BYTES,
      // Photos have no name: one is made from the update, with the checked type's extension.
      ...(media.fileName ? { fileName: media.fileName } : media.kind === 'photo' && { fileName: `photo-${media.ref.slice(-12).replace(/[^A-Za-z0-9_-]/g, '')}.jpg` }),
      ...(media.contentType && { contentType: media.contentType }),
    };
  },

  render: (message) => partsFor(message),

  async send(target, part, files) {
    if (part.method === 'sendMessage') {
      await (await api(target)).call('sendMessage', { chat_id: chatId(target.user), text: part.text, ...(part.reply_markup && { reply_markup: part.reply_markup }) });
      return;
    }
    await upload(target, part, files);
  },
} satisfies ChannelAdapter<TelegramConfig, TelegramPart>;

