import * as z from 'zod/mini';
import type { Bot } from '../bots/schema';
import { derivedId, extensionOf, splitOutcomes, toMeta } from '../domain/attachment';
import { checkDeclaredFile, cleanFileName, isPlausibleContentType, storedContentType } from '../domain/attachment-rules';
import { AttachmentRefused } from '../domain/errors';
import type { Session } from '../domain/session';
import type { Sender, WarningCode } from '../domain/transcript';
import { warningText } from '../domain/warnings';
import { logger } from '../logger';
import { requireBot } from './conversation';
import { AGENT_FILE_LINK_SECONDS } from './file-links';
import { checkAndKeep, reservePlace, type FileCheckDeps, type IncomingFileResult } from './incoming-files';
import type { AcceptedFiles, Ports, SessionFileObjects, SlotOpening, SlotResult, UploadSlot, UsedSlot } from './ports';
import '../zod-english';

/** How long the browser has to POST the file to S3. */
export const UPLOAD_POST_SECONDS = 300;
/** After the POST window, how long the uploaded file waits for the message that sends it. */
const SLOT_GRACE_MS = 10 * 60_000;
/**
 * The longest an object at an upload key can still be needed: posted at the end of the POST
 * window, used at the end of the grace. Older ones are left-overs (a form posted again after
 * its slot was used, an upload never sent) that the local upload sweeper removes.
 */
export const UPLOAD_KEY_MAX_AGE_MS = UPLOAD_POST_SECONDS * 1000 + SLOT_GRACE_MS;

/** What opening an upload slot touches (intake, agent): no content checks, no file reads. */
export type UploadSlotDeps = Pick<Ports, 'bots' | 'sessions' | 'uploadForms' | 'now' | 'newId'> & { uploads: SlotOpening; files: SessionFileObjects };
/** What using upload slots touches: the checks after arrival too. */
export type SlotDeps = FileCheckDeps & Pick<Ports, 'sessions' | 'newId'>;

// Built on the first request that needs it, not at cold start (issue 10).
export const UploadRequestBody = z.lazy(() =>
  z.strictObject({
    fileName: z.string().check(z.trim(), z.minLength(1), z.maxLength(1000)),
    size: z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
    contentType: z.string().check(z.maxLength(200), z.refine(isPlausibleContentType, 'contentType must be a MIME type such as application/pdf')),
  }),
);
export type UploadRequest = z.infer<typeof UploadRequestBody>;

/** What the client needs to POST the file straight to S3. */
export interface UploadTicket {
  uploadId: string;
  url: string;
  fields: Record<string, string>;
  expiresAt: string;
}

export type SlotOutcome = { ok: true; upload: UploadTicket } | { ok: false; warning: WarningCode };

/**
 * Opens an upload slot for one file (web users; agents through the agent API).
 * Primary course: check the name and declared size against the bot's rules, take a place
 * in the conversation's limit (user files only), record the slot, presign a POST for its
 * exact key, size range and content type.
 */
export async function createUploadSlot(
  deps: UploadSlotDeps,
  args: { session: Session; bot: Bot; sender: Sender } & UploadRequest,
): Promise<SlotOutcome> {
  const { session, bot, sender } = args;
  const rules = bot.attachments;
  const fileName = cleanFileName(args.fileName);
  const refused = checkDeclaredFile(rules, { fileName, size: args.size });
  if (refused) return { ok: false, warning: refused };
  const counted = sender === 'user';
  if (counted && !(await reservePlace(deps, session, rules))) return { ok: false, warning: 'attachment_limit_reached' };

  const now = deps.now();
  const postExpiresAt = now + UPLOAD_POST_SECONDS * 1000;
  const slot: UploadSlot = {
    uploadId: deps.newId(),
    sessionId: session.id,
    // Outside the session's prefix: the form outlives the slot's use (see moveUpload).
    key: deps.files.newUploadKey(session.id),
    fileName,
    declaredSize: args.size,
    contentType: args.contentType,
    from: sender,
    counted,
    createdAt: now,
    postExpiresAt,
    usableUntil: postExpiresAt + SLOT_GRACE_MS,
  };
  try {
    await deps.uploads.put(slot);
  } catch (err) {
    if (counted) await deps.uploads.release(session.id);
    throw err;
  }
  const post = await deps.uploadForms.presign({
    key: slot.key,
    contentType: slot.contentType,
    maxBytes: rules.sizeLimitBytes,
    expiresSeconds: UPLOAD_POST_SECONDS,
  });
  logger.info('upload slot opened', { sessionId: session.id, uploadId: slot.uploadId, ext: extensionOf(fileName), from: sender });
  return { ok: true, upload: { uploadId: slot.uploadId, url: post.url, fields: post.fields, expiresAt: new Date(postExpiresAt).toISOString() } };
}

/**
 * `POST /web/sessions/{id}/uploads`. A refusal is also told in the transcript, from the
 * bot, so the user sees why even if the client ignores the error body.
 */
export async function requestWebUpload(deps: UploadSlotDeps, session: Session, body: UploadRequest): Promise<UploadTicket> {
  const bot = requireBot(deps, session.botId);
  const outcome = await createUploadSlot(deps, { session, bot, sender: 'user', ...body });
  if (outcome.ok) return outcome.upload;
  const text = warningText(outcome.warning, bot);
  await deps.sessions.appendMessages(session.id, [{ from: 'bot', text, warning: outcome.warning, fileName: cleanFileName(body.fileName) }], deps.now(), { seen: session });
  throw new AttachmentRefused(outcome.warning, text);
}

