import * as z from 'zod/mini';
import { SecretRef } from '../../bots/secret-ref';

/** A bot's `channels.messenger` (SPEC 1). */
export const MessengerConfig = z.strictObject({
  pageId: z.string().check(z.regex(/^[0-9]+$/, 'pageId is the numeric Facebook page id')),
  appSecret: SecretRef,
  verifyToken: SecretRef,
  pageAccessToken: SecretRef,
});
export type MessengerConfig = z.output<typeof MessengerConfig>;
