import type { Session } from '../domain/session';
import type { TranscriptMessage } from '../domain/transcript';
import { logger } from '../logger';
import { agentMessageView, conversationView } from './agent-conversations';
import { messageView, statusOf } from './conversation';
import { fileLink } from './file-links';
import type { LivePush, Ports } from './ports';

/** How long a push waits before asking a connection that answered 410 once more. */
export const GONE_RECHECK_MS = 1000;

/** What pushing needs: where the sockets are, how to post to them, and what the views show. */
export type LivePushDeps = Pick<Ports, 'sockets' | 'socketPoster' | 'sessions' | 'tokens' | 'bots' | 'now'>;

/** Server → user frame (SPEC 10): the same objects `GET /web/sessions/{id}/messages` returns. */
export function userFrame(deps: Pick<Ports, 'tokens' | 'bots' | 'now'>, session: Session, messages: TranscriptMessage[], last: TranscriptMessage | undefined) {
  return {
    type: 'messages' as const,
    sessionId: session.id,
    messages: messages.map((m) => messageView(m, session, (s, aid) => fileLink(deps.tokens, s, aid))),
    cursor: String(last?.seq ?? 0),
    status: statusOf(deps, session),
  };
}

/** Server → agent frame (SPEC 10): the conversation as the list shows it, and its new messages. */
export function agentFrame(deps: Pick<Ports, 'tokens' | 'bots' | 'now'>, session: Session, messages: TranscriptMessage[], last: TranscriptMessage | undefined) {
  return {
    type: 'conversation' as const,
    conversation: conversationView(deps, session, last),
    messages: messages.map((m) => agentMessageView(deps, m, session)),
  };
}

/**
 * The `push` port (SPEC 10): after a write changed a conversation's transcript or status, the
 * session's user (web only) and the agent consoles that need it (see LivePush) get a frame
 * over their WebSocket.
 * Primary course: the user's connections are on the session record the writer holds; the
 * agents' come with the turn's read, or from one read here; build each audience's frame
 * once, post it to each connection, forget connections the Management API says are gone.
 * Delivery is at least once and best effort: any failure is logged and swallowed, so the write
 * that caused it stands and clients catch up by polling.
 */
export function livePush(deps: LivePushDeps): LivePush {
  return async function pushChange(session, messages, audience = 'everyone', knownAgents, listChanged = false) {
    try {
      const toUser = audience === 'everyone' && session.channel === 'web';
      const userConnections = toUser ? [...(session.sockets ?? [])] : [];
      const agents = knownAgents ?? (await deps.sockets.agentsFor(Math.floor(deps.now() / 1000), session.id));
      // What the list must show live goes to every console; a bot-handled chat's messages only to those that have it open.
      const toEveryAgent = audience === 'agents' || !messages.length || Boolean(session.operator) || listChanged;
      const agentConnections = toEveryAgent ? agents.all : agents.watching;
      if (!userConnections.length && !agentConnections.length) return;
      // A status change writes no message; the frames still say where the transcript stands.
      const last = messages.at(-1) ?? (await deps.sessions.lastMessage(session.id));
      const send = async (connectionId: string, frame: unknown, owner: { kind: 'user'; sessionId: string } | { kind: 'agent' }) => {
        try {
          if ((await deps.socketPoster.post(connectionId, frame)) !== 'gone') return;
          // API Gateway also answers 410 while a connection's $connect is still running (it is
          // recorded by then): ask once more a moment later before forgetting it.
          await new Promise((resolve) => setTimeout(resolve, GONE_RECHECK_MS));
          if ((await deps.socketPoster.post(connectionId, frame)) === 'gone') await deps.sockets.remove(connectionId, owner);
        } catch (err) {
          logger.warn('push to a connection failed', { sessionId: session.id, kind: owner.kind, error: err as Error });
        }
      };
      const sends: Promise<void>[] = [];
      if (userConnections.length) {
        const frame = userFrame(deps, session, messages, last);
        sends.push(...userConnections.map((id) => send(id, frame, { kind: 'user', sessionId: session.id })));
      }
      if (agentConnections.length) {
        const frame = agentFrame(deps, session, messages, last);
        sends.push(...agentConnections.map((id) => send(id, frame, { kind: 'agent' })));
      }
      await Promise.all(sends);
    } catch (err) {
      logger.warn('live push failed; clients will poll', { sessionId: session.id, error: err as Error });
    }
  };
}
