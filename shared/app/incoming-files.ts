import type { Readable } from 'node:stream';
import { extensionOf, toMeta, type AttachmentRecord, type FileOutcome } from '../domain/attachment';
import {
  checkDeclaredFile,
  cleanFileName,
  contentMatches,
  contentRuleFor,
  isSizeAllowed,
  storedContentType,
  type AttachmentRules,
} from '../domain/attachment-rules';
import { ObjectTooLarge } from '../domain/errors';
import type { Session } from '../domain/session';
import type { Sender, WarningCode } from '../domain/transcript';
import { logger } from '../logger';
import { countFileHeldForScan } from '../metrics';
import type { Ports, SlotOpening } from './ports';
import { scanPendingAlarmSeconds } from './scan-watch';

export type IncomingFileResult = FileOutcome;

/** What checking and keeping a file touches. */
export type FileCheckDeps = Pick<Ports, 'bots' | 'attachments' | 'files' | 'sniff' | 'uploads' | 'now' | 'newId' | 'malwareScan' | 'scanWatch' | 'scanPendingAlarmMinutes'>;

export interface IncomingFile {
  /** The name the sender gave the file; only its last path segment is kept. */
  fileName: string;
  /** What the source declared; the stored type follows the verified extension instead. */
  contentType: string;
  body: Readable | AsyncIterable<Uint8Array>;
  from: Sender;
  /** Epoch seconds after which /files links stop working (agent files: 24 h). */
  linkExpiresAt?: number;
  /**
   * For a file that may be stored again by a retry (Messenger media of a retried turn): the
   * attachment gets this id, its object a key derived from it, and its place in the limit is
   * taken and settled once for it, so the retry overwrites instead of adding.
   */
  attachmentId?: string;
}

type Refusal = { ok: false; warning: WarningCode };
const refuse = (warning: WarningCode): Refusal => ({ ok: false, warning });

const rulesOf = (deps: Pick<Ports, 'bots'>, session: Session): AttachmentRules => {
  const bot = deps.bots.get(session.botId);
  if (!bot) throw new Error(`bot ${session.botId} of session ${session.id} no longer exists`);
  return bot.attachments;
};

/**
 * Receives a file from elsewhere (Messenger media, ...) for a session.
 * Primary course: check the name, take a place in the conversation's file limit, stream the
 * body into S3 under a random key (stopping once it passes the size limit), check its real
 * size and content, and keep it as an attachment of the session.
 * A refused file leaves nothing in S3 and gives the warning code for the user.
 * The caller puts the attachment in the transcript (and destroys nothing: the body is
 * consumed or destroyed here).
 */
export async function storeIncomingFile(
  deps: FileCheckDeps & Pick<Ports, 'uploader'>,
  session: Session,
  file: IncomingFile,
): Promise<IncomingFileResult> {
  const rules = rulesOf(deps, session);
  const fileName = cleanFileName(file.fileName);
  const declared = checkDeclaredFile(rules, { fileName });
  if (declared) {
    discard(file.body);
    return logRefusal(session, fileName, declared);
  }
  const counted = file.from === 'user';
  const { attachmentId } = file;
  if (counted && !(await reservePlace(deps, session, rules, attachmentId))) {
    discard(file.body);
    return logRefusal(session, fileName, 'attachment_limit_reached');
  }
  const key = attachmentId ? deps.files.keyFor(session.id, attachmentId) : deps.files.newKey(session.id);
  try {
    await deps.uploader.upload(key, file.body, { contentType: storedContentType(fileName), maxBytes: rules.sizeLimitBytes });
  } catch (err) {
    if (counted) await deps.uploads.release(session.id, attachmentId);
    if (err instanceof ObjectTooLarge) return logRefusal(session, fileName, 'attachment_too_large');
    logger.warn('incoming file could not be stored', { sessionId: session.id, error: err as Error });
    return refuse('attachment_upload_failed');
  }
  return checkAndKeep(deps, session, rules, {
    key,
    fileName,
    from: file.from,
    counted,
    linkExpiresAt: file.linkExpiresAt,
    ...(attachmentId && { attachmentId, placeKey: attachmentId }),
  });
}

/**
 * The checks after arrival, shared by every way a file comes in, then keeping it.
 * Primary course: the object exists, its real size is within the limit, its bytes match
 * its extension; it becomes an attachment record and, for user files, counts towards the
 * conversation's limit. A refused object is deleted and a counted place given back.
 * Retries: with `attachmentId` and `placeKey` running this again for the same file gives
 * the same record and counts or releases its place once; `onRefused` hears a refusal before
 * the object is deleted (after that a retry could no longer tell why).
 */
