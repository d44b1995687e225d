import { InvalidRequest, InvalidSignature } from '../domain/errors';
import { logger } from '../logger';
import type { BotChannel, WebhookContext, WebhookRequest } from './channel';
import { isValidSignature } from './messenger/signature';

/**
 * What Meta's two webhooks (Messenger, WhatsApp Cloud API) share: one app secret signs the raw
 * body (`X-Hub-Signature-256`), and the body names the accounts (pages, phone numbers) it is for.
 */

/** The body as JSON, or undefined when it is not JSON (checked only after the signature). */
export function parseJsonBody(request: WebhookRequest): { json: unknown; parsed: boolean } {
  try {
    return { json: JSON.parse(request.rawBody.toString('utf8')), parsed: true };
  } catch {
    return { json: undefined, parsed: false };
  }
}

/**
 * Every account named in the body must verify with its own bot's app secret. A body naming no
 * known account (or not parseable) must verify with some bot's app secret of this channel, so a
 * forged request is a 401 whatever it contains and a genuine one for another account is a
 * quiet 200 (one Meta app may serve accounts this deployment does not).
 */
export async function verifyMetaSignature<Cfg extends { appSecret: { secret: string } }>(
  request: WebhookRequest,
  ctx: WebhookContext<Cfg>,
  accountIds: string[],
  accountOf: (config: Cfg) => string,
  channel: string,
): Promise<void> {
  const signature = request.headers['x-hub-signature-256'];
  const owners = [...new Set(accountIds.map((id) => ctx.bots.find((b) => accountOf(b.config) === id)))].filter((b): b is BotChannel<Cfg> => b !== undefined);
  const check = async (bot: BotChannel<Cfg>) => isValidSignature(request.rawBody, signature, await ctx.secret(bot.config.appSecret));
  let valid = false;
  if (owners.length) {
    valid = true;
    for (const bot of owners) valid = (await check(bot)) && valid;
  } else {
    for (const bot of ctx.bots) valid = (await check(bot)) || valid;
  }
  if (!valid) {
    logger.warn(`${channel} webhook with an invalid signature refused`, { accounts: accountIds.length });
    throw new InvalidSignature('X-Hub-Signature-256 does not match the request body');
  }
}

/** Signature first, then the JSON: a forged body is a 401 whatever it holds, a signed non-JSON one a 400. */
export async function verifiedMetaJson<Cfg extends { appSecret: { secret: string } }>(
  request: WebhookRequest,
  ctx: WebhookContext<Cfg>,
  accountIdsIn: (json: unknown) => string[],
  accountOf: (config: Cfg) => string,
  channel: string,
): Promise<unknown> {
  const { json, parsed } = parseJsonBody(request);
  await verifyMetaSignature(request, ctx, accountIdsIn(json), accountOf, channel);
  if (!parsed) throw new InvalidRequest('Request body is not valid JSON');
  return json;
}
