import { MissingSecret } from '../domain/errors';
import { ChannelSendError, type ChannelTarget, type FileAccess } from '../channels/channel';
import type { SendingChannel } from '../channels/senders';
import type { Session } from '../domain/session';
import type { AttachmentMeta } from '../domain/transcript';
import { logger } from '../logger';
import { channelTargetOf } from './channel-media';
import { fileLink } from './file-links';
import { isOpenable } from '../domain/scan';
import type { DeliveryCursor, Ports } from './ports';

/**
 * Delivery to messaging channels (actions for bot replies, agent for agents' messages), the
 * same for every channel: the adapter renders each transcript message into sends and makes
 * them; here a persistent cursor makes each send happen once.
 */

/** Backstop life of the delivery cursor beyond its session's expiry (see ChannelStore). */
const CURSOR_BACKSTOP_SECONDS = 30 * 86400;
/** /files links handed to a channel only need to live until the channel has fetched the file. */
const SENT_FILE_LINK_SECONDS = 3600;

/** What delivering touches (actions, agent). */
export type ChannelDeliveryDeps = Pick<
  Ports,
  'bots' | 'botSecrets' | 'sessions' | 'channelRecords' | 'channelApiUrls' | 'attachments' | 'files' | 'tokens' | 'now' | 'publicBaseUrl'
>;

/** The `deliver` flow port: channel sessions get their messages pushed; the web reads its transcript. */
export const channelDelivery =
  (deps: ChannelDeliveryDeps) =>
  async (session: Session): Promise<void> =>
    session.channel === 'web' ? undefined : deliverToChannel(deps, session);

/**
 * Sends every bot and agent message the user has not been sent yet, oldest first, one API
 * call per part. A persistent cursor records each part once it went out, so a retry (the
 * queue redelivering a failed turn) resumes where the last attempt stopped instead of
 * repeating what the user already has, and a reply is never dropped: a retryable failure
 * throws for the queue to try again, and whatever is still pending also goes out with the
 * session's next delivery. A send the channel will never accept (the user blocked the bot)
 * is logged and skipped so it cannot block the rest.
 */
export async function deliverToChannel(deps: ChannelDeliveryDeps, session: Session): Promise<void> {
  const resolved = channelTargetOf(deps, session);
  if (!resolved) {
    logger.warn('channel delivery impossible: no channel account for the session', { sessionId: session.id, botId: session.botId, channel: session.channel });
    return;
  }
  // A concurrent delivery (an agent's message while a bot turn delivers) moves the cursor
  // under us; start again from where it left it.
  for (let round = 0; round < 5; round++) {
    try {
      if (await deliverPending(deps, session, resolved.channel, resolved.target)) return;
    } catch (err) {
      // Without its token the bot cannot send (logged with a metric where it was read): the
      // cursor has not moved, so its messages go out with the session's next delivery once the
      // secret exists. The turn completes; a configuration mistake is not retried into a DLQ.
      if (err instanceof MissingSecret) return;
      throw err;
    }
  }
  logger.warn('channel delivery gave way to concurrent deliveries', { sessionId: session.id, channel: session.channel });
}

/** Public `/files` links (absolute, from PUBLIC_BASE_URL) and the stored bytes of a session's files. */
export function fileAccess(deps: Pick<Ports, 'attachments' | 'files' | 'tokens' | 'now' | 'publicBaseUrl'>, session: Session): FileAccess {
  const base = deps.publicBaseUrl.replace(/\/+$/, '');
  const linkExp = Math.floor(deps.now() / 1000) + SENT_FILE_LINK_SECONDS;
  return {
    link: (a: AttachmentMeta) => `${base}${fileLink(deps.tokens, session, a.id, linkExp)}`,
    open: async (a: AttachmentMeta) => {
      const record = await deps.attachments.get(session.id, a.id);
      if (!record) throw new ChannelSendError('the file is no longer kept', false);
      // The malware gate (SPEC 13) holds for bytes a channel is sent as for /files links: fail closed.
      if (record.scan === 'pending') throw new ChannelSendError('the file is still being scanned for malware', true);
      if (!isOpenable(record.scan)) throw new ChannelSendError(`the malware scan refused the file (${record.scan})`, false);
      return deps.files.open(record.key);
    },
  };
}

async function deliverPending(deps: ChannelDeliveryDeps, session: Session, channel: SendingChannel, target: ChannelTarget<unknown>): Promise<boolean> {
  let cursor: DeliveryCursor = await deps.channelRecords.deliveryCursor(channel.name, session.id);
  const files = fileAccess(deps, session);
  let after = cursor.seq;
  for (;;) {
    // Only the run with no gap after the cursor: a message still being written is waited for.
    const page = await deps.sessions.listMessages(session.id, after, undefined, deps.now());
    if (!page.length) return true;
    for (const message of page) {
      after = message.seq;
      if (message.from === 'user') continue;
      const parts = channel.render(message, files);
      for (let part = message.seq === cursor.seq + 1 ? cursor.parts : 0; part < parts.length; part++) {
        await sendOrSkip(session, message.seq, () => channel.send(target, parts[part], files));
        const next = part + 1 === parts.length ? { seq: message.seq, parts: 0 } : { seq: message.seq - 1, parts: part + 1 };
        const backstop = session.expiresAt + CURSOR_BACKSTOP_SECONDS;
        if (!(await deps.channelRecords.advanceCursor(channel.name, session.id, cursor, next, backstop))) return false;
        cursor = next;
      }
    }
  }
}

async function sendOrSkip(session: Session, seq: number, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (err instanceof MissingSecret) throw err; // held by deliverToChannel, not retried
    const e = err instanceof ChannelSendError ? err : new ChannelSendError('channel API call failed', true);
    const fields = { sessionId: session.id, channel: session.channel, seq, status: e.status, code: e.code, subcode: e.subcode };
    if (e.retryable) {
      logger.error(`${session.channel} send failed; the queue will retry`, fields);
      throw e;
    }
    logger.warn(`${session.channel} send refused for good; skipped`, fields);
  }
}