/**
 * The `acceptUploads` port: the user's slots named in a message, checked after arrival.
 * Returns the accepted files in order, and one warning per refused slot. `useKey` is the
 * flow event's id, so a retried event gets the same answer (see acceptUploadSlots).
 */
export async function acceptUploads(
  deps: SlotDeps,
  session: Session,
  uploadIds: string[],
  useKey?: string,
): Promise<AcceptedFiles> {
  return splitOutcomes(await acceptUploadSlots(deps, session, uploadIds, 'user', useKey));
}

/**
 * Uses upload slots of `from` (user or agent): each slot works for one use only (`useKey`),
 * only for its own session, and only until its deadline. Without a key the call is its own
 * use and cannot be repeated.
 * Primary course per slot: mark the slot used, move the uploaded object to the slot's stored
 * key (the presigned POST may still be valid and must not be able to replace a checked file),
 * run the checks after arrival, keep the file, record the outcome on the slot.
 * Retries: the same `useKey` (a redelivered flow event) gets each slot's recorded outcome
 * back, or, when the earlier attempt stopped before recording it, resumes from what that
 * attempt left: the same attachment id, the stored copy rather than a new one, and the
 * slot's place counted or given back once. Another key never gets a used slot.
 */
export async function acceptUploadSlots(
  deps: SlotDeps,
  session: Session,
  uploadIds: string[],
  from: Sender,
  useKey = `once#${deps.newId()}`,
): Promise<IncomingFileResult[]> {
  const rules = requireBot(deps, session.botId).attachments;
  const results: IncomingFileResult[] = [];
  for (const uploadId of new Set(uploadIds)) {
    const used = await deps.uploads.consume(session.id, uploadId, from, { by: useKey, at: deps.now(), storedKey: deps.files.newKey(session.id) });
    if (!used) {
      logger.info('unknown or used upload slot', { sessionId: session.id, uploadId });
      results.push({ ok: false, warning: 'attachment_upload_failed' });
      continue;
    }
    const outcome = await useSlot(deps, session, rules, used.slot, used.again);
    // A refusal names the file, so the user can tell which one it was (SPEC 7).
    results.push(outcome.ok ? outcome : { ...outcome, fileName: used.slot.fileName });
  }
  return results;
}

async function useSlot(deps: SlotDeps, session: Session, rules: Bot['attachments'], slot: UsedSlot, again: boolean): Promise<SlotResult> {
  if (slot.outcome) {
    // A retry: the outcome stands. A refusal's clean-up may not have finished.
    if (!slot.outcome.ok) await discardSlot(deps, session, slot);
    return slot.outcome;
  }
  const record = (outcome: SlotResult) => deps.uploads.recordOutcome(session.id, slot.uploadId, slot.usedBy, outcome);
  const attachmentId = derivedId('upload', session.id, slot.uploadId);
  if (again) {
    // The earlier attempt may have kept the file and stopped before recording it.
    const kept = await deps.attachments.get(session.id, attachmentId);
    if (kept) {
      const outcome: SlotResult = { ok: true, attachment: toMeta(kept) };
      await record(outcome);
      return outcome;
    }
  }
  if (!(await moveUpload(deps, slot, again))) {
    const outcome: SlotResult = { ok: false, warning: 'attachment_upload_failed' };
    await record(outcome);
    await discardSlot(deps, session, slot);
    return outcome;
  }
  const linkExpiresAt = slot.from === 'agent' ? Math.floor(deps.now() / 1000) + AGENT_FILE_LINK_SECONDS : undefined;
  const outcome = await checkAndKeep(deps, session, rules, {
    key: slot.storedKey,
    fileName: slot.fileName,
    from: slot.from,
    counted: slot.counted,
    linkExpiresAt,
    attachmentId,
    placeKey: slot.uploadId,
    onRefused: (warning) => record({ ok: false, warning }),
  });
  if (outcome.ok) await record(outcome);
  return outcome;
}

/**
 * Copies the uploaded object to the slot's stored key and deletes the upload; false when no
 * file is there to keep. The form may still be valid and posted again: that lands at the
 * upload key, outside the session's prefix, where nothing reads it and the lifecycle rule
 * (locally the upload sweeper) removes it; the checked copy is never touched. The deadline is judged at first use. A retry that finds the copy
 * keeps it rather than copying again: the upload key may hold something posted since.
 */
async function moveUpload(deps: Pick<Ports, 'files'>, slot: UsedSlot, again: boolean): Promise<boolean> {
  let arrived = again && (await deps.files.size(slot.storedKey)) !== undefined;
  if (!arrived && slot.usedAt <= slot.usableUntil) arrived = await deps.files.copy(slot.key, slot.storedKey, storedContentType(slot.fileName));
  // A use still running (an agent's repeated request overlapping its first) may have moved it
  // between the two looks: the upload is copied before it is deleted, so look again.
  if (!arrived && again) arrived = (await deps.files.size(slot.storedKey)) !== undefined;
  await deps.files.delete(slot.key);
  return arrived;
}

/** A refused slot leaves nothing behind and gives its place back (once). */
async function discardSlot(deps: Pick<Ports, 'files' | 'uploads'>, session: Session, slot: UsedSlot): Promise<void> {
  await Promise.all([deps.files.delete(slot.key), deps.files.delete(slot.storedKey)]);
  if (slot.counted) await deps.uploads.release(session.id, slot.uploadId);
}
