import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ChannelTarget, InboundMedia, MediaSource } from '../channels/channel';
import { sendingChannelNamed, type SendingChannel } from '../channels/senders';
import { derivedId, extensionOf, splitOutcomes, toMeta, type FileOutcome } from '../domain/attachment';
import { FetchFailure } from '../domain/errors';
import type { Session } from '../domain/session';
import type { AttachmentMeta, WarningCode } from '../domain/transcript';
import { logger } from '../logger';
import { secretReader } from './channel-intake';
import { storeIncomingFile, type FileCheckDeps } from './incoming-files';
import type { AcceptedFiles, FetchedResponse, Ports } from './ports';
import { chooseFileName } from './send-attachment';

/**
 * The `acceptChannelMedia` port (actions), for every channel: each file a channel user sent is
 * located by the channel's adapter, fetched through the SSRF-safe fetcher (capped at the
 * smaller of the bot's and the channel's limit), and kept with the same checks as web uploads.
 * Refused or unreachable files give a warning code; nothing of them is kept.
 */

const MEDIA_TIMEOUT_MS = 60_000;

/** What downloading media touches (actions). */
export type ChannelMediaDeps = FileCheckDeps & Pick<Ports, 'fetch' | 'uploader' | 'botSecrets' | 'channelApiUrls'>;

/** The session's channel, resolved: its adapter, and the bot's config, secrets and API base for it. */
export function channelTargetOf(
  deps: Pick<Ports, 'bots' | 'botSecrets' | 'channelApiUrls'>,
  session: Session,
): { channel: SendingChannel; target: ChannelTarget<unknown> } | undefined {
  const channel = sendingChannelNamed(session.channel);
  const config = channel && (deps.bots.get(session.botId)?.channels as Record<string, unknown> | undefined)?.[channel.name];
  const who = session.channelUser ?? (session.messenger && { account: session.messenger.pageId, user: session.messenger.psid });
  if (!channel || config === undefined || !who) return undefined;
  return {
    channel,
    target: { botId: session.botId, config, ...who, secret: secretReader(deps, channel, 'use', session.id), apiUrl: deps.channelApiUrls[channel.name] ?? '' },
  };
}

/**
 * Each file's attachment id is derived from the message id and its position, so a retried
 * turn finds the file it kept before instead of downloading (and emailing) it again.
 */
export async function acceptChannelMedia(
  deps: ChannelMediaDeps,
  session: Session,
  channelName: string,
  media: InboundMedia[],
  messageId: string,
): Promise<AcceptedFiles> {
  const outcomes: FileOutcome[] = [];
  for (const [index, item] of media.entries()) {
    const attachmentId = derivedId(`${channelName}-media`, session.id, messageId, String(index));
    const outcome = await receiveMedia(deps, session, item, attachmentId);
    outcomes.push(typeof outcome === 'string' ? { ok: false, warning: outcome, ...(item.fileName !== undefined && { fileName: item.fileName }) } : { ok: true, attachment: outcome });
  }
  return splitOutcomes(outcomes);
}

async function receiveMedia(deps: ChannelMediaDeps, session: Session, item: InboundMedia, attachmentId: string): Promise<AttachmentMeta | WarningCode> {
  const bot = deps.bots.get(session.botId);
  const resolved = channelTargetOf(deps, session);
  if (!bot || !resolved) return 'attachment_upload_failed';
  const { channel, target } = resolved;
  const kept = await deps.attachments.get(session.id, attachmentId);
  if (kept) return toMeta(kept);
  const maxBytes = Math.min(bot.attachments.sizeLimitBytes, channel.limits.inboundMaxBytes);
  const announced = item.size;
  if (announced !== undefined && announced > maxBytes) {
    logger.info('channel media refused before download: too large', { sessionId: session.id, channel: channel.name, size: announced });
    return 'attachment_too_large';
  }
  let source: MediaSource | WarningCode;
  try {
    source = await channel.mediaSource(target, item);
  } catch (err) {
    logger.warn('channel media could not be located', { sessionId: session.id, channel: channel.name, error: (err as Error).name });
    return 'attachment_upload_failed';
  }
  if (typeof source === 'string') return source;
  const cap = Math.min(maxBytes, source.maxBytes ?? Infinity);
  let res: FetchedResponse;
  try {
    res = await deps.fetch(source.url, { maxBytes: cap, timeoutMs: MEDIA_TIMEOUT_MS, ...(source.headers && { headers: source.headers }) });
  } catch (err) {
    const failure = err instanceof FetchFailure ? err : undefined;
    // Media URLs are signed or carry the bot's token: only the host is logged.
    logger.warn(`${channel.name} media not downloaded`, { sessionId: session.id, host: failure?.host, reason: failure?.reason ?? 'error' });
    return failure?.reason === 'too_large' ? 'attachment_too_large' : 'attachment_upload_failed';
  }
  if (res.status < 200 || res.status >= 300) {
    res.discard();
    logger.warn(`${channel.name} media not downloaded`, { sessionId: session.id, host: res.url.host, status: res.status });
    return 'attachment_upload_failed';
  }
  if (res.contentLength !== undefined && res.contentLength > cap) {
    res.discard();
    return 'attachment_too_large';
  }
  // The fetcher's cap fails the body itself; tell that apart from other storage failures.
  let bodyFailure: FetchFailure | undefined;
  res.body.once('error', (err) => (bodyFailure = err instanceof FetchFailure ? err : undefined));
  const contentType = source.contentType ?? item.contentType ?? headerValue(res.headers['content-type']) ?? '';
  let hashMismatch = false;
  // Lazy on purpose: the bytes are read (and the digest checked at their end) only while the
  // upload consumes them, so a mismatch fails the upload itself and nothing of the file is kept.
  // (An eager pipe would finish a small body, and fail, before anyone listened.)
  async function* checked(expected: string): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
    hashMismatch = hash.digest('hex') !== expected.toLowerCase();
    if (hashMismatch) throw new Error('media digest mismatch');
  }
  const body = source.sha256 ? Readable.from(checked(source.sha256)) : res.body;
  // A body refused before it was read is let go of with its connection.
  if (body !== res.body) body.once('close', () => res.discard());
  const result = await storeIncomingFile(deps, session, {
    fileName: source.fileName ?? item.fileName ?? mediaFileName(item, res, contentType),
    contentType,
    body,
    from: 'user',
    attachmentId,
  });
  if (result.ok) return result.attachment;
  if (hashMismatch) {
    logger.warn(`${channel.name} media digest mismatch`, { sessionId: session.id });
    return 'attachment_upload_failed';
  }
  return result.warning === 'attachment_upload_failed' && bodyFailure?.reason === 'too_large' ? 'attachment_too_large' : result.warning;
}

const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Extensions for media that arrives without one (photos, CDN names without a suffix). */
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

export const extensionForType = (contentType: string): string | undefined => EXTENSION_FOR_TYPE[contentType.split(';')[0]!.trim().toLowerCase()];

/** The Content-Disposition name, else the URL's last path segment; an extension from the content type when it has none. */
export function mediaFileName(item: Pick<InboundMedia, 'ref'>, res: Pick<FetchedResponse, 'headers' | 'url'>, contentType: string): string {
  const name = chooseFileName('', headerValue(res.headers['content-disposition']), res.url.href || item.ref);
  if (extensionOf(name)) return name;
  const ext = extensionForType(contentType);
  return ext ? `${name}.${ext}` : name;
}
