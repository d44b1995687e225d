import type { ChannelAdapter } from '../channel';
import type { TelegramConfig } from './config';
import { telegramDefinition } from './definition';
import type { TelegramPart } from './outbound';
import { telegramReceiver } from './receiver';
import { telegramSender } from './sender';

/**
 * Telegram (SPEC 12): `POST /channels/telegram/{botId}` checked against the bot's secret token
 * (`X-Telegram-Bot-Api-Secret-Token`, set once with setWebhook), `update_id` as the message id,
 * files through getFile, replies by sendMessage / sendPhoto / sendDocument (multipart uploads).
 * Its parts: definition.ts (bot files, grants, routes, limits), receiver.ts (webhooks),
 * sender.ts (media and replies).
 */
export const telegramChannel = { ...telegramDefinition, ...telegramReceiver, ...telegramSender } satisfies ChannelAdapter<TelegramConfig, TelegramPart>;
