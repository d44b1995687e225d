import * as z from 'zod/mini';
import '../zod-english';

/** A named secret (`{"secret": "NAME"}`); bot files never hold secret values. */
export const SecretRef = z.strictObject({ secret: z.string().check(z.regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, 'secret names use letters, digits and /_+=.@-')) });
export type SecretRef = z.infer<typeof SecretRef>;
