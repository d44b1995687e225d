import type { Bot } from '../bots/schema';
import { extensionOf } from './attachment';
import type { WarningCode } from './transcript';

/**
 * The checks every received file goes through (SPEC section 3), as pure functions. The same
 * rules apply to web uploads, Messenger files and anything else a user sends; only the I/O
 * around them differs.
 */

/** The content rules; what happens after the malware scan (`unscannable`) is not one of them. */
export type AttachmentRules = Omit<Bot['attachments'], 'unscannable'>;

/** What the sender claims before any byte arrives (web: the upload request). */
export interface DeclaredFile {
  fileName: string;
  /** Declared size in bytes; unknown for files that arrive by streaming (Messenger). */
  size?: number;
}

/** The extension is on the bot's list (the default list when the bot sets none). */
export const isTypeAllowed = (rules: Pick<AttachmentRules, 'allowedTypes'>, fileName: string): boolean => {
  const ext = extensionOf(fileName);
  return ext !== '' && rules.allowedTypes.includes(ext);
};

/** A size in bytes is acceptable: at least one byte, at most the bot's limit. */
export const isSizeAllowed = (rules: Pick<AttachmentRules, 'sizeLimitBytes'>, size: number): boolean =>
  Number.isSafeInteger(size) && size >= 1 && size <= rules.sizeLimitBytes;

/**
 * The per-conversation limit: another file may be taken while `taken` (files accepted plus
 * places still reserved by open uploads, so parallel uploads cannot pass the limit) is below
 * it. The storage adapter implements exactly this as the condition of one atomic update
 * (UploadSlots.reserve), so concurrent requests cannot both take the last place.
 */
export const hasPlaceLeft = (rules: Pick<AttachmentRules, 'limitPerConversation'>, taken: number): boolean =>
  rules.limitPerConversation === null || taken < rules.limitPerConversation;

/**
 * The checks that need no content, in the order the user should hear about them:
 * type first (nothing else matters for a refused type), then size.
 */
export function checkDeclaredFile(rules: AttachmentRules, file: DeclaredFile): WarningCode | undefined {
  if (!isTypeAllowed(rules, file.fileName)) return 'attachment_type_not_allowed';
  if (file.size !== undefined && file.size > rules.sizeLimitBytes) return 'attachment_too_large';
  return undefined;
}

/**
 * How a file's bytes must look for its extension:
 * - `text`: valid UTF-8 without NUL bytes, and not recognisable as a binary format;
 * - `binary`: file-type (magic bytes) must detect one of `detected` (file-type's `ext` names).
 */
export type ContentRule = { kind: 'text' } | { kind: 'binary'; detected: readonly string[] };

/** Containers that are zip archives underneath; a `.zip` may legitimately be any of them. */
const ZIP_FAMILY = ['zip', 'docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp', 'epub'] as const;

const CONTENT_RULES: Readonly<Record<string, ContentRule>> = {
  txt: { kind: 'text' },
  csv: { kind: 'text' },
  tsv: { kind: 'text' },
  md: { kind: 'text' },
  json: { kind: 'text' },
  log: { kind: 'text' },
  pdf: { kind: 'binary', detected: ['pdf'] },
  png: { kind: 'binary', detected: ['png'] },
  gif: { kind: 'binary', detected: ['gif'] },
  bmp: { kind: 'binary', detected: ['bmp'] },
  jpg: { kind: 'binary', detected: ['jpg'] },
  jpeg: { kind: 'binary', detected: ['jpg'] },
  webp: { kind: 'binary', detected: ['webp'] },
  tif: { kind: 'binary', detected: ['tif'] },
  tiff: { kind: 'binary', detected: ['tif'] },
  heic: { kind: 'binary', detected: ['heic'] },
  // Legacy Office files are OLE compound files; file-type reports them all as `cfb`.
  doc: { kind: 'binary', detected: ['cfb'] },
  xls: { kind: 'binary', detected: ['cfb'] },
  ppt: { kind: 'binary', detected: ['cfb'] },
  msg: { kind: 'binary', detected: ['cfb'] },
  docx: { kind: 'binary', detected: ['docx'] },
  xlsx: { kind: 'binary', detected: ['xlsx'] },
  pptx: { kind: 'binary', detected: ['pptx'] },
  odt: { kind: 'binary', detected: ['odt'] },
  ods: { kind: 'binary', detected: ['ods'] },
  odp: { kind: 'binary', detected: ['odp'] },
  zip: { kind: 'binary', detected: ZIP_FAMILY },
  mp3: { kind: 'binary', detected: ['mp3'] },
  mp4: { kind: 'binary', detected: ['mp4', 'm4v'] },
  mov: { kind: 'binary', detected: ['mov'] },
  wav: { kind: 'binary', detected: ['wav'] },
};

/**
 * The content rule for an extension. Extensions Satchel cannot verify have no rule and are
 * refused as a content mismatch: a file is kept only when its content was checked.
 */
export const contentRuleFor = (ext: string): ContentRule | undefined =>
  Object.hasOwn(CONTENT_RULES, ext) ? CONTENT_RULES[ext] : undefined;


/** What the content sniffer found in a file's bytes. */
export interface ContentFindings {
  /** file-type's `ext` for the magic bytes, if it recognised any. */
  detected?: string;
  /** The whole file is valid UTF-8 without NUL bytes (only examined for text rules). */
  text?: boolean;
}

/** Formats file-type recognises in plain text; a text file may legitimately look like one. */
const TEXTUAL_DETECTIONS = new Set(['xml', 'svg', 'ics', 'vcf', 'json']);

export function contentMatches(rule: ContentRule, found: ContentFindings): boolean {
  if (rule.kind === 'text') return found.text === true && (found.detected === undefined || TEXTUAL_DETECTIONS.has(found.detected));
  return found.detected !== undefined && rule.detected.includes(found.detected);
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  tsv: 'text/tab-separated-values; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json',
  log: 'text/plain; charset=utf-8',
  pdf: 'application/pdf',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  heic: 'image/heic',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  msg: 'application/vnd.ms-outlook',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  zip: 'application/zip',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  wav: 'audio/wav',
};

/**
 * The content type a kept file is stored and served with. Once the content matched the
 * extension, the extension's type is the truth; what the sender declared is not trusted
 * (a PNG declared as text/html must not be served as HTML).
 */
export const storedContentType = (fileName: string): string =>
  CONTENT_TYPES[extensionOf(fileName)] ?? 'application/octet-stream';

/** A declared MIME type we are willing to put in an upload policy: `type/subtype`, no parameters tricks. */
export const isPlausibleContentType = (value: string): boolean => /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i.test(value);

/**
 * A file name safe to keep and show: the last path segment, no control characters, at most
 * 255 characters (the extension is kept when shortening). Empty when nothing usable is left.
 */
/** Control, bidi-mark and bidi-override characters: they can disguise what a text says. */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
export const stripInvisible = (s: string): string => s.replace(INVISIBLE, '');

export function cleanFileName(raw: string): string {
  // toWellFormed: a lone surrogate cannot be encoded in a Content-Disposition header.
  const base = (raw.split(/[\\/]/).pop() ?? '').toWellFormed();
  let name = stripInvisible(base).trim();
  if (name === '.' || name === '..') name = '';
  if ([...name].length > 255) {
    const ext = extensionOf(name);
    const keep = 255 - (ext ? ext.length + 1 : 0);
    name = [...name].slice(0, keep).join('') + (ext ? `.${ext}` : '');
  }
  return name;
}
