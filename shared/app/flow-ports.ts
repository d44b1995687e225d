import type { PendingAction } from '../domain/flow';
import type { Session } from '../domain/session';
import type { AttachmentMeta, TranscriptMessage, WarningCode } from '../domain/transcript';

export type ActionOutcome = { ok: true; attachment: AttachmentMeta } | { ok: false; reason: string };

/**
 * What the flow runner needs from the outside world beyond storage. Each is optional so
 * a deployment (or a test) wires only what it has; a missing port degrades safely.
 */
export interface FlowPorts {
  /** Checks web upload slots after arrival: accepted files, and a warning per refused one. */
  acceptUploads?: (session: Session, uploadIds: string[]) => Promise<{ accepted: AttachmentMeta[]; warnings: WarningCode[] }>;
  /** Performs a Send Attachment action (fetch, store) and reports the stored file. */
  performAction?: (session: Session, pending: PendingAction) => Promise<ActionOutcome>;
  /** Pushes bot messages to channels that are not read by polling (Messenger). */
  deliver?: (session: Session, messages: TranscriptMessage[]) => Promise<void>;
  /** Whether any agent has the console open (SPEC section 6). */
  agentsOnline?: () => Promise<boolean>;
  /** Called for each file the user sent that was accepted (email fallback). */
  onUserFile?: (session: Session, file: AttachmentMeta) => Promise<void>;
}
