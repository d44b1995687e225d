import type { AttachmentRecord } from '../domain/attachment';
import { MailBusy, MailNotSent } from '../domain/errors';
import { isOpenable } from '../domain/scan';
import { isExpired, type Session } from '../domain/session';
import type { AttachmentMeta, TranscriptMessage } from '../domain/transcript';
import { logger } from '../logger';
import { fileLink } from './file-links';
import { attachmentEmail } from './mail-content';
import type { MailJob, Ports, WithTurnRecords } from './ports';

export { MailBusy };

export interface MailerOptions {
  /** Largest MIME message sent with the file attached; above it the email carries a /files link. */
  maxMessageBytes: number;
  /**
   * How long a claim shields an attempt from others. Longer than the mailer can run (its
   * Lambda timeout, 120 s), shorter than the mail queue's visibility timeout (720 s), so a
   * retry after a crash finds the lease expired; locally (retries at most 60 s apart for 15
   * minutes) a retry takes over within a minute of it ending. See app/retry-policy.ts.
   */
  claimLeaseMs: number;
}

/** SES v2 takes messages up to 40 MB (after base64); stay a little below it. */
export const SES_MAX_MESSAGE_BYTES = 40_000_000;
export const DEFAULT_MAILER_OPTIONS: MailerOptions = { maxMessageBytes: SES_MAX_MESSAGE_BYTES, claimLeaseMs: 3 * 60_000 };

/** Messages of the conversation shown above the file; earlier ones are counted, not shown. */
const MAX_TRANSCRIPT_MESSAGES = 500;

/** What the mailer touches. */
export type MailDeps = Pick<Ports, 'bots' | 'attachments' | 'files' | 'tokens' | 'now' | 'mail' | 'senderEmail' | 'publicBaseUrl'> & WithTurnRecords<'writtenFrom'>;

/**
 * The `onUserFile` port: queues one email job for a file the user sent.
 * Primary course: a bot with `recipientEmail`, a conversation not taken over → a job; if the
 * user is waiting for an agent and the bot sets `waitForAgentSeconds`, the job is delayed
 * that long so an agent who takes over meanwhile gets the file instead.
 */
export async function queueAttachmentEmail(deps: Pick<Ports, 'bots' | 'mailQueue'>, session: Session, file: AttachmentMeta): Promise<void> {
  const bot = deps.bots.get(session.botId);
  if (!bot?.attachments.recipientEmail) return;
  if (session.operator) return; // taken over: the agent has the file
  if (file.scan !== undefined && !isOpenable(file.scan)) {
    // Held until the malware verdict: a clean one queues the email (shared/app/scan-verdict.ts).
    logger.info('attachment email held until the malware scan', { sessionId: session.id, attachmentId: file.id, scan: file.scan });
    return;
  }
  const wait = bot.liveTakeover.waitForAgentSeconds;
  const held = wait > 0 && session.waitingForAgentSince !== undefined;
  await deps.mailQueue.send(
    { sessionId: session.id, attachmentId: file.id, ...(held && { heldForAgentSince: session.waitingForAgentSince }) },
    held ? wait : 0,
  );
  logger.info('attachment email queued', { sessionId: session.id, attachmentId: file.id, delaySeconds: held ? wait : 0 });
}

export type MailOutcome = 'sent' | 'already_sent' | 'dropped';

/**
 * The mailer: one email per attachment, exactly once across retries.
 * Primary course: check the job still applies, claim the attachment's MAIL# record, build
 * the message (file streamed from S3, or a link when too large), send it through SES, mark
 * the record sent.
 *
 * Crash points (the claim is one conditional write on SESSION#<id> / MAIL#<attachmentId>):
 * - a redelivered or duplicated job after the send was recorded finds `sent` and stops;
 * - a concurrent attempt finds a live lease and fails (MailBusy), so the queue retries it
 *   later: no second email while the lease lasts;
 * - crash after the claim, before SES was called (state `claimed`): nothing went out; the
 *   lease runs out and the next retry takes the claim over and sends. A claim never blocks
 *   forever, and the lease is shorter than the queue's retry interval;
 * - SES refused or was unreachable (MailNotSent): the claim is released at once;
 * - crash during the SES call or between SES accepting and the mark (state `sending`): the
 *   outcome is unknown and SES has no idempotency key to ask. Within the lease no retry
 *   sends; after it, the retry sends again (logged as a possible duplicate) — a file is
 *   never silently lost, and that window is one HTTP call plus one write;
 * - the mark itself failing after SES accepted: the email went out, so the job succeeds
 *   anyway (logged); failing it would only invite a second email.
 */
