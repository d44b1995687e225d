import type { Bot } from '../bots/schema';
import { isValidSignature, secretsEqual } from '../channels/messenger/signature';
import { sendsFor, type SendMessage } from '../channels/messenger/outbound';
import { SendApiError } from '../channels/messenger/send-api-error';
import { inboundMessages, messageEventId, pageIdsIn, WebhookBody, type InboundMedia, type InboundMessage } from '../channels/messenger/webhook';
import { derivedId, extensionOf, splitOutcomes, toMeta, type FileOutcome } from '../domain/attachment';
import { FetchFailure, InvalidRequest, InvalidSignature, VerificationRefused } from '../domain/errors';
import { expiresAtFor, isExpired, newSession, type Session } from '../domain/session';
import type { AttachmentMeta, WarningCode } from '../domain/transcript';
import { logger } from '../logger';
import { readBotSecret } from './bot-secrets';
import { fileLink } from './file-links';
import { storeIncomingFile, type FileCheckDeps } from './incoming-files';
import type { AcceptedFiles, DeliveryCursor, FetchedResponse, Ports } from './ports';
import { chooseFileName } from './send-attachment';

/**
 * The Facebook Messenger channel (SPEC sections 2 and 7):
 * - intake: the subscription handshake and signed webhook deliveries, queued per session;
 * - actions: downloading the media users send (the `acceptChannelMedia` port);
 * - delivery: bot, agent and warning messages out through the Send API (the `deliver` port).
 */

/** How long a queued message id is remembered; Meta retries failed deliveries for days. */
const MESSAGE_ID_RETENTION_SECONDS = 30 * 86400;
/** Backstop life of the delivery cursor beyond its session's expiry (see MessengerStore). */
const CURSOR_BACKSTOP_SECONDS = 30 * 86400;
/** /files links handed to Meta only need to live until Meta has fetched the file. */
const SENT_FILE_LINK_SECONDS = 3600;
const MEDIA_TIMEOUT_MS = 60_000;

export const invalidSignature = () => new InvalidSignature('X-Hub-Signature-256 does not match the request body');

/** What receiving webhooks touches (intake). */
export type MessengerIntakeDeps = Pick<Ports, 'bots' | 'botSecrets' | 'sessions' | 'messenger' | 'events' | 'now' | 'newId'>;
/** What downloading media touches (actions). */
export type MessengerMediaDeps = FileCheckDeps & Pick<Ports, 'fetch' | 'uploader'>;
/** What delivering through the Send API touches (actions, agent). */
export type MessengerDeliveryDeps = Pick<Ports, 'bots' | 'botSecrets' | 'sessions' | 'messenger' | 'messengerApi' | 'tokens' | 'now' | 'publicBaseUrl'>;

type MessengerBot = Bot & { channels: { messenger: NonNullable<Bot['channels']['messenger']> } };

const hasMessenger = (bot: Bot | undefined): bot is MessengerBot => bot?.channels.messenger !== undefined;
const messengerBots = (deps: Pick<Ports, 'bots'>): MessengerBot[] => deps.bots.all().filter(hasMessenger);

/**
 * A Messenger bot's secret, read where it is used: undefined (after an error log and a metric)
 * when it is missing or unreadable, so only that bot's page fails; a transient failure throws.
 */
const secretOf = (deps: Pick<Ports, 'botSecrets'>, bot: MessengerBot, which: 'appSecret' | 'verifyToken' | 'pageAccessToken', sessionId?: string) =>
  readBotSecret(deps, { botId: bot.id, secretName: bot.channels.messenger[which].secret, use: `messenger.${which}`, ...(sessionId && { sessionId }) });

/**
 * `GET /channels/messenger`: Meta's subscription handshake. The verify token must equal
 * (compared in constant time) the verifyToken secret of a bot with a Messenger channel.
 */
export async function verifyMessengerSubscription(deps: Pick<Ports, 'bots' | 'botSecrets'>, query: Record<string, string | undefined>): Promise<string> {
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (query['hub.mode'] === 'subscribe' && token && challenge && challenge.length <= 256) {
    for (const bot of messengerBots(deps)) {
      // A bot whose verify token is missing matches nothing; the others still can.
      const expected = await secretOf(deps, bot, 'verifyToken');
      if (expected !== undefined && secretsEqual(token, expected)) return challenge;
    }
  }
  logger.warn('messenger subscription refused', { mode: query['hub.mode'] });
  throw new VerificationRefused('The verify token does not match');
}

