import * as z from 'zod/mini';
import { SecretRef } from '../../bots/secret-ref';

/** A bot's `channels.whatsapp` (SPEC 12). */
export const WhatsAppConfig = z.strictObject({
  phoneNumberId: z.string().check(z.regex(/^[0-9]{1,30}$/, 'phoneNumberId is the numeric WhatsApp phone number id')),
  appSecret: SecretRef,
  verifyToken: SecretRef,
  accessToken: SecretRef,
});
export type WhatsAppConfig = z.output<typeof WhatsAppConfig>;
