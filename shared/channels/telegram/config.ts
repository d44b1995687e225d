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
 * The shortest secret token Satchel calls strong: Telegram (and SPEC 12) take one character,
 * but the token is all that tells Telegram's updates from anyone else's posts to a public URL,
 * so a short one could be guessed and users impersonated. A shorter one still works; start-up
 * and the webhook warn (docs/telegram.md suggests `openssl rand -hex 32`).
 */
export const SECRET_TOKEN_MIN_CHARS = 16;
export const weakSecretToken = (token: string): boolean => token.length < SECRET_TOKEN_MIN_CHARS;
export const WEAK_SECRET_TOKEN_ADVICE = `a secret token shorter than ${SECRET_TOKEN_MIN_CHARS} characters could be guessed: anyone who guesses it can post messages as any user of this bot; use a random one such as \`openssl rand -hex 32\``;