export async function checkAndKeep(
  deps: FileCheckDeps,
  session: Session,
  rules: AttachmentRules,
  file: {
    key: string;
    fileName: string;
    from: Sender;
    counted: boolean;
    linkExpiresAt?: number;
    attachmentId?: string;
    placeKey?: string;
    onRefused?: (warning: WarningCode) => Promise<void>;
  },
): Promise<IncomingFileResult> {
  const drop = async (warning: WarningCode) => {
    await file.onRefused?.(warning);
    await deps.files.delete(file.key);
  };
  const checked = await checkStoredObject(deps, rules, file.key, file.fileName);
  if (!checked.ok) {
    await drop(checked.warning);
    if (file.counted) await deps.uploads.release(session.id, file.placeKey);
    return logRefusal(session, file.fileName, checked.warning);
  }
  if (file.counted && !(await deps.uploads.countAcceptedFile(session.id, file.placeKey))) {
    // The session expired while the file was checked; its files are being deleted.
    await drop('attachment_upload_failed');
    return refuse('attachment_upload_failed');
  }
  const record: AttachmentRecord = {
    id: file.attachmentId ?? deps.newId(),
    sessionId: session.id,
    key: file.key,
    fileName: file.fileName,
    contentType: storedContentType(file.fileName),
    size: checked.size,
    from: file.from,
    createdAt: deps.now(),
    ...(file.linkExpiresAt !== undefined && { linkExpiresAt: file.linkExpiresAt }),
    // Held until the malware verdict (SPEC 13): shared/app/scan-verdict.ts settles it.
    ...(deps.malwareScan && { scan: deps.malwareScan === 'on' ? 'pending' : 'not_scanned' }),
  };
  // The overdue check is scheduled before the record exists: a record kept by an attempt that
  // failed later (and is then found as it is by the retry) was always watched; a check that
  // finds no record (this put failed) does nothing. Scheduling again on a retry is harmless.
  if (record.scan === 'pending') await deps.scanWatch?.schedule(session.id, record.id, scanPendingAlarmSeconds(deps));
  await deps.attachments.put(record);
  if (record.scan === 'pending') countFileHeldForScan();
  logger.info('file accepted', { sessionId: session.id, attachmentId: record.id, ext: extensionOf(record.fileName), size: record.size, from: file.from, scan: record.scan });
  return { ok: true, attachment: toMeta(record) };
}

/** Real size and content of an object in S3 against the rules (a refused one is left to the caller). */
async function checkStoredObject(
  deps: Pick<Ports, 'files' | 'sniff'>,
  rules: AttachmentRules,
  key: string,
  fileName: string,
): Promise<{ ok: true; size: number } | Refusal> {
  const size = await deps.files.size(key);
  if (size === undefined) return refuse('attachment_upload_failed');
  let verdict: WarningCode | undefined;
  const rule = contentRuleFor(extensionOf(fileName));
  if (size === 0) verdict = 'attachment_upload_failed';
  else if (!isSizeAllowed(rules, size)) verdict = 'attachment_too_large';
  else if (!rule || !contentMatches(rule, await deps.sniff(await deps.files.open(key), rule))) verdict = 'attachment_content_mismatch';
  return verdict ? refuse(verdict) : { ok: true, size };
}

/**
 * Takes one of the conversation's file places (once per `holdKey`, when given). When none is
 * left, slots that were never used (their deadline passed) give theirs back first, so an
 * abandoned upload does not hold a place for ever.
 */
export async function reservePlace(
  deps: Pick<Ports, 'now'> & { uploads: SlotOpening; files: Pick<Ports['files'], 'delete'> },
  session: Session,
  rules: AttachmentRules,
  holdKey?: string,
): Promise<boolean> {
  if (await deps.uploads.reserve(session.id, rules.limitPerConversation, holdKey)) return true;
  const stale = await deps.uploads.removeStale(session.id, deps.now());
  for (const slot of stale) {
    if (slot.counted) await deps.uploads.release(session.id, slot.uploadId);
    await deps.files.delete(slot.key);
  }
  return stale.some((s) => s.counted) && deps.uploads.reserve(session.id, rules.limitPerConversation, holdKey);
}

/** Lets go of a body that will not be read (a Node stream, or a web stream from fetch). */
function discard(body: IncomingFile['body']): void {
  const b = body as { destroy?: () => void; cancel?: () => Promise<void> };
  if (typeof b.destroy === 'function') b.destroy();
  else if (typeof b.cancel === 'function') b.cancel().catch(() => undefined);
}

function logRefusal(session: Session, fileName: string, warning: WarningCode): Refusal {
  logger.info('file refused', { sessionId: session.id, ext: extensionOf(fileName), warning });
  return refuse(warning);
}
