import type { Bot } from '../bots/schema';
import { NotFound, SessionExpired } from '../domain/errors';
import { conversationStatus, isExpired, type ConversationStatus, type Session } from '../domain/session';
import { isRefusedByScan } from '../domain/scan';
import type { ScanState, TranscriptMessage } from '../domain/transcript';
import type { Ports } from './ports';

/** The public shape of a transcript message (SPEC section 7). */
export interface MessageView {
  id: string;
  from: TranscriptMessage['from'];
  text?: string;
  buttons?: { label: string }[];
  /** `url` is absent only for a file the malware scan refused (`scan` infected or unscannable). */
  attachments?: { id: string; fileName: string; contentType: string; size: number; scan?: ScanState; url?: string }[];
  warning?: string;
  /** The file a warning is about (SPEC 7). */
  fileName?: string;
  agent?: { name: string };
  at: string;
}

export type FileLinker = (session: Session, attachmentId: string) => string;

export function messageView(m: TranscriptMessage, session: Session, link: FileLinker): MessageView {
  return {
    id: String(m.seq),
    from: m.from,
    ...(m.text !== undefined && { text: m.text }),
    ...(m.buttons?.length && { buttons: m.buttons }),
    // A file the malware scan refused has no link (SPEC 13); a pending one's answers 409 until the verdict.
    ...(m.attachments?.length && { attachments: m.attachments.map((a) => (isRefusedByScan(a.scan) ? { ...a } : { ...a, url: link(session, a.id) })) }),
    ...(m.warning && { warning: m.warning }),
    ...(m.warning && m.fileName !== undefined && { fileName: m.fileName }),
    ...(m.agent && { agent: { name: m.agent.name } }),
    at: new Date(m.at).toISOString(),
  };
}

export function requireBot(deps: Pick<Ports, 'bots'>, botId: string): Bot {
  const bot = deps.bots.get(botId);
  if (!bot) throw new NotFound('bot_not_found', `No bot "${botId}"`);
  return bot;
}

/** Loads a live session; a missing or expired one is SessionExpired (it may already be deleted by TTL). */
export async function requireLiveSession(deps: Pick<Ports, 'sessions' | 'now'>, sessionId: string): Promise<Session> {
  const session = await deps.sessions.get(sessionId);
  if (!session || isExpired(session, deps.now())) throw new SessionExpired();
  return session;
}

export const statusOf = (deps: Pick<Ports, 'bots' | 'now'>, session: Session): ConversationStatus =>
  conversationStatus(session, deps.bots.get(session.botId), deps.now());
