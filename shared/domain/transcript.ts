/** Stored form of a file in a transcript; `url` is added when it is handed out. */
export interface AttachmentMeta {
  id: string;
  fileName: string;
  contentType: string;
  size: number;
}

export const WARNING_CODES = [
  'attachment_too_large',
  'attachment_type_not_allowed',
  'attachment_limit_reached',
  'attachment_content_mismatch',
  'attachment_upload_failed',
  /** A message (and its files) failed every retry and was dead-lettered (issue 12). */
  'message_not_processed',
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
