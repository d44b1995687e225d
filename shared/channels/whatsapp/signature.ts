import { isValidSignature, secretsEqual, signatureFor } from '../messenger/signature';

/**
 * WhatsApp Cloud API webhooks are signed exactly like Messenger's (both are Meta apps):
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`,
 * and the subscription handshake compares a verify token. One implementation serves both.
 */
export { isValidSignature, secretsEqual, signatureFor };

/** The handshake query Meta sends on `GET /channels/whatsapp`. */
export interface HandshakeQuery {
  'hub.mode'?: string;
  'hub.verify_token'?: string;
  'hub.challenge'?: string;
}

/**
 * The challenge to echo when the handshake names `subscribe`, carries a challenge of sane
 * length, and its verify token equals (in constant time) one of `verifyTokens`; else undefined.
 */
export function handshakeChallenge(query: Record<string, string | undefined>, verifyTokens: readonly string[]): string | undefined {
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (query['hub.mode'] !== 'subscribe' || !token || !challenge || challenge.length > 256) return undefined;
  // Every token is compared, so the time taken does not tell which bot matched.
  let matched = false;
  for (const expected of verifyTokens) matched = secretsEqual(token, expected) || matched;
  return matched ? challenge : undefined;
}
