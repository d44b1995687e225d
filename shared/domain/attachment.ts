import { createHash } from 'node:crypto';
import type { AttachmentMeta, Sender, WarningCode } from './transcript';

/**
 * A stored file of a session. The S3 key is random and session-scoped: never the user's
 * file name (SPEC section 3).
 */
export interface AttachmentRecord extends AttachmentMeta {
  sessionId: string;
  key: string;
  from: Sender;
  createdAt: number;
  /** Epoch seconds after which links stop working even if the session lives on (agent files: 24 h). */
  linkExpiresAt?: number;
}

/**
 * A UUID-shaped id that is the same every time for the same `parts` (a name-based hash), for
 * work a retry must find again instead of repeating: the attachment of a given upload slot or
 * of a given Messenger media item.
 */
export function derivedId(...parts: string[]): string {
  const hash = createHash('sha256').update(parts.join('\u0000')).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50; // version 5 style: name-based
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Files one channel message may bring into a turn. No channel's own clients send more (WhatsApp
 * and Telegram carry one file per message, Twilio MMS ten); intake keeps the first ones of a
 * message that claims more, so the events queue only ever holds what actions accepts (a
 * bigger event would fail every retry and hold the session's later messages back meanwhile).
 */
export const MAX_FILES_PER_CHANNEL_MESSAGE = 20;

export const extensionOf = (fileName: string): string => {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 && dot < fileName.length - 1 ? fileName.slice(dot + 1).toLowerCase() : '';
};

/** Why a file was refused, and which file (when its name is known). */
export interface FileWarning {
  warning: WarningCode;
  fileName?: string;
}

/** What checking a file gave: the kept file, or the warning for whoever sent it. */
export type FileOutcome = { ok: true; attachment: AttachmentMeta } | ({ ok: false } & FileWarning);

/** Outcomes in order, split into the accepted files and one warning per refused file. */
export function splitOutcomes(outcomes: readonly FileOutcome[]): { accepted: AttachmentMeta[]; warnings: FileWarning[] } {
  const accepted: AttachmentMeta[] = [];
  const warnings: FileWarning[] = [];
  for (const o of outcomes) {
    if (o.ok) accepted.push(o.attachment);
    else warnings.push({ warning: o.warning, ...(o.fileName !== undefined && { fileName: o.fileName }) });
  }
  return { accepted, warnings };
}

export const toMeta = (r: AttachmentRecord): AttachmentMeta => ({
  id: r.id,
  fileName: r.fileName,
  contentType: r.contentType,
  size: r.size,
  ...(r.scan !== undefined && { scan: r.scan }),
});
