import { NotFound, SessionExpired } from '../domain/errors';
import { conversationStatus, isExpired, isSessionId, type ConversationStatus, type ConversationSummary, type Session } from '../domain/session';
import { parseCursor } from '../domain/cursor';
import type { TranscriptMessage } from '../domain/transcript';
import { messageView, type MessageView } from './conversation';
import { AGENT_FILE_LINK_SECONDS, fileLink } from './file-links';
import type { AgentIdentity } from './agent-identity';
import type { Ports, WithSessionAdmin } from './ports';
import { logger } from '../logger';

export const CONVERSATION_STATUSES = ['waiting_for_agent', 'action', 'live', 'stalled', 'abandoned', 'taken_over'] as const satisfies readonly ConversationStatus[];

/** The most conversations one list call returns (a page; `next` asks for the following one). */
export const LIST_LIMIT = 100;

/** One list call's filters and page (agent-list-query.ts parses them from the query string). */
export interface ListConversationsInput {
  status?: (typeof CONVERSATION_STATUSES)[number];
  q?: string;
  botId?: string;
  /** The `next` of the previous page. */
  cursor?: string;
  limit?: number;
}

export interface ConversationView {
  sessionId: string;
  botId: string;
  botName?: string;
  channel: Session['channel'];
  user: { id: string; name?: string };
  status: ConversationStatus;
  lastMessage: { from: TranscriptMessage['from']; text?: string; fileNames?: string[]; at: string } | null;
  lastActivityAt: string;
  expiresAt: string;
  operator: { agentId: string; name: string; since: string } | null;
  /** When the conversation entered `waiting_for_agent` (the user asked for a person); absent when not waiting. */
  waitingForAgentSince?: string;
  /**
   * Transcript positions taken so far: grows by one with every message. The console keeps,
   * per agent, the last value it showed the agent and counts the difference as unread.
   */
  lastSeq: number;
}

export type AgentMessageView = Omit<MessageView, 'attachments'> & {
  attachments?: (NonNullable<MessageView['attachments']>[number] & { inline: boolean })[];
};

const iso = (ms: number) => new Date(ms).toISOString();

/** Image types a browser shows in an <img> without running anything (no SVG). */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/bmp', 'image/webp']);

/**
 * A conversation as the list shows it, from what the session record keeps (no transcript
 * read). `last`, when the caller has the newest message at hand, is shown instead.
 */
export function conversationView(deps: Pick<Ports, 'bots' | 'now'>, session: ConversationSummary, last?: TranscriptMessage): ConversationView {
  const bot = deps.bots.get(session.botId);
  const summary = last
    ? { from: last.from, text: last.text, fileNames: last.attachments?.map((a) => a.fileName), at: last.at }
    : session.lastMessage && {
        ...session.lastMessage,
        // A button press is kept as its index into the buttons then offered (see MessageSummary).
        text: session.lastMessage.text ?? (session.lastMessage.button !== undefined ? session.offeredButtons?.[session.lastMessage.button]?.label : undefined),
      };
  return {
    sessionId: session.id,
    botId: session.botId,
    ...(bot && { botName: bot.name }),
    channel: session.channel,
    user: { id: session.userId, ...(session.userName && { name: session.userName }) },
    status: conversationStatus(session, bot, deps.now()),
    lastMessage: summary
      ? {
          from: summary.from,
          ...(summary.text !== undefined && { text: summary.text }),
          ...(summary.fileNames?.length && { fileNames: summary.fileNames }),
          at: iso(summary.at),
        }
      : null,
    lastActivityAt: iso(session.lastActivityAt),
    expiresAt: iso(session.expiresAt * 1000),
    operator: session.operator ? { agentId: session.operator.agentId, name: session.operator.name, since: iso(session.operator.since) } : null,
    ...(session.waitingForAgentSince !== undefined && { waitingForAgentSince: iso(session.waitingForAgentSince) }),
    lastSeq: Math.max(session.lastSeq ?? 0, last?.seq ?? 0),
  };
}

/** Search (SPEC 6): the user's name and id, the session id, and every message text and file name kept for search. */
const matches = (c: ConversationSummary, q: string): boolean => {
  const needle = q.toLowerCase();
  return [c.userName, c.userId, c.id].some((h) => h?.toLowerCase().includes(needle)) || (c.searchText ?? []).some((t) => t.includes(needle));
};

