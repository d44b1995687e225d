import { z } from 'zod';
import { NotFound, SessionExpired } from '../domain/errors';
import { conversationStatus, isExpired, type ConversationStatus, type Session } from '../domain/session';
import { parseCursor } from '../domain/cursor';
import type { TranscriptMessage } from '../domain/transcript';
import { messageView, type MessageView } from './conversation';
import { AGENT_FILE_LINK_SECONDS, fileLink } from './file-links';
import type { Ports } from './ports';

export const CONVERSATION_STATUSES = ['waiting_for_agent', 'action', 'live', 'stalled', 'abandoned', 'taken_over'] as const satisfies readonly ConversationStatus[];


/** The most conversations one list call returns, and the most it examines to find them. */
const LIST_LIMIT = 100;
const LIST_EXAMINE_LIMIT = 2000;

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

export const ListConversationsQuery = z.object({
  status: z.preprocess(emptyAsUndefined, z.enum(CONVERSATION_STATUSES).optional()),
  q: z.preprocess(emptyAsUndefined, z.string().trim().max(200).optional()),
  botId: z.preprocess(emptyAsUndefined, z.string().max(40).optional()),
});
export type ListConversationsInput = z.infer<typeof ListConversationsQuery>;

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
  waitingForAgentSince?: string;
}

export type AgentMessageView = Omit<MessageView, 'attachments'> & {
  attachments?: (NonNullable<MessageView['attachments']>[number] & { inline: boolean })[];
};

const iso = (ms: number) => new Date(ms).toISOString();

/** Image types a browser shows in an <img> without running anything (no SVG). */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/bmp', 'image/webp']);

export function conversationView(deps: Pick<Ports, 'bots' | 'now'>, session: Session, last: TranscriptMessage | undefined): ConversationView {
  const bot = deps.bots.get(session.botId);
  return {
    sessionId: session.id,
    botId: session.botId,
    ...(bot && { botName: bot.name }),
    channel: session.channel,
    user: { id: session.userId, ...(session.userName && { name: session.userName }) },
    status: conversationStatus(session, bot, deps.now()),
    lastMessage: last
      ? {
          from: last.from,
          ...(last.text !== undefined && { text: last.text }),
          ...(last.attachments?.length && { fileNames: last.attachments.map((a) => a.fileName) }),
          at: iso(last.at),
        }
      : null,
    lastActivityAt: iso(session.lastActivityAt),
    expiresAt: iso(session.expiresAt * 1000),
    operator: session.operator ? { agentId: session.operator.agentId, name: session.operator.name, since: iso(session.operator.since) } : null,
    ...(session.waitingForAgentSince !== undefined && { waitingForAgentSince: iso(session.waitingForAgentSince) }),
  };
}

const matches = (view: ConversationView, q: string): boolean => {
  const needle = q.toLowerCase();
  const hay = [view.user.name, view.user.id, view.sessionId, view.lastMessage?.text, ...(view.lastMessage?.fileNames ?? [])];
  return hay.some((h) => h?.toLowerCase().includes(needle));
};

/**
 * `GET /agent/conversations`: live conversations, most recent activity first.
 * Primary course: walk GSI gsi1 newest first (expired sessions and other bots filtered out
 * by the query), compute each status now, keep those matching `status`, fetch their last
 * message, keep those matching `q`, stop at LIST_LIMIT.
 */
export async function listConversations(deps: Pick<Ports, 'sessions' | 'bots' | 'now'>, input: ListConversationsInput): Promise<ConversationView[]> {
  const now = deps.now();
  const found: ConversationView[] = [];
  let startKey: Record<string, unknown> | undefined;
  let examined = 0;
  do {
    const page = await deps.sessions.pageByActivity({ nowSeconds: Math.floor(now / 1000), botId: input.botId, startKey, limit: LIST_LIMIT });
    examined += page.sessions.length;
    startKey = page.nextKey;
    const wanted = page.sessions.filter((s) => !isExpired(s, now) && (!input.status || conversationStatus(s, deps.bots.get(s.botId), now) === input.status));
    const views = await Promise.all(wanted.map(async (s) => conversationView(deps, s, await deps.sessions.lastMessage(s.id))));
    for (const v of views) {
      if (found.length >= LIST_LIMIT) break;
      if (!input.q || matches(v, input.q)) found.push(v);
    }
  } while (startKey && found.length < LIST_LIMIT && examined < LIST_EXAMINE_LIMIT);
  return found;
}

/** A conversation an agent may look at: it exists (404) and has not expired (410). */
export async function requireConversation(deps: Pick<Ports, 'sessions' | 'now'>, sessionId: string): Promise<Session> {
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
 * `GET /agent/conversations/{id}?after=`: the conversation and its transcript since the
 * cursor, without taking it over.
 */
export async function openConversation(
  deps: Pick<Ports, 'sessions' | 'bots' | 'tokens' | 'now'>,
  sessionId: string,
  after: string | undefined,
): Promise<{ conversation: ConversationView; messages: AgentMessageView[]; cursor: string }> {
  const cursor = parseCursor(after);
  const session = await requireConversation(deps, sessionId);
  const messages: TranscriptMessage[] = [];
  for (let from = cursor; ; ) {
    const page = await deps.sessions.listMessages(session.id, from);
    messages.push(...page);
    if (page.length < 200) break;
    from = page.at(-1)!.seq;
  }
  const last = messages.at(-1) ?? (cursor > 0 ? await deps.sessions.lastMessage(session.id) : undefined);
  return {
    conversation: conversationView(deps, session, last),
    messages: messages.map((m) => agentMessageView(deps, m, session)),
    cursor: String(messages.at(-1)?.seq ?? cursor),
  };
}
