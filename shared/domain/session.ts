import type { Bot } from '../bots/schema';
import { initialFlowState, type FlowState } from './flow';
import type { Sender } from './transcript';

/** `web`, or the name of a messaging channel in shared/channels/registry.ts. */
export type Channel = string;

export interface Operator {
  agentId: string;
  name: string;
  since: number;
}

/** A conversation between one user and one bot. Times are epoch milliseconds except `expiresAt`. */
export interface Session {
  id: string;
  botId: string;
  channel: Channel;
  userId: string;
  userName?: string;
  createdAt: number;
  lastActivityAt: number;
  /** Epoch seconds: the DynamoDB TTL attribute. */
  expiresAt: number;
  flow: FlowState;
  /** Files accepted from the user, for `limitPerConversation`. */
  attachmentCount: number;
  /**
   * Written only by the upload slot store with conditional updates: places taken by open
   * upload slots plus accepted files, and which files already took or gave back a place.
   */
  fileReservations?: number;
  fileHolds?: Set<string>;
  filesSettled?: Set<string>;
  waitingForAgentSince?: number;
  operator?: Operator;
  /** When an agent last took the conversation over (kept after release): ends a held email (SPEC 5). */
  lastTakeoverAt?: number;
  messenger?: { pageId: string; psid: string };
  /** A messaging channel's conversation: the channel account and the user's id there (replies go to it). */
  channelUser?: { account: string; user: string };
  /** Transcript positions taken so far (the next message gets `lastSeq + 1`); kept by the session store. */
  lastSeq?: number;
  /** The newest message as the agent list shows it, kept with each write so listing reads no transcript. */
  lastMessage?: MessageSummary;
  /** The buttons of the newest bot message that has buttons: what a `buttonIndex` may press. */
  offeredButtons?: { label: string }[];
  /** Lower-case message texts and file names an agent's search looks through (bounded, see the session store). */
  searchText?: string[];
  /** Characters in `searchText`. */
  searchSize?: number;
  /**
   * The flow event that last wrote messages, and the position its first message took: a retry
   * of that event reads the transcript from there to find what its earlier attempt wrote.
   */
  turnEventId?: string;
  turnFromSeq?: number;
  /**
   * The web client's idempotency key of its newest message (`Idempotency-Key`), and the
   * transcript position that message took: a retry with the same key is that message again.
   */
  clientKey?: string;
  clientSeq?: number;
  /** The flow event id that message's turn was queued under (a repeat queues it again under the same). */
  clientEvent?: string;
  /**
   * The agent console's idempotency key of the newest agent message, and the position that
   * message took (`POST /agent/conversations/{id}/messages`, as clientKey for the web user).
   */
  agentKey?: string;
  agentSeq?: number;
  /** The web user's open WebSocket connections (SPEC 10), kept by the socket adapter. */
  sockets?: ReadonlySet<string>;
}

/**
 * The newest message in brief. A button press keeps its index: the label is the one of
 * `offeredButtons`, which no message changes before a newer message replaces this one.
 */
export interface MessageSummary {
  from: Sender;
  text?: string;
  fileNames?: string[];
  button?: number;
  at: number;
}

/** What computing a status takes (SPEC 6). */
export type StatusInputs = Pick<Session, 'operator' | 'waitingForAgentSince' | 'lastActivityAt'> & { flow: Pick<FlowState, 'defaultAnswers'> };

/** A conversation as the agent list reads it from the conversations index: no flow state, no transcript. */
export type ConversationSummary = StatusInputs &
  Pick<Session, 'id' | 'botId' | 'channel' | 'userId' | 'userName' | 'expiresAt' | 'lastMessage' | 'offeredButtons' | 'searchText' | 'lastSeq'>;

export type ConversationStatus = 'waiting_for_agent' | 'action' | 'live' | 'stalled' | 'abandoned' | 'taken_over';

const MINUTE = 60_000;

export const expiresAtFor = (bot: Pick<Bot, 'sessionTimeoutSeconds'>, lastActivityAt: number): number =>
  Math.ceil(lastActivityAt / 1000) + bot.sessionTimeoutSeconds;

/**
 * Whether `id` can name a session: sessions get their ids from `newId()`, a UUID. Ids from
 * a request path are checked with this before any lookup, so an id no session can have is a
 * 4xx and never reaches storage (a DynamoDB key has a size limit; API Gateway hands the
 * handler whatever the path said, decoded).
 */
export const isSessionId = (id: string): boolean => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

export const isExpired = (session: Pick<Session, 'expiresAt'>, now: number): boolean => now >= session.expiresAt * 1000;

export function newSession(args: {
  id: string;
  bot: Bot;
  channel: Channel;
  userId: string;
  userName?: string;
  now: number;
  messenger?: Session['messenger'];
  channelUser?: Session['channelUser'];
}): Session {
  return {
    id: args.id,
    botId: args.bot.id,
    channel: args.channel,
    userId: args.userId,
    userName: args.userName,
    createdAt: args.now,
    lastActivityAt: args.now,
    expiresAt: expiresAtFor(args.bot, args.now),
    flow: initialFlowState(),
    attachmentCount: 0,
    messenger: args.messenger,
    ...(args.channelUser && { channelUser: args.channelUser }),
  };
}

/**
 * Status for the agent console, computed on read so it is never stale (SPEC section 6). A
 * session whose bot no longer exists is abandoned.
 */
export function conversationStatus(session: StatusInputs, bot: Pick<Bot, 'agentThreshold'> | undefined, now: number): ConversationStatus {
  if (!bot) return 'abandoned';
  if (session.operator) return 'taken_over';
  if (session.waitingForAgentSince !== undefined) return 'waiting_for_agent';
  if (bot.agentThreshold > 0 && session.flow.defaultAnswers >= bot.agentThreshold) return 'action';
  const idle = now - session.lastActivityAt;
  if (idle < 5 * MINUTE) return 'live';
  if (idle < 30 * MINUTE) return 'stalled';
  return 'abandoned';
}

/** Placeholder built-ins for a session. */
export const builtinsFor = (session: Session) => ({
  'session.id': session.id,
  'user.id': session.userId,
  'user.name': session.userName ?? '',
  channel: session.channel,
  'agent.name': session.operator?.name ?? '',
});
