import { isExpired } from '../domain/session';
import { warningText } from '../domain/warnings';
import type { NewMessage } from '../domain/transcript';
import { logger } from '../logger';
import type { FlowEvent, Ports, WithTurnRecords } from './ports';

/** What telling the user needs: the bots (the text), the session store, the clock, delivery and push. */
export type NoticeDeps = Pick<Ports, 'bots' | 'now' | 'ports' | 'push'> & WithTurnRecords<'noteOnce' | 'forgetNote'>;

export type NoticeOutcome = 'told' | 'already_told' | 'not_needed';

/**
 * A flow event failed every retry and was dead-lettered (locally) or is at its last attempt
 * (AWS): the user's message, with any files in it, will not be answered. Rather than leave them
 * in silence, a `message_not_processed` warning joins the transcript (web: read, pushed;
 * Messenger: delivered), once per event however often this runs: the session record notes the
 * event first, and the note is taken back if the warning could not be written.
 * A `session_started` or `deliver` event has no message of the user's to speak of, and an expired or
 * deleted session has nobody to tell: nothing is written then.
 */
export async function tellUserEventNotProcessed(deps: NoticeDeps, event: FlowEvent & { eventId: string }): Promise<NoticeOutcome> {
  // Neither a session start nor a held delivery is a message of the user's to speak of (a
  // delivery still pending goes out with the session's next one).
  if (event.type === 'session_started' || event.type === 'deliver') return 'not_needed';
  const session = await deps.sessions.get(event.sessionId);
  if (!session || isExpired(session, deps.now())) return 'not_needed';
  const bot = deps.bots.get(session.botId);
  if (!bot) return 'not_needed';
  const key = `not_processed:${event.eventId}`;
  if (!(await deps.sessions.noteOnce(session.id, key))) return 'already_told';
  const warning: NewMessage = {
    from: 'bot',
    text: warningText('message_not_processed', bot),
    warning: 'message_not_processed',
    origin: `${event.eventId}#not_processed`,
  };
  let written;
  try {
    written = await deps.sessions.appendMessages(session.id, [warning], deps.now());
  } catch (err) {
    await deps.sessions.forgetNote(session.id, key).catch(() => undefined);
    throw err;
  }
  logger.warn('user told their message was not processed', { sessionId: session.id, eventId: event.eventId, type: event.type });
  // Best effort from here: the warning is in the transcript, where polling finds it.
  try {
    await deps.ports.deliver?.(session, written);
  } catch (err) {
    logger.warn('could not deliver the not-processed warning', { sessionId: session.id, error: err as Error });
  }
  await deps.push?.(session, written, 'everyone');
  return 'told';
}
