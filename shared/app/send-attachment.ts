import { parse as parseContentDisposition } from 'content-disposition';
import { toMeta, type AttachmentRecord } from '../domain/attachment';
import { cleanFileName } from '../domain/attachment-rules';
import { FetchFailure, ObjectTooLarge } from '../domain/errors';
import type { PendingAction } from '../domain/flow';
import type { Session } from '../domain/session';
import { logger } from '../logger';
import { readBotSecret } from './bot-secrets';
import type { ActionOutcome, FetchedResponse, FetchOptions, Ports } from './ports';

/** What a Send Attachment action touches. */
export type SendAttachmentDeps = Pick<Ports, 'bots' | 'botSecrets' | 'fetch' | 'files' | 'uploader' | 'attachments' | 'now' | 'newId'>;

/** Limits of the Send Attachment fetch; the size cap is the bot's `sizeLimitBytes`. */
export interface SendAttachmentLimits {
  connectTimeoutMs: number;
  /**
   * Whole fetch, body included: a stalling endpoint fails within this. The actions function's
   * timeout is derived from it (cdk/timing.ts: one turn = overhead + each action's fetch
   * budget), so a slow endpoint ends in `onError` rather than a Lambda timeout and a
   * redelivered event.
   */
  timeoutMs: number;
}

export const DEFAULT_SEND_ATTACHMENT_LIMITS: SendAttachmentLimits = { connectTimeoutMs: 5_000, timeoutMs: 45_000 };

/** Multipart upload shape: memory held is about (queueSize + 1) × partSize, whatever the file size. */
const UPLOAD_PART_SIZE = 5 * 1024 * 1024;
const UPLOAD_QUEUE_SIZE = 2;

