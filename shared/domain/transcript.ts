/** Stored form of a file in a transcript; `url` is added when it is handed out. */
/**
 * Where a file stands with the malware scan (SPEC 13): `pending` until the verdict (its link
 * answers 409, no email), then `clean`, `infected` or `unscannable` (refused: bytes deleted,
 * no link); `not_scanned` when scanning is off. Absent: a file that is never held (Send
 * Attachment files, records from before scanning existed).
 */
export const SCAN_STATES = ['pending', 'clean', 'infected', 'unscannable', 'not_scanned'] as const;
export type ScanState = (typeof SCAN_STATES)[number];

export interface AttachmentMeta {
  id: string;
  fileName: string;
  contentType: string;
  size: number;
  scan?: ScanState;
}

export const WARNING_CODES = [
  'attachment_too_large',
  'attachment_type_not_allowed',
  'attachment_limit_reached',
  'attachment_content_mismatch',
  'attachment_upload_failed',
  /** A message (and its files) failed every retry and was dead-lettered (issue 12). */
  'message_not_processed',
  /** The malware scan found a threat in the file; its bytes were deleted (SPEC 13). */
  'attachment_infected',
  /** The malware scan could not judge the file (e.g. an encrypted archive) and the bot refuses such files. */
  'attachment_unscannable',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export type Sender = 'user' | 'bot' | 'agent';

export interface NewMessage {
  from: Sender;
  text?: string;
  buttons?: { label: string }[];
  attachments?: AttachmentMeta[];
  warning?: WarningCode;
  /** A warning about one file names it (SPEC 7), so clients can say which file was refused. */
  fileName?: string;
  /** Agent messages name who sent them. */
  agent?: { agentId: string; name: string };
  /**
   * Which turn wrote it, `<eventId>#<n>` (the n-th message of that turn), so a retried turn
   * does not write it twice. Internal: never part of an API response.
   */
  origin?: string;
}

export interface TranscriptMessage extends NewMessage {
  /** Position in the transcript; also the read cursor. */
  seq: number;
  at: number;
}

/**
 * A message's text for a reader who sees no separate file name (a messaging channel, an
 * email): a warning about one file starts with that file's name, so the user knows which.
 */
export const plainText = (m: Pick<TranscriptMessage, 'text' | 'warning' | 'fileName'>): string | undefined =>
  m.warning && m.fileName && m.text?.trim() ? `${m.fileName}: ${m.text}` : m.text;
