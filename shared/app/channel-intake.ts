import type { Bot, SecretRef } from '../bots/schema';
import { channelEventId, type BotChannel, type InboundEvent, type WebhookContext, type WebhookRequest, type WebhookResponse } from '../channels/channel';
import type { AnyChannelDefinition } from '../channels/definitions';
import type { ReceivingChannel } from '../channels/receivers';
import { MAX_FILES_PER_CHANNEL_MESSAGE } from '../domain/attachment';
import { expiresAtFor, isExpired, newSession, type Session } from '../domain/session';
import { randomBytes } from 'node:crypto';
import { MissingSecret } from '../domain/errors';
import { logger } from '../logger';
import { readBotSecret } from './bot-secrets';
import type { Ports } from './ports';

/**
 * Receiving a messaging channel's webhooks (intake), the same for every channel in the
 * registry: the adapter verifies (fail closed) and parses; here each user message is queued
 * once per message id, on the user's one live session per (channel account, user).
 */

/** How long a queued message id is remembered; channels retry failed deliveries for days. */
const MESSAGE_ID_RETENTION_SECONDS = 30 * 86400;

/** What receiving webhooks touches (intake). */
export type ChannelIntakeDeps = Pick<Ports, 'bots' | 'botSecrets' | 'sessions' | 'channelRecords' | 'channelApiUrls' | 'events' | 'now' | 'newId'>;

/** Every bot with `channel` configured, as the adapter sees them. */
export function botsWith(deps: Pick<Ports, 'bots'>, channel: AnyChannelDefinition): BotChannel<unknown>[] {
  return deps.bots
    .all()
    .flatMap((bot) => {
      const config = (bot.channels as Record<string, unknown>)[channel.name];
      return config === undefined ? [] : [{ botId: bot.id, config }];
    });
}

/** Which bot and which field of its `channel` config name secret `name`, for the log line. */
function secretUse(deps: Pick<Ports, 'bots'>, channel: AnyChannelDefinition, name: string): { botId: string; use: string } {
  for (const { botId, config } of botsWith(deps, channel)) {
    for (const [field, value] of Object.entries(config as Record<string, unknown>)) {
      if ((value as Partial<SecretRef> | undefined)?.secret === name) return { botId, use: `${channel.name}.${field}` };
    }
  }
  return { botId: '(unknown)', use: channel.name };
}

/**
 * A channel's secrets, read where they are used so one bot's missing secret fails that bot
 * alone (issue 13): a missing or unreadable one is logged with a `BotSecretUnavailable` metric
 * (bot-secrets.ts), then
 * - `verify` (checking webhooks): stands in as a fresh random value that matches nothing, so
 *   that bot's webhooks are refused (fail closed) while every other bot's still verify;
 * - `use` (calling the channel's API): throws MissingSecret, so the caller holds the work.
 * Any other failure (Secrets Manager throttled or down) is thrown for a retry.
 */
export const secretReader =
  (deps: Pick<Ports, 'bots' | 'botSecrets'>, channel: AnyChannelDefinition, mode: 'verify' | 'use', sessionId?: string) =>
  async (ref: SecretRef): Promise<string> => {
    const value = await readBotSecret(deps, { ...secretUse(deps, channel, ref.secret), secretName: ref.secret, ...(sessionId && { sessionId }) });
    if (value !== undefined) return value;
    if (mode === 'verify') return randomBytes(32).toString('hex');
    throw new MissingSecret(ref.secret);
  };

export function webhookContext(deps: Pick<Ports, 'bots' | 'botSecrets' | 'channelApiUrls'>, channel: AnyChannelDefinition): WebhookContext<unknown> {
  return { bots: botsWith(deps, channel), secret: secretReader(deps, channel, 'verify'), apiUrl: deps.channelApiUrls[channel.name] ?? '' };
}

/**
 * One webhook request to a channel's route.
 * Primary course: the adapter verifies the request (nothing is stored unless it does) and
 * parses it; each event is skipped if its message id was queued before, else its user's live
 * session is found or started, the turn queued (FIFO group = session, dedup id from the
 * message id) and the message id remembered. Returns the answer the channel expects.
 */
export async function receiveChannelWebhook(
  deps: ChannelIntakeDeps,
  channel: ReceivingChannel,
  request: WebhookRequest,
): Promise<{ response?: WebhookResponse; queued: number }> {
  const outcome = await channel.receive(request, webhookContext(deps, channel));
  if (outcome.kind === 'response') return { response: outcome.response, queued: 0 };
  let queued = 0;
  for (const event of outcome.events) {
    const bot = deps.bots.get(event.botId);
    if (bot && (await queueMessage(deps, channel, bot, event))) queued++;
  }
  await outcome.afterQueued?.();
  return { response: outcome.response, queued };
}