export async function sendAttachmentEmail(deps: MailDeps, job: MailJob, options: Partial<MailerOptions> = {}): Promise<MailOutcome> {
  const opts = { ...DEFAULT_MAILER_OPTIONS, ...options };
  const { sessionId, attachmentId } = job;
  const drop = (reason: string): MailOutcome => {
    logger.info('attachment email dropped', { sessionId, attachmentId, reason });
    return 'dropped';
  };

  const session = await deps.sessions.get(sessionId);
  if (!session || isExpired(session, deps.now())) return drop('session_expired');
  const bot = deps.bots.get(session.botId);
  const to = bot?.attachments.recipientEmail;
  if (!bot || !to) return drop('no_recipient');
  if (session.operator) return drop('taken_over');
  // A held email gives way to an agent who took over since the wait began, even one who has
  // released since. A wait can also end without one (nobody was online when the user asked
  // again): the email then goes out.
  if (job.heldForAgentSince !== undefined && session.lastTakeoverAt !== undefined && session.lastTakeoverAt >= job.heldForAgentSince) {
    return drop('agent_took_over');
  }
  const record = await deps.attachments.get(sessionId, attachmentId);
  if (!record) return drop('file_gone');
  // Only a file the scan let through is mailed; a clean verdict queues a fresh job (SPEC 13).
  if (!isOpenable(record.scan)) return drop(`scan_${record.scan}`);

  const claim = await deps.mail.claims.claim(sessionId, attachmentId, deps.now(), opts.claimLeaseMs);
  if (claim.kind === 'sent') {
    logger.info('attachment email already sent', { sessionId, attachmentId });
    return 'already_sent';
  }
  if (claim.kind === 'busy') throw new MailBusy(`email of attachment ${attachmentId} is claimed until ${new Date(claim.leaseUntil).toISOString()}`);
  const { claimId } = claim;
  if (claim.takenOverFrom === 'sending') {
    logger.warn('resending after an attempt that crashed while sending; the recipient may get this file twice', { sessionId, attachmentId });
  }

  let built: { raw: Uint8Array; linked: boolean };
  try {
    built = await buildEmail(deps, session, bot.name, to, record, opts.maxMessageBytes);
    if (!(await deps.mail.claims.markSending(sessionId, attachmentId, claimId, deps.now()))) {
      throw new MailBusy(`claim on attachment ${attachmentId} was lost before sending`);
    }
  } catch (err) {
    await releaseQuietly(deps, sessionId, attachmentId, claimId);
    throw err;
  }

  let messageId: string;
  try {
    ({ messageId } = await deps.mail.sender.send({ from: deps.senderEmail, to }, built.raw));
  } catch (err) {
    if (err instanceof MailNotSent) await releaseQuietly(deps, sessionId, attachmentId, claimId);
    throw err;
  }

  try {
    await deps.mail.claims.markSent(sessionId, attachmentId, claimId, { messageId, sentAt: deps.now(), linked: built.linked });
  } catch (err) {
    logger.error('attachment email sent but not recorded as sent', { sessionId, attachmentId, error: err as Error });
  }
  logger.info('attachment email sent', { sessionId, attachmentId, linked: built.linked, bytes: built.raw.byteLength });
  return 'sent';
}

async function releaseQuietly(deps: MailDeps, sessionId: string, attachmentId: string, claimId: string): Promise<void> {
  try {
    await deps.mail.claims.release(sessionId, attachmentId, claimId);
  } catch (err) {
    // The lease still runs out on its own.
    logger.warn('could not release mail claim', { sessionId, attachmentId, error: err as Error });
  }
}

/**
 * The MIME message with the file attached, or with a link when the encoded message would
 * pass `maxBytes`. An estimate first avoids streaming a file that cannot fit; the exact
 * size of the built message decides.
 */
async function buildEmail(
  deps: MailDeps,
  session: Session,
  botName: string,
  to: string,
  record: AttachmentRecord,
  maxBytes: number,
): Promise<{ raw: Uint8Array; linked: boolean }> {
  const { transcript, omitted } = await transcriptUpTo(deps, session.id, record.id);
  const file: AttachmentMeta = { id: record.id, fileName: record.fileName, contentType: record.contentType, size: record.size };
  const base = { bot: { name: botName }, session, file, transcript, omitted };
  const envelope = { from: deps.senderEmail, to };

  const attached = attachmentEmail({ ...base, delivery: { kind: 'attached' } });
  if (estimateEncodedBytes(record.size, attached.text.length + attached.html.length + attached.subject.length) <= maxBytes) {
    const content = await deps.files.open(record.key);
    const raw = await deps.mail.sender.encode({ ...envelope, ...attached, attachment: { fileName: record.fileName, contentType: record.contentType, content } });
    if (raw.byteLength <= maxBytes) return { raw, linked: false };
  }
  const url = `${deps.publicBaseUrl.replace(/\/+$/, '')}${fileLink(deps.tokens, session, record.id)}`;
  const linked = attachmentEmail({ ...base, delivery: { kind: 'link', url } });
  return { raw: await deps.mail.sender.encode({ ...envelope, ...linked }), linked: true };
}

/** A lower bound on the MIME size: base64 (4/3, plus CRLF every 76 characters), bodies, headers. */
export const estimateEncodedBytes = (fileBytes: number, bodyChars: number): number =>
  Math.ceil(((Math.ceil(fileBytes / 3) * 4) / 76) * 78) + bodyChars + 1024;

/**
 * The conversation up to and including the message that carried the file. Read with
 * `writtenFrom` (gaps or not): a position a killed writer left unfilled holds the readers'
 * gapless run up for 30 s, and the email must still show the message with the file.
 */
async function transcriptUpTo(deps: MailDeps, sessionId: string, attachmentId: string): Promise<{ transcript: TranscriptMessage[]; omitted: number }> {
  const written = await deps.sessions.writtenFrom(sessionId, 1);
  const at = written.findIndex((m) => m.attachments?.some((a) => a.id === attachmentId));
  const seen = at >= 0 ? written.slice(0, at + 1) : written;
  const omitted = Math.max(0, seen.length - MAX_TRANSCRIPT_MESSAGES);
  return { transcript: seen.slice(omitted), omitted };
}
