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
/**
 * The shortest secret token Satchel verifies with: Telegram takes one character, but the token
 * is all that tells Telegram's updates from anyone else's posts to a public URL, so a short one
 * could be guessed and users impersonated (docs/telegram.md suggests `openssl rand -hex 32`).
 */
export const SECRET_TOKEN_MIN_CHARS = 16;
/** Whether a stored secret token is one Telegram accepts and long enough to verify with. */
export const usableSecretToken = (token: string): boolean => SECRET_TOKEN_PATTERN.test(token) && token.length >= SECRET_TOKEN_MIN_CHARS;