/**
 * `POST /channels/messenger`: one webhook delivery.
 * Primary course: verify the signature over the raw body with the app secret of every page
 * named in it, then for each user message: skip it if already queued, find or start the
 * user's session, queue the turn (FIFO group = session, dedup id from the mid) and remember
 * the mid. Nothing is stored or queued unless the signature verified.
 */
export async function receiveMessengerWebhook(deps: MessengerIntakeDeps, rawBody: Buffer, signature: string | undefined): Promise<{ queued: number }> {
  let json: unknown;
  let parsed = true;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    parsed = false;
  }
  await verifySignature(deps, rawBody, signature, pageIdsIn(json));
  if (!parsed) throw new InvalidRequest('Request body is not valid JSON');
  const body = WebhookBody.safeParse(json);
  if (!body.success) throw new InvalidRequest('Request body is not a Messenger webhook event');
  if (body.data.object !== 'page') {
    logger.info('messenger webhook for another object ignored', { object: body.data.object });
    return { queued: 0 };
  }
  let queued = 0;
  for (const entry of body.data.entry) {
    const bot = deps.bots.byMessengerPage(entry.id);
    if (!bot) {
      logger.warn('messenger webhook for an unknown page ignored', { pageId: entry.id });
      continue;
    }
    for (const message of inboundMessages(entry)) if (await queueMessage(deps, bot, message)) queued++;
  }
  return { queued };
}

/**
 * Every page named in the body must verify with its own bot's app secret. A body naming no
 * known page (or not parseable) must verify with some Messenger bot's app secret, so a forged
 * request is a 401 whatever it contains and a genuine one for an unknown page is a quiet 200.
 */
async function verifySignature(deps: Pick<Ports, 'bots' | 'botSecrets'>, rawBody: Buffer, signature: string | undefined, pageIds: string[]): Promise<void> {
  const owners = [...new Set(pageIds.map((id) => deps.bots.byMessengerPage(id)))].filter(hasMessenger);
  // Fail closed: a page whose app secret is missing or unreadable verifies nothing (401), while
  // every other page's deliveries still verify with their own secrets.
  const check = async (bot: MessengerBot) => {
    const appSecret = await secretOf(deps, bot, 'appSecret');
    return appSecret !== undefined && isValidSignature(rawBody, signature, appSecret);
  };
  let valid = false;
  if (owners.length) {
    valid = true;
    for (const bot of owners) valid = (await check(bot)) && valid;
  } else {
    for (const bot of messengerBots(deps)) valid = (await check(bot)) || valid;
  }
  if (!valid) {
    logger.warn('messenger webhook with an invalid signature refused', { pages: pageIds.length });
    throw invalidSignature();
  }
}

/**
 * Queues one user message, exactly once per mid even when Meta repeats the delivery days
 * later. The mid record is written only AFTER the event is in the queue, with a conditional
 * put: if the handler dies before that, Meta gets no 200 and delivers again, the record is
 * absent, and the message is queued again (the queue's dedup id, derived from the mid,
 * collapses the two within SQS's 5-minute window) — so a crash can never lose a message.
 * Writing the record first would: a crash between record and queue would make every retry
 * look like a duplicate. A repeat seen after the record exists is dropped here, before it can
 * start a session. The residual case (a crash between queueing and recording, then a repeat
 * more than 5 minutes later after other messages of the session) can process a mid twice,
 * never zero times.
 */
async function queueMessage(deps: MessengerIntakeDeps, bot: Bot, message: InboundMessage): Promise<boolean> {
  const eventId = messageEventId(message.pageId, message.mid);
  if (await deps.messenger.isMessageQueued(eventId)) {
    logger.info('repeated messenger message ignored', { pageId: message.pageId });
    return false;
  }
  const session = await liveSession(deps, bot, message.pageId, message.psid);
  await deps.events.send(
    {
      type: 'messenger_message',
      sessionId: session.id,
      mid: message.mid,
      ...(message.text !== undefined && { text: message.text }),
      ...(message.buttonIndex !== undefined && { buttonIndex: message.buttonIndex }),
      ...(message.media.length && { media: message.media }),
    },
    eventId,
  );
  const now = deps.now();
  await deps.messenger.markMessageQueued(eventId, session.id, now, Math.ceil(now / 1000) + MESSAGE_ID_RETENTION_SECONDS);
  return true;
}

/**
 * The user's live session on the page, its expiry slid to now; a new one when there is none
 * or it expired (its first turn runs the bot's start interaction, see run-flow).
 */
