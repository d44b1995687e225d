import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio signs each webhook with the account's auth token
 * (twilio.com/docs/usage/webhooks/webhooks-security): `X-Twilio-Signature` is
 * base64(HMAC-SHA1(authToken, URL + each POST parameter's name and value, sorted by name,
 * concatenated)), where URL is exactly the one Twilio called (scheme, host, path, query).
 */

/** The string Twilio signs: the URL, then name+value of every parameter in name order. */
export function signedString(url: string, params: readonly (readonly [string, string])[]): string {
  // By name, then by value for a repeated name (as Twilio's SDKs order them); code-unit
  // order, like Twilio's own sort, not the locale's.
  const sorted = [...params].sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return url + sorted.map(([k, v]) => k + v).join('');
}

/** The header value Twilio would send (tests and local tooling). */
export const twilioSignature = (authToken: string, url: string, params: readonly (readonly [string, string])[]): string =>
  createHmac('sha1', authToken).update(signedString(url, params), 'utf8').digest('base64');

/** Constant-time check of `header` against the signature of (url, params). */
export function isValidTwilioSignature(authToken: string, header: string | undefined, url: string, params: readonly (readonly [string, string])[]): boolean {
  if (!header || !authToken) return false;
  // Hashing both sides first makes the comparison constant-time whatever the header's length.
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(header.trim()), digest(twilioSignature(authToken, url, params)));
}
