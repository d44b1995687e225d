import { toMeta, type AttachmentRecord } from '../domain/attachment';
import { isRefusedByScan, settledState, type ScanResultStatus } from '../domain/scan';
import { isExpired, type Session } from '../domain/session';
import type { NewMessage, ScanState, TranscriptMessage } from '../domain/transcript';
import { warningText } from '../domain/warnings';
import { logger } from '../logger';
import { countScanVerdict } from '../metrics';
import { queueAttachmentEmail } from './mail-attachment';
import type { Ports, SessionFileObjects, WithTurnRecords } from './ports';

/** What recording a verdict touches. */
export type ScanVerdictDeps = Pick<Ports, 'bots' | 'attachments' | 'mailQueue' | 'events' | 'now' | 'push'> & WithTurnRecords<'writtenFrom' | 'setAttachmentScan' | 'noteOnce' | 'forgetNote'> & { files: SessionFileObjects };

/** One scanner answer about one object, as GuardDuty Malware Protection for S3 reports it. */
export interface ScanResult {
  objectKey: string;
  status: ScanResultStatus;
  /** Threat names, when the scanner gave them (logged only). */
  threats?: string[];
}

export type VerdictOutcome =
  | 'not_a_session_file'
  | 'session_gone'
  | 'file_gone'
  | 'not_held'
  | 'still_pending'
  | 'already_settled'
  | Exclude<ScanState, 'pending' | 'not_scanned'>;

/**
 * The verdict arrived before the file's record or transcript entry was written (the scan
 * starts when the object lands, the checks and the message follow): the caller retries.
 */
export class VerdictTooEarly extends Error {
  override name = 'VerdictTooEarly';
}

/**
 * Records a malware verdict on the file stored under `objectKey` (SPEC 13), the one path for
 * GuardDuty's events on AWS and the local scanner's alike.
 * Primary course: the file's session is live, its record is `pending`; one conditional write
 * settles it (clean, infected, or unscannable by the bot's `attachments.unscannable`); the
 * transcript entry carrying it is rewritten; a refused file's bytes are deleted and its
 * sender warned (`attachment_infected` / `attachment_unscannable`, naming the file); a clean
 * file the user sent is emailed; an agent's file to a channel user (Telegram, WhatsApp, ...),
 * which the delivery held while it was pending, is delivered now (or skipped, if refused)
 * through a `deliver` event to actions; the user's and the agents' sockets are told.
 * Idempotent: a repeated or late event finds the record settled and changes nothing (a retry
 * after a crash redoes the follow-ups of the state it finds, each of which is safe twice: the
 * warning is noted once, the email is claimed once). A file of an ended session, a file never
 * held (Send Attachment, scanning off) and a scan that failed (ACCESS_DENIED, FAILED: the file
 * stays pending, never clean) settle nothing.
 */
export async function recordScanVerdict(deps: ScanVerdictDeps, result: ScanResult): Promise<VerdictOutcome> {
  const { objectKey: key, status } = result;
  const sessionId = deps.files.sessionOfKey(key);
  if (!sessionId) return ignored('not_a_session_file', { key, status });
  const session = await deps.sessions.get(sessionId);
  if (!session || isExpired(session, deps.now())) return ignored('session_gone', { sessionId, status });
  const record = await deps.attachments.findByKey(sessionId, key);
  if (!record) {
    // Refused by the content checks (deleted), or not recorded yet: only the second is worth a retry.
    if ((await deps.files.size(key)) === undefined) return ignored('file_gone', { sessionId, status });
    throw new VerdictTooEarly(`no attachment record yet for a file of session ${sessionId}`);
  }
  if (record.scan === undefined || record.scan === 'not_scanned') return ignored('not_held', { sessionId, attachmentId: record.id, status });
  const bot = deps.bots.get(session.botId);
  const target = settledState(status, bot?.attachments.unscannable ?? 'refuse');
  const log = { sessionId, attachmentId: record.id, from: record.from, status };
  if (!target) {
    logger.error('malware scan failed; the file stays pending until a scan answers', { ...log, alarm: 'scan_failed' });
    return 'still_pending';
  }
  if (record.scan === 'pending') {
    if (await deps.attachments.settleScan(sessionId, record.id, target)) countScanVerdict();
    else if ((await deps.attachments.get(sessionId, record.id))?.scan !== target) return ignored('already_settled', log);
  } else if (record.scan !== target) {
    // An earlier verdict stands (a late or contradicting event changes nothing).
    return ignored('already_settled', { ...log, scan: record.scan });
  }
  const settled: AttachmentRecord = { ...record, scan: target };
  if (isRefusedByScan(target)) await deps.files.delete(record.key);
  const entry = await rewriteTranscriptEntry(deps, session, settled);
  const told = isRefusedByScan(target) && bot ? await warnSender(deps, session, settled, warningText(target === 'infected' ? 'attachment_infected' : 'attachment_unscannable', bot)) : [];
  if (target === 'clean' && record.from === 'user') await queueAttachmentEmail(deps, session, toMeta(settled));
  if (record.from === 'agent' && session.channel !== 'web') {
    // FIFO deduplication makes a repeated verdict's event harmless; delivery is idempotent anyway (its cursor).
    await deps.events.send({ type: 'deliver', sessionId: session.id }, `deliver:${record.id}:${target}`);
  }
  await deps.push?.(session, [entry, ...told]);
  logger.info('malware verdict recorded', { ...log, scan: target, ...(result.threats?.length && { threats: result.threats }) });
  return target;
}

/**
 * The transcript message carrying the file, rewritten with its new state (and returned so).
 * Read with `writtenFrom`, not the readers' gapless run: a position a killed writer took and
 * never filled holds readers up for the store's grace (30 s), and the verdict must not wait
 * behind it (the message it looks for is already written).
 */
async function rewriteTranscriptEntry(deps: WithTurnRecords<'writtenFrom' | 'setAttachmentScan'>, session: Session, file: AttachmentRecord): Promise<TranscriptMessage> {
  for (const m of await deps.sessions.writtenFrom(session.id, 1)) {
    const index = m.attachments?.findIndex((a) => a.id === file.id) ?? -1;
    if (index < 0) continue;
    await deps.sessions.setAttachmentScan(session.id, m.seq, index, file.id, file.scan!);
    return { ...m, attachments: m.attachments!.map((a, i) => (i === index ? { ...a, scan: file.scan } : a)) };
  }
  throw new VerdictTooEarly(`the message carrying attachment ${file.id} is not in the transcript yet`);
}

/** The sender's warning naming the file, written once however often the verdict is recorded. */
async function warnSender(deps: Pick<Ports, 'now'> & WithTurnRecords<'noteOnce' | 'forgetNote'>, session: Session, file: AttachmentRecord, text: string): Promise<TranscriptMessage[]> {
  const key = `scan:${file.id}`;
  if (!(await deps.sessions.noteOnce(session.id, key))) return [];
  const code = file.scan === 'infected' ? 'attachment_infected' : 'attachment_unscannable';
  const warning: NewMessage = { from: 'bot', text, warning: code, fileName: file.fileName, origin: `scan:${file.id}#warning` };
  try {
    return await deps.sessions.appendMessages(session.id, [warning], deps.now());
  } catch (err) {
    await deps.sessions.forgetNote(session.id, key).catch(() => undefined);
    throw err;
  }
}

function ignored(outcome: VerdictOutcome, details: Record<string, unknown>): VerdictOutcome {
  logger.info('malware verdict changes nothing', { outcome, ...details });
  return outcome;
}
