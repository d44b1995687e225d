import type { Session } from './session';

/**
 * Some channels let a business write to a user only for a while after the user's last message
 * (WhatsApp: the 24-hour customer-service window). `lastActivityAt` is slid by the user's
 * messages only, so it is the start of the current window.
 */
export function isReplyWindowOpen(session: Pick<Session, 'lastActivityAt'>, windowSeconds: number | undefined, now: number): boolean {
  return windowSeconds === undefined || now - session.lastActivityAt < windowSeconds * 1000;
}

/** What the agent is told when the window has closed. */
export const replyWindowClosedText = (channelLabel: string, windowSeconds: number): string =>
  `${channelLabel} only delivers agent messages within ${Math.round(windowSeconds / 3600)} hours of the user's last message. ` +
  'The user has to write again before you can answer.';