/**
 * Queues one user message, exactly once per message id even when the channel repeats the
 * delivery days later. The id record is written only AFTER the event is in the queue, with a
 * conditional put: if the handler dies before that, the channel gets no 2xx and delivers
 * again, the record is absent, and the message is queued again (the queue's dedup id, derived
 * from the message id, collapses the two within SQS's 5-minute window) — so a crash can never
 * lose a message. Writing the record first would: a crash between record and queue would make
 * every retry look like a duplicate. A repeat seen after the record exists is dropped here,
 * before it can start a session. The residual case (a crash between queueing and recording,
 * then a repeat more than 5 minutes later after other messages of the session) can process a
 * message twice, never zero times.
 */
async function queueMessage(deps: ChannelIntakeDeps, channel: AnyChannelDefinition, bot: Bot, message: InboundEvent): Promise<boolean> {
  const eventId = channelEventId(channel.eventPrefix, message.account, message.messageId);
  if (await deps.channelRecords.isMessageQueued(channel.name, eventId)) {
    logger.info('repeated channel message ignored', { channel: channel.name, botId: bot.id });
    return false;
  }
  const session = await liveSession(deps, channel.name, bot, message);
  const media = message.media.slice(0, MAX_FILES_PER_CHANNEL_MESSAGE);
  if (media.length < message.media.length) {
    logger.warn('channel message carried more files than a turn takes; the first ones are kept', {
      channel: channel.name,
      sessionId: session.id,
      files: message.media.length,
      kept: media.length,
    });
  }
  if (channel.name === 'messenger') {
    // The form Messenger always queued, so a deployment's actions accepts it across an upgrade.
    await deps.events.send(
      {
        type: 'messenger_message',
        sessionId: session.id,
        mid: message.messageId,
        ...(message.text !== undefined && { text: message.text }),
        ...(message.buttonIndex !== undefined && { buttonIndex: message.buttonIndex }),
        ...(media.length && { media: media.map((m) => ({ type: m.kind, url: m.ref })) }),
      },
      eventId,
    );
  } else {
    await deps.events.send(
      {
        type: 'channel_message',
        sessionId: session.id,
        channel: channel.name,
        messageId: message.messageId,
        ...(message.text !== undefined && { text: message.text }),
        ...(message.buttonIndex !== undefined && { buttonIndex: message.buttonIndex }),
        ...(media.length && { media }),
      },
      eventId,
    );
  }
  const now = deps.now();
  await deps.channelRecords.markMessageQueued(channel.name, eventId, session.id, now, Math.ceil(now / 1000) + MESSAGE_ID_RETENTION_SECONDS);
  return true;
}

/**
 * The user's live session on the account, its expiry slid to now; a new one when there is
 * none or it expired (its first turn runs the bot's start interaction, see run-flow).
 */
async function liveSession(deps: ChannelIntakeDeps, channel: string, bot: Bot, message: InboundEvent, attempt = 0): Promise<Session> {
  const { account, user } = message;
  const now = deps.now();
  const currentId = await deps.channelRecords.currentSessionId(channel, account, user);
  const current = currentId ? await deps.sessions.get(currentId) : undefined;
  if (current && current.botId === bot.id && !isExpired(current, now)) {
    const expiresAt = expiresAtFor(bot, now);
    const slid = await deps.sessions.update(current.id, { lastActivityAt: now, expiresAt });
    await deps.channelRecords.slidePointer(channel, account, user, current.id, expiresAt);
    return slid;
  }
  const session = newSession({
    id: deps.newId(),
    bot,
    channel,
    userId: user,
    ...(message.userName && { userName: message.userName }),
    now,
    ...(channel === 'messenger' ? { messenger: { pageId: account, psid: user } } : { channelUser: { account, user } }),
  });
  await deps.sessions.create(session);
  if (await deps.channelRecords.pointTo(channel, account, user, session.id, session.expiresAt, currentId)) {
    logger.info('channel session started', { channel, sessionId: session.id, botId: bot.id });
    return session;
  }
  // Another delivery for the same user started a session at the same moment: use that one.
  await deps.sessions.discard(session.id);
  if (attempt >= 3) throw new Error(`could not settle the current ${channel} session`);
  return liveSession(deps, channel, bot, message, attempt + 1);
}