async function liveSession(deps: MessengerIntakeDeps, bot: Bot, pageId: string, psid: string, attempt = 0): Promise<Session> {
  const now = deps.now();
  const currentId = await deps.messenger.currentSessionId(pageId, psid);
  const current = currentId ? await deps.sessions.get(currentId) : undefined;
  if (current && current.botId === bot.id && !isExpired(current, now)) {
    const expiresAt = expiresAtFor(bot, now);
    const slid = await deps.sessions.update(current.id, { lastActivityAt: now, expiresAt });
    await deps.messenger.slidePointer(pageId, psid, current.id, expiresAt);
    return slid;
  }
  const session = newSession({ id: deps.newId(), bot, channel: 'messenger', userId: psid, now, messenger: { pageId, psid } });
  await deps.sessions.create(session);
  if (await deps.messenger.pointTo(pageId, psid, session.id, session.expiresAt, currentId)) {
    logger.info('messenger session started', { sessionId: session.id, botId: bot.id });
    return session;
  }
  // Another delivery for the same user started a session at the same moment: use that one.
  await deps.sessions.discard(session.id);
  if (attempt >= 3) throw new Error('could not settle the current Messenger session');
  return liveSession(deps, bot, pageId, psid, attempt + 1);
}

/**
 * The `acceptChannelMedia` port: downloads each file a Messenger user sent, through the
 * SSRF-safe fetcher (size-capped at the bot's limit), into S3 with the same checks as web
 * uploads. Refused or unreachable files give a warning code; nothing of them is kept.
 * Each file's attachment id is derived from the message id and its position, so a retried
 * turn finds the file it kept before instead of downloading (and emailing) it again.
 */
export async function acceptMessengerMedia(
  deps: MessengerMediaDeps,
  session: Session,
  media: InboundMedia[],
  mid: string,
): Promise<AcceptedFiles> {
  const outcomes: FileOutcome[] = [];
  for (const [index, item] of media.entries()) {
    const outcome = await receiveMedia(deps, session, item, derivedId('messenger-media', session.id, mid, String(index)));
    outcomes.push(typeof outcome === 'string' ? { ok: false, warning: outcome } : { ok: true, attachment: outcome });
  }
  return splitOutcomes(outcomes);
}

async function receiveMedia(deps: MessengerMediaDeps, session: Session, item: InboundMedia, attachmentId: string): Promise<AttachmentMeta | WarningCode> {
  const bot = deps.bots.get(session.botId);
  if (!bot) return 'attachment_upload_failed';
  const kept = await deps.attachments.get(session.id, attachmentId);
  if (kept) return toMeta(kept);
  let res: FetchedResponse;
  try {
    res = await deps.fetch(item.url, { maxBytes: bot.attachments.sizeLimitBytes, timeoutMs: MEDIA_TIMEOUT_MS });
  } catch (err) {
    const failure = err instanceof FetchFailure ? err : undefined;
    // The media URL is signed by Meta: only its host is logged.
    logger.warn('messenger media not downloaded', { sessionId: session.id, host: failure?.host, reason: failure?.reason ?? 'error' });
    return failure?.reason === 'too_large' ? 'attachment_too_large' : 'attachment_upload_failed';
  }
  if (res.status < 200 || res.status >= 300) {
    res.discard();
    logger.warn('messenger media not downloaded', { sessionId: session.id, host: res.url.host, status: res.status });
    return 'attachment_upload_failed';
  }
  // The fetcher's cap fails the body itself; tell that apart from other storage failures.
  let bodyFailure: FetchFailure | undefined;
  res.body.once('error', (err) => (bodyFailure = err instanceof FetchFailure ? err : undefined));
  const contentType = headerValue(res.headers['content-type']) ?? '';
  const result = await storeIncomingFile(deps, session, {
    fileName: mediaFileName(item, res, contentType),
    contentType,
    body: res.body,
    from: 'user',
    attachmentId,
  });
  if (result.ok) return result.attachment;
  return result.warning === 'attachment_upload_failed' && bodyFailure?.reason === 'too_large' ? 'attachment_too_large' : result.warning;
}

const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Extensions for media that arrives without one (Messenger CDN names usually carry it). */
const EXTENSION_FOR_TYPE: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
  'audio/mpeg': 'mp3',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'text/plain': 'txt',
  'text/csv': 'csv',
};

