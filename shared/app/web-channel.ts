import * as z from 'zod/mini';
import { stripInvisible } from '../domain/attachment-rules';
import { InvalidRequest, NotAuthorized, SessionExpired } from '../domain/errors';
import { expiresAtFor, isExpired, isSessionId, newSession, type Session } from '../domain/session';
import { parseCursor } from '../domain/cursor';
import { messageView, requireBot, requireLiveSession, statusOf, type FileLinker, type MessageView } from './conversation';
import type { Bot } from '../bots/schema';
import { CHANNEL_DEFINITIONS, type AnyChannelDefinition } from '../channels/definitions';
import type { Ports } from './ports';
import { SESSION_TOKEN } from './session-token';
import { socketUrlFor } from './socket-url';
import '../zod-english';

export { SESSION_TOKEN };

// Built on the first request that needs it, not at cold start (issue 10).
export const CreateSessionBody = z.lazy(() =>
  z.strictObject({
    botId: z.string().check(z.minLength(1), z.maxLength(40)),
    // No line breaks or bidi controls: the name is shown to agents and quoted in team emails.
    userName: z.optional(
      z.pipe(
        z.pipe(z.string().check(z.maxLength(100)), z.transform((n: string) => stripInvisible(n).trim())),
        z.string().check(z.minLength(1, 'userName must contain visible characters')),
      ),
    ),
  }),
);

// Built on the first request that needs it, not at cold start (issue 10).
export const PostMessageBody = z.lazy(() =>
  z
    .strictObject({
      text: z.optional(z.string().check(z.maxLength(4000))),
      buttonIndex: z.optional(z.int().check(z.minimum(0), z.maximum(50))),
      uploadIds: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.minLength(1), z.maxLength(10))),
    })
    .check(
      z.refine((b) => (b.text?.trim() ?? '') !== '' || b.buttonIndex !== undefined || b.uploadIds !== undefined, {
        message: 'a message needs text, buttonIndex or uploadIds',
      }),
      z.refine((b) => !(b.buttonIndex !== undefined && (b.text !== undefined || b.uploadIds !== undefined)), {
        message: 'buttonIndex cannot be combined with text or uploadIds',
      }),
    ),
);
export type PostMessageInput = z.infer<typeof PostMessageBody>;

/** `GET /web/bots/{botId}/config`: what a client needs to know before it talks to the bot. */
/**
 * A channel's limits as a bot on it lives with them: the largest file a user can send there is
 * the smaller of the bot's limit and the channel's.
 */
export function channelLimitsFor(bot: Bot, channel: Pick<AnyChannelDefinition, 'limits'>) {
  const { inboundMaxBytes, outboundMaxBytes, outboundMaxBytesByType, maxButtons, maxTextChars } = channel.limits;
  return {
    receiveMaxBytes: Math.min(bot.attachments.sizeLimitBytes, inboundMaxBytes),
    channelReceiveMaxBytes: inboundMaxBytes,
    sendMaxBytes: outboundMaxBytes,
    ...(outboundMaxBytesByType && { sendMaxBytesByType: outboundMaxBytesByType }),
    maxButtons,
    maxTextChars,
  };
}

export function botConfig(deps: Pick<Ports, 'bots' | 'socketUrl'>, botId: string, host?: string) {
  const bot = requireBot(deps, botId);
  const { allowedTypes, sizeLimitBytes, limitPerConversation } = bot.attachments;
  const socketUrl = socketUrlFor(deps.socketUrl, host);
  // The look the chat page and the widget's launcher take (SPEC 11); absent when the bot sets none.
  const theme = bot.channels.web?.theme;
  // What each messaging channel the bot has can carry (SPEC 12; docs/channels.md); web-only bots have none.
  const channels = (CHANNEL_DEFINITIONS as readonly AnyChannelDefinition[])
    .filter((c) => (bot.channels as Record<string, unknown>)[c.name] !== undefined)
    .map((c) => [c.name, channelLimitsFor(bot, c)] as const);
  return {
    botId: bot.id,
    name: bot.name,
    attachments: { allowedTypes, sizeLimitBytes, limitPerConversation },
    ...(channels.length && { channels: Object.fromEntries(channels) }),
    ...(socketUrl && { socketUrl }),
    ...(theme && Object.keys(theme).length > 0 && { theme }),
  };
}

/**
 * Starts a web conversation.
 * Primary course: create the session, sign its token, queue the bot's first turn, tell the agents.
 */
export async function createWebSession(
  deps: Pick<Ports, 'bots' | 'sessions' | 'events' | 'tokens' | 'now' | 'newId' | 'push'>,
  input: z.infer<typeof CreateSessionBody>,
) {
  const bot = requireBot(deps, input.botId);
  const id = deps.newId();
  const session = newSession({ id, bot, channel: 'web', userId: `web:${id}`, userName: input.userName, now: deps.now() });
  if (!bot.channels.web) throw new InvalidRequest(`Bot "${bot.id}" does not have the web channel`);
  await deps.sessions.create(session);
  await deps.events.send({ type: 'session_started', sessionId: id }, `start-${id}`);
  await deps.push?.(session, [], 'agents');
  return { sessionId: id, token: deps.tokens.sign(SESSION_TOKEN, { sid: id, bot: bot.id } satisfies SessionClaims), expiresAt: new Date(session.expiresAt * 1000).toISOString() };
}

