import * as z from 'zod/mini';
import { SecretRef } from '../../bots/secret-ref';

/** A bot's `channels.twilio` (SPEC 12): the account, its auth token, and the number users text. */
export const TwilioConfig = z.strictObject({
  accountSid: z.string().check(z.regex(/^AC[0-9a-fA-F]{32}$/, 'accountSid is the Twilio account SID: AC and 32 hexadecimal digits')),
  authToken: SecretRef,
  phoneNumber: z.string().check(z.regex(/^\+[1-9][0-9]{1,14}$/, 'phoneNumber is the Twilio number in E.164 form, such as +15005550006')),
});
export type TwilioConfig = z.output<typeof TwilioConfig>;
