import type { InboundEvent, InboundMedia } from '../channel';

/**
 * Twilio's request to a number's messaging webhook
 * (twilio.com/docs/messaging/guides/webhook-request): `application/x-www-form-urlencoded`
 * parameters. An incoming message has `MessageSid`, `From`, `To`, `Body`, `NumMedia` and,
 * per file, `MediaUrl{i}` and `MediaContentType{i}`; a status callback
 * (twilio.com/docs/messaging/guides/track-outbound-message-status) has `MessageStatus`.
 */

/** At most 10 media per message (twilio.com/docs/messaging/api/media-resource). */
export const MAX_MEDIA = 10;
/** Bounds of a genuine webhook (a 1600-character body, 10 media, status fields) with ample room. */
export const MAX_WEBHOOK_BYTES = 64 * 1024;
export const MAX_WEBHOOK_PARAMS = 200;

/** The form's parameters in order, repeats kept (the signature covers every one). */
export const formParams = (raw: Buffer): [string, string][] => [...new URLSearchParams(raw.toString('utf8')).entries()];

/** First value of each name. */
export function firstValues(params: readonly (readonly [string, string])[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) if (!(k in out)) out[k] = v;
  return out;
}

/** Extensions for the media types MMS carries: photos and files arrive without a name. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/webp': 'webp',
  'image/heic': 'heic',
  'image/tiff': 'tiff',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'text/vcard': 'vcf',
  'text/x-vcard': 'vcf',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
};

export const extensionFor = (contentType: string | undefined): string | undefined =>
  contentType ? EXTENSIONS[contentType.split(';')[0]!.trim().toLowerCase()] : undefined;

export type ParsedWebhook =
  | { kind: 'message'; event: Omit<InboundEvent, 'botId' | 'account'> }
  /** A delivery status (or anything else that is not a user's message): acknowledged, ignored. */
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; problem: string };

const SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;

/**
 * What one verified webhook says. Media get a generated name, `mms-<sid>-<n>.<extension of
 * MediaContentType>`; the content checks then hold the bytes to that extension.
 */
export function parseWebhook(p: Record<string, string>): ParsedWebhook {
  const status = p.MessageStatus ?? p.SmsStatus;
  if (status !== undefined && status !== 'received') return { kind: 'ignored', reason: `status ${status.slice(0, 20)}` };
  const sid = p.MessageSid ?? p.SmsMessageSid;
  if (!sid || !SID.test(sid)) return { kind: 'invalid', problem: 'MessageSid is missing or not a Twilio message SID' };
  const from = p.From?.trim();
  if (!from || from.length > 100) return { kind: 'invalid', problem: 'From is missing' };
  const numMedia = p.NumMedia === undefined || p.NumMedia === '' ? 0 : Number(p.NumMedia);
  if (!Number.isInteger(numMedia) || numMedia < 0 || numMedia > MAX_MEDIA) return { kind: 'invalid', problem: `NumMedia must be a whole number from 0 to ${MAX_MEDIA}` };
  const media: InboundMedia[] = [];
  for (let i = 0; i < numMedia; i++) {
    const url = p[`MediaUrl${i}`];
    let parsed: URL | undefined;
    try {
      parsed = url ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) return { kind: 'invalid', problem: `MediaUrl${i} is missing or not an http(s) URL` };
    const contentType = p[`MediaContentType${i}`]?.trim() || undefined;
    const ext = extensionFor(contentType);
    media.push({
      kind: 'mms',
      ref: parsed.href,
      fileName: `mms-${sid.slice(-8).toLowerCase()}-${i + 1}${ext ? `.${ext}` : ''}`,
      ...(contentType && { contentType }),
    });
  }
  const text = p.Body?.trim() ? p.Body : undefined;
  if (text === undefined && media.length === 0) return { kind: 'ignored', reason: 'empty message' };
  return { kind: 'message', event: { user: from, messageId: sid, ...(text !== undefined && { text }), media } };
}