/**
 * `GET /agent/conversations`: live conversations, most recent activity first, a page at a time.
 * Primary course: read one page of the conversations index (expired sessions and other bots
 * left out by the query), compute each status now, keep those matching `status` and `q`.
 * Everything shown and searched is on the index entries, so a call costs a fixed number of
 * requests whatever the table holds (SPEC 10); `next`, when set, gives the following page.
 */
export async function listConversations(
  deps: Pick<Ports, 'bots' | 'now'> & WithSessionAdmin<'listConversations'>,
  input: ListConversationsInput,
): Promise<{ conversations: ConversationView[]; next: string | null }> {
  const now = deps.now();
  const page = await deps.sessions.listConversations({
    nowSeconds: Math.floor(now / 1000),
    botId: input.botId,
    limit: input.limit ?? LIST_LIMIT,
    cursor: input.cursor,
    keep: (c) =>
      !isExpired(c, now) &&
      (!input.status || conversationStatus(c, deps.bots.get(c.botId), now) === input.status) &&
      (!input.q || matches(c, input.q)),
  });
  return { conversations: page.conversations.map((c) => conversationView(deps, c)), next: page.next ?? null };
}

/** A conversation an agent may look at: it exists (404) and has not expired (410). */
export async function requireConversation(deps: Pick<Ports, 'sessions' | 'now'>, sessionId: string): Promise<Session> {
  if (!isSessionId(sessionId)) throw new NotFound('conversation_not_found', 'No such conversation');
  const session = await deps.sessions.get(sessionId);
  if (!session) throw new NotFound('conversation_not_found', `No conversation "${sessionId}"`);
  if (isExpired(session, deps.now())) throw new SessionExpired();
  return session;
}

/**
 * Links in the agent's view. Files an agent sent carry their own 24-hour expiry in the
 * token (the proxy also checks the record's `linkExpiresAt`).
 */
export function agentMessageView(deps: Pick<Ports, 'tokens'>, m: TranscriptMessage, session: Session): AgentMessageView {
  const exp = m.from === 'agent' ? Math.floor(m.at / 1000) + AGENT_FILE_LINK_SECONDS : undefined;
  const { attachments, ...view } = messageView(m, session, (s, aid) => fileLink(deps.tokens, s, aid, exp));
  return {
    ...view,
    ...(attachments && { attachments: attachments.map((a) => ({ ...a, inline: INLINE_TYPES.has(a.contentType.toLowerCase()) })) }),
  };
}

/**
 * How long an agent counts as having a conversation open after reading it: the console reads
 * its open conversation again well within this while its socket is open (web/agent.js).
 */
export const WATCH_SECONDS = 600;

/**
 * `GET /agent/conversations/{id}?after=`: the conversation and its transcript since the
 * cursor, without taking it over. The reading agent's console then gets the conversation's
 * messages pushed for WATCH_SECONDS (best effort: a failed note only leaves it to polling).
 */
export async function openConversation(
  deps: Pick<Ports, 'sessions' | 'bots' | 'tokens' | 'now'> & Partial<Pick<Ports, 'sockets'>>,
  sessionId: string,
  after: string | undefined,
  agent?: Pick<AgentIdentity, 'agentId'>,
): Promise<{ conversation: ConversationView; messages: AgentMessageView[]; cursor: string }> {
  const cursor = parseCursor(after);
  const session = await requireConversation(deps, sessionId);
  if (agent && deps.sockets) {
    await deps.sockets.watch(agent.agentId, session.id, Math.floor(deps.now() / 1000) + WATCH_SECONDS).catch((err: unknown) => {
      logger.warn('could not note the open conversation; its messages reach the console by polling', { sessionId, error: err as Error });
    });
  }
  const messages: TranscriptMessage[] = [];
  for (let from = cursor; ; ) {
    const page = await deps.sessions.listMessages(session.id, from, undefined, deps.now());
    messages.push(...page);
    if (page.length < 200) break;
    from = page.at(-1)!.seq;
  }
  return {
    conversation: conversationView(deps, session),
    messages: messages.map((m) => agentMessageView(deps, m, session)),
    cursor: String(messages.at(-1)?.seq ?? cursor),
  };
}
