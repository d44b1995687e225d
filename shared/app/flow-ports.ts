import type { PendingAction } from '../domain/flow';
import type { Session } from '../domain/session';
import type { AttachmentMeta, TranscriptMessage, WarningCode } from '../domain/transcript';

export type ActionOutcome = { ok: true; attachment: AttachmentMeta } | { ok: false; reason: string };

/**
 * What the flow runner needs from the outside world beyond storage. Each is optional so
 * a deployment (or a test) wires only what it has; a missing port degrades safely.
 */
export interface FlowPorts {
  /**
   * Checks web upload slots after arrival: accepted files, and a warning per refused one.
   * Called again with the same `eventId` when the queue retries the turn: it must then give
   * the same answer (same attachment ids), without redoing what is done.
   */
  acceptUploads?: (session: Session, uploadIds: string[], eventId: string) => Promise<{ accepted: AttachmentMeta[]; warnings: WarningCode[] }>;
  /** Performs a Send Attachment action (fetch, store) and reports the stored file. */
  performAction?: (session: Session, pending: PendingAction) => Promise<ActionOutcome>;
  /**
   * Downloads and checks files a channel sent by URL (Messenger media), like acceptUploads.
   * A file already kept for the same message (`mid`) and position is returned as it is.
   */
  acceptChannelMedia?: (
    session: Session,
    media: { type: string; url: string }[],
    mid: string,
  ) => Promise<{ accepted: AttachmentMeta[]; warnings: WarningCode[] }>;
  /**
   * Pushes bot and agent messages to channels that are not read by polling (Messenger).
   * Implementations keep their own record of what went out: they send `messages` and
   * anything an earlier failed call left behind (so `[]` retries only that), and throw
   * when the queue should try again.
   */
  deliver?: (session: Session, messages: TranscriptMessage[]) => Promise<void>;
  /** Whether any agent has the console open (SPEC section 6). */
  agentsOnline?: () => Promise<boolean>;
  /**
   * Called for each file the user sent that was accepted (email fallback), again on every
   * retry of the turn: the receiver must treat a repeat (same attachment id) as one.
   */
  onUserFile?: (session: Session, file: AttachmentMeta) => Promise<void>;
}
