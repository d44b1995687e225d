import * as z from 'zod/mini';
import { SecretRef } from '../../bots/secret-ref';

/** A bot's `channels.telegram` (SPEC 12). */
export const TelegramConfig = z.strictObject({
  botToken: SecretRef,
  secretToken: SecretRef,
});
export type TelegramConfig = z.output<typeof TelegramConfig>;

/** What Telegram accepts as `secret_token` in setWebhook (and sends back in the header). */
export const SECRET_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