/** What a session token says: the session, and its bot (so posting a message needs no read first). */
export interface SessionClaims {
  sid: string;
  /** Absent in tokens signed before it was added. */
  bot?: string;
}

/** Checks the bearer token belongs to this session, without reading anything. */
export function verifySessionToken(deps: Pick<Ports, 'tokens'>, sessionId: string, token: string | undefined): SessionClaims {
  if (!isSessionId(sessionId)) throw new InvalidRequest('The path does not name a session');
  const claims = deps.tokens.verify<SessionClaims>(SESSION_TOKEN, token);
  if (!claims || claims.sid !== sessionId) throw new NotAuthorized('Missing or invalid session token');
  return claims;
}

/** Checks the bearer token belongs to this session, then that the session is still live. */
export async function authorizeSession(deps: Pick<Ports, 'tokens' | 'sessions' | 'now'>, sessionId: string, token: string | undefined): Promise<Session> {
  verifySessionToken(deps, sessionId, token);
  return requireLiveSession(deps, sessionId);
}

/**
 * A user's message on the web channel.
 * Primary course: in one conditional write, check the session is live (and the pressed
 * button offered), slide the expiry and take the message's transcript position; put the
 * message; queue the turn, which pushes the message to the sockets with its replies. Two
 * storage requests before the 202 (SPEC 10).
 * `session` needs only its id and bot: the token says both.
 */
export async function postWebMessage(
  deps: Pick<Ports, 'bots' | 'sessions' | 'events' | 'now' | 'newId'>,
  session: Pick<Session, 'id' | 'botId'>,
  input: PostMessageInput,
  clientKey?: string,
): Promise<void> {
  const bot = requireBot(deps, session.botId);
  const now = deps.now();
  // The buttons offered are those of the newest bot message that has buttons, kept on the
  // session record as the bot writes them. Replies without buttons (a default answer, a
  // warning, an agent's text) do not take them away; a press the flow no longer waits for
  // gets the default answer from the engine. Uploads join the transcript once they pass the
  // checks; the text is kept now.
  // The turn's event id; with an Idempotency-Key it is noted with the key on the session record.
  const eventId = deps.newId();
  const result = await deps.sessions.recordUserMessage(session.id, {
    at: now,
    expiresAt: expiresAtFor(bot, now),
    ...(input.text?.trim() && { text: input.text }),
    ...(input.buttonIndex !== undefined && { buttonIndex: input.buttonIndex }),
    ...(clientKey !== undefined && { clientKey, clientEvent: eventId }),
  });
  // A repeated request (same Idempotency-Key, the answer to the first was lost) records nothing
  // new; its event is sent again under the first request's event id, in case that request died
  // before sending it: the queue drops a second copy, and a turn already run for that id does
  // nothing (runFlowEvent). A key reused for a new message gets a new event id, so its turn is
  // never taken for an earlier one's.
  if (result.outcome === 'expired') throw new SessionExpired();
  if (result.outcome === 'no_such_button') throw new InvalidRequest('buttonIndex does not match a button the bot is offering');
  const { written: stored } = result;
  const messageSeq = stored?.seq ?? 0;
  const userMessage = stored && { seq: stored.seq, at: stored.at, from: 'user' as const, ...(stored.text !== undefined && { text: stored.text }) };
  await deps.events.send(
    {
      type: 'user_message',
      sessionId: session.id,
      messageSeq,
      text: input.text,
      buttonIndex: input.buttonIndex,
      uploadIds: input.uploadIds,
      ...(userMessage && { userMessage }),
    },
    `msg-${session.id}-${result.outcome === 'duplicate' ? (result.clientEvent ?? eventId) : eventId}`,
  );
}

/**
 * `GET /web/sessions/{id}/messages?after=`: the transcript since the cursor, with the session
 * check, in one storage request (SPEC 10). Only the run of messages with no gap after the
 * cursor is returned, so a message still being written is waited for, never skipped (see
 * the session store); `cursor` is where that run ends.
 */
export async function readWebMessages(
  deps: Pick<Ports, 'sessions' | 'bots' | 'now'>,
  target: Pick<Session, 'id'>,
  after: string | undefined,
  link: FileLinker,
): Promise<{ messages: MessageView[]; cursor: string; status: string }> {
  const cursor = parseCursor(after);
  const now = deps.now();
  const read = await deps.sessions.readSince(target.id, cursor, now);
  const session = read.session;
  if (!session || isExpired(session, now)) throw new SessionExpired();
  return {
    messages: read.messages.map((m) => messageView(m, session, link)),
    cursor: String(read.cursor),
    status: statusOf(deps, session),
  };
}