const FALLBACK_FILE_NAME = 'download';
const FALLBACK_CONTENT_TYPE = 'application/octet-stream';
const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;\s*[a-z0-9!#$&^_.+-]+=("[^"\r\n]*"|[a-z0-9!#$&^_.+-]+))*$/i;

/**
 * The `performAction` port: a Send Attachment action (SPEC section 4).
 * Primary course: read the named secret, GET the endpoint through the SSRF-safe fetcher
 * with it as `Authorization` plus the action's headers, stream the body into S3 under a
 * random session-scoped key (cut off past the bot's size limit), record the attachment
 * and report it. Any failure is an `{ok: false}` outcome, logged without the token, except
 * a transient failure to read the secret (Secrets Manager throttled or down), which throws
 * so the queue retries the turn; a missing or unreadable secret is an `{ok: false}` outcome
 * (`missing_secret`) with an error log and a metric (see `readBotSecret`).
 */
export function createSendAttachment(deps: SendAttachmentDeps, limits: SendAttachmentLimits = DEFAULT_SEND_ATTACHMENT_LIMITS) {
  return (session: Session, pending: PendingAction): Promise<ActionOutcome> => sendAttachment(deps, session, pending, limits);
}

/** A failure with a short reason code, safe to log and to report to the flow. */
class ActionFailed extends Error {
  constructor(
    readonly reason: string,
    readonly status?: number,
  ) {
    super(reason);
  }
}

async function sendAttachment(deps: SendAttachmentDeps, session: Session, pending: PendingAction, options: FetchOptions): Promise<ActionOutcome> {
  const { settings, interactionId } = pending;
  const host = hostOf(settings.endpoint);
  const context = { sessionId: session.id, botId: session.botId, interactionId, host };
  const bot = deps.bots.get(session.botId);
  if (!bot) return { ok: false, reason: 'unknown_bot' };

  // Read before anything else: a missing or unreadable secret fails this action alone (its
  // onError), a transient Secrets Manager failure throws so the turn is retried.
  const secretName = settings.authorizationSecret;
  const authorization = secretName ? await readBotSecret(deps, { botId: bot.id, secretName, use: 'sendAttachment', interactionId, sessionId: session.id }) : undefined;
  if (secretName && authorization === undefined) {
    logger.warn('send attachment failed', { ...context, reason: 'missing_secret' });
    return { ok: false, reason: 'missing_secret' };
  }
  const headers = requestHeaders(settings.headers, authorization);

  let response: FetchedResponse | undefined;
  try {
    response = await deps.fetch(settings.endpoint, { ...options, headers, maxBytes: bot.attachments.sizeLimitBytes });
    if (response.status < 200 || response.status > 299) throw new ActionFailed(`http_${response.status}`, response.status);

    const record: AttachmentRecord = {
      id: deps.newId(),
      sessionId: session.id,
      key: deps.files.newKey(session.id),
      from: 'bot',
      fileName: chooseFileName(settings.fileName, response.headers['content-disposition'], settings.endpoint),
      contentType: chooseContentType(settings.contentType, response.headers['content-type']),
      size: 0,
      createdAt: deps.now(),
    };
    // Memory held is about (queueSize + 1) × partSize, whatever the file size. The fetcher
    // already caps the body at the same limit and fails it with its own reason.
    ({ size: record.size } = await deps.uploader.upload(record.key, response.body, {
      contentType: record.contentType,
      maxBytes: bot.attachments.sizeLimitBytes,
      partSize: UPLOAD_PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
    }));
    await deps.attachments.put(record).catch(async (err: unknown) => {
      await deps.files.delete(record.key).catch(() => undefined);
      throw err;
    });
    logger.info('attachment sent', { ...context, attachmentId: record.id, size: record.size, contentType: record.contentType });
    return { ok: true, attachment: toMeta(record) };
  } catch (err) {
    response?.discard();
    const failure = describe(err);
    logger.warn('send attachment failed', { ...context, reason: failure.reason, ...(failure.status !== undefined && { status: failure.status }) });
    return { ok: false, reason: failure.reason };
  }
}

/** The action's headers plus the secret, verbatim, as Authorization (which the headers cannot override). */
function requestHeaders(extra: Record<string, string>, authorization: string | undefined): Record<string, string> {
  const headers = Object.fromEntries(Object.entries(extra).filter(([name]) => name.toLowerCase() !== 'authorization' || authorization === undefined));
  if (authorization !== undefined) headers.Authorization = authorization;
  return headers;
}

function describe(err: unknown): { reason: string; status?: number } {
  if (err instanceof ActionFailed) return { reason: err.reason, status: err.status };
  if (err instanceof FetchFailure) return { reason: err.reason };
  if (err instanceof ObjectTooLarge) return { reason: 'too_large' };
  return { reason: 'storage_error' };
}

const hostOf = (endpoint: string): string | undefined => {
  try {
    return new URL(endpoint).host;
  } catch {
    return undefined;
  }
};

/** `fileName` setting, else the Content-Disposition name (filename* wins), else the URL's last path segment. */
export function chooseFileName(setting: string, contentDisposition: string | undefined, endpoint: string): string {
  return sanitizeFileName(setting) ?? sanitizeFileName(dispositionName(contentDisposition)) ?? sanitizeFileName(lastPathSegment(endpoint)) ?? FALLBACK_FILE_NAME;
}

function dispositionName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    // `parse` decodes filename* (RFC 8187) into `filename`, so the extended form wins.
    return parseContentDisposition(header).parameters.filename;
  } catch {
    return undefined;
  }
}

function lastPathSegment(endpoint: string): string | undefined {
  let segment: string | undefined;
  try {
    segment = new URL(endpoint).pathname.split('/').pop();
  } catch {
    return undefined;
  }
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * A name safe to show and to put in a Content-Disposition header: no directories, no
 * control or bidi-override characters, no leading dots, at most 200 characters.
 */
export function sanitizeFileName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const clean = cleanFileName(name)
    .replace(/^[\s.]+/, '')
    .trim()
    .slice(0, 200)
    .trim();
  return clean || undefined;
}

/** `contentType` setting, else the response's, else application/octet-stream; malformed values are not passed on. */
export function chooseContentType(setting: string, response: string | undefined): string {
  for (const candidate of [setting, response]) {
    const value = candidate?.trim();
    if (value && CONTENT_TYPE.test(value)) return value;
  }
  return FALLBACK_CONTENT_TYPE;
}
