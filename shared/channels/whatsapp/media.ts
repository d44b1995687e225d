/**
 * Media users send on WhatsApp: `GET {WHATSAPP_API_URL}/{media-id}` (bearer token) answers
 * where the bytes are and what they hash to; the bytes are then fetched from `url` with the
 * same token. Reference: developers.facebook.com/docs/whatsapp/cloud-api/reference/media
 */

/** WhatsApp carries documents up to 100 MB (other kinds are smaller; the bot's own limit applies first). */
export const MAX_MEDIA_BYTES = 100 * 1024 * 1024;


/**
 * The 32 bytes a SHA-256 text names, whether Meta wrote it as hex (the media endpoint) or as
 * base64 (some webhook payloads); undefined when it is neither.
 */
export function sha256Digest(text: string | undefined): Buffer | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  if (/^[0-9a-f]{64}$/i.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return bytes.length === 32 ? bytes : undefined;
  }
  return undefined;
}

/** True when both texts name the same digest, whatever their encodings. */
export function sameDigest(a: string | undefined, b: string | Buffer | undefined): boolean {
  const da = sha256Digest(a);
  const db = Buffer.isBuffer(b) ? b : sha256Digest(b);
  return da !== undefined && db !== undefined && da.length === db.length && da.equals(db);
}

/** Extensions for the MIME types WhatsApp carries (developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types). */
const EXTENSION_FOR_TYPE: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'application/pdf': 'pdf',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
  'application/zip': 'zip',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'audio/aac': 'aac',
  'audio/mp4': 'm4a',
  'audio/mpeg': 'mp3',
  'audio/amr': 'amr',
  'audio/ogg': 'ogg',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
};

const baseType = (mime: string | undefined): string => (mime ?? '').split(';')[0]!.trim().toLowerCase();

export const extensionForMime = (mime: string | undefined): string | undefined => EXTENSION_FOR_TYPE[baseType(mime)];

/**
 * The file name of received media: the document's `filename`, else `<media-id>.<extension of
 * its MIME type>` (just the id when the type is unknown; the content checks then refuse it).
 */
export function mediaFileName(mediaId: string, fileName: string | undefined, mimeType: string | undefined): string {
  const given = fileName?.trim();
  if (given) return given;
  const ext = extensionForMime(mimeType);
  const safeId = mediaId.replace(/[^A-Za-z0-9_-]/g, '_');
  return ext ? `${safeId}.${ext}` : safeId;
}

/** WhatsApp shows jpeg and png images up to 5 MB inline; anything else goes as a document. */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** The media object kind a stored file goes out as: small jpeg/png images inline, everything else as a document. */
export const outboundMediaKind = (contentType: string, size: number): 'image' | 'document' =>
  ['image/jpeg', 'image/png'].includes(baseType(contentType)) && size <= MAX_IMAGE_BYTES ? 'image' : 'document';