/** The Content-Disposition name, else the URL's last path segment; an extension from the content type when it has none. */
export function mediaFileName(item: InboundMedia, res: Pick<FetchedResponse, 'headers' | 'url'>, contentType: string): string {
  const name = chooseFileName('', headerValue(res.headers['content-disposition']), res.url.href || item.url);
  if (extensionOf(name)) return name;
  const ext = EXTENSION_FOR_TYPE[contentType.split(';')[0]!.trim().toLowerCase()];
  return ext ? `${name}.${ext}` : name;
}

/** The `deliver` flow port: Messenger sessions get their messages pushed; the web reads its transcript. */
export const channelDelivery =
  (deps: MessengerDeliveryDeps) =>
  async (session: Session): Promise<void> =>
    session.channel === 'messenger' ? deliverToMessenger(deps, session) : undefined;

/**
 * The `deliver` port for Messenger sessions: sends every bot and agent message the user has
 * not been sent yet, oldest first, one Send API call per part. A persistent cursor records
 * each part once it went out, so a retry (the queue redelivering a failed turn) resumes
 * where the last attempt stopped instead of repeating what the user already has, and a reply
 * is never dropped: a retryable failure throws for the queue to try again, and whatever is
 * still pending also goes out with the session's next delivery. A send Meta will never
 * accept (e.g. the user blocked the page) is logged and skipped so it cannot block the rest.
 */
export async function deliverToMessenger(deps: MessengerDeliveryDeps, session: Session): Promise<void> {
  const target = session.messenger;
  const bot = deps.bots.get(session.botId);
  if (!target || !hasMessenger(bot)) {
    logger.warn('messenger delivery impossible: no page for the session', { sessionId: session.id, botId: session.botId });
    return;
  }
  // Without its page token the bot cannot send; its messages stay pending (the cursor does not
  // move) and go out with the session's next delivery once the secret exists. The turn itself
  // completes, so nothing is retried into the dead-letter queue for a configuration mistake.
  const token = await secretOf(deps, bot, 'pageAccessToken', session.id);
  if (token === undefined) return;
  const send = (message: SendMessage) => deps.messengerApi.send(token, target.psid, message);
  // A concurrent delivery (an agent's message while a bot turn delivers) moves the cursor
  // under us; start again from where it left it.
  for (let round = 0; round < 5; round++) {
    if (await deliverPending(deps, session, send)) return;
  }
  logger.warn('messenger delivery gave way to concurrent deliveries', { sessionId: session.id });
}

async function deliverPending(deps: MessengerDeliveryDeps, session: Session, send: (m: SendMessage) => Promise<unknown>): Promise<boolean> {
  let cursor: DeliveryCursor = await deps.messenger.deliveryCursor(session.id);
  const base = deps.publicBaseUrl.replace(/\/+$/, '');
  const linkExp = Math.floor(deps.now() / 1000) + SENT_FILE_LINK_SECONDS;
  const fileUrl = (a: AttachmentMeta) => `${base}${fileLink(deps.tokens, session, a.id, linkExp)}`;
  let after = cursor.seq;
  for (;;) {
    // Only the run with no gap after the cursor: a message still being written is waited for.
    const page = await deps.sessions.listMessages(session.id, after, undefined, deps.now());
    if (!page.length) return true;
    for (const message of page) {
      after = message.seq;
      if (message.from === 'user') continue;
      const sends = sendsFor(message, fileUrl);
      for (let part = message.seq === cursor.seq + 1 ? cursor.parts : 0; part < sends.length; part++) {
        await sendOrSkip(session, message.seq, send, sends[part]!);
        const next = part + 1 === sends.length ? { seq: message.seq, parts: 0 } : { seq: message.seq - 1, parts: part + 1 };
        const backstop = session.expiresAt + CURSOR_BACKSTOP_SECONDS;
        if (!(await deps.messenger.advanceCursor(session.id, cursor, next, backstop))) return false;
        cursor = next;
      }
    }
  }
}

async function sendOrSkip(session: Session, seq: number, send: (m: SendMessage) => Promise<unknown>, message: SendMessage): Promise<void> {
  try {
    await send(message);
  } catch (err) {
    const e = err instanceof SendApiError ? err : new SendApiError('Send API call failed', true);
    const fields = { sessionId: session.id, seq, status: e.status, code: e.code, subcode: e.subcode };
    if (e.retryable) {
      logger.error('messenger send failed; the queue will retry', fields);
      throw e;
    }
    logger.warn('messenger send refused for good; skipped', fields);
  }
}
