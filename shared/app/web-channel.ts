import { z } from 'zod';
import { stripInvisible } from '../domain/attachment-rules';
import { InvalidRequest, NotAuthorized } from '../domain/errors';
import { expiresAtFor, newSession, type Session } from '../domain/session';
import { parseCursor } from '../domain/cursor';
import { messageView, requireBot, requireLiveSession, statusOf, type FileLinker, type MessageView } from './conversation';
import type { Ports } from './ports';

const SESSION_TOKEN = 'st';

export const CreateSessionBody = z.strictObject({
  botId: z.string().min(1).max(40),
  // No line breaks or bidi controls: the name is shown to agents and quoted in team emails.
  userName: z
    .string()
    .max(100)
    .transform((n) => stripInvisible(n).trim())
    .pipe(z.string().min(1, 'userName must contain visible characters'))
    .optional(),
});

export const PostMessageBody = z
  .strictObject({
    text: z.string().max(4000).optional(),
    buttonIndex: z.number().int().min(0).max(50).optional(),
    uploadIds: z.array(z.string().min(1).max(100)).min(1).max(10).optional(),
  })
  .refine((b) => (b.text?.trim() ?? '') !== '' || b.buttonIndex !== undefined || b.uploadIds !== undefined, {
    message: 'a message needs text, buttonIndex or uploadIds',
  })
  .refine((b) => !(b.buttonIndex !== undefined && (b.text !== undefined || b.uploadIds !== undefined)), {
    message: 'buttonIndex cannot be combined with text or uploadIds',
  });
export type PostMessageInput = z.infer<typeof PostMessageBody>;

/** `GET /web/bots/{botId}/config`: what a client needs to know before it talks to the bot. */
export function botConfig(deps: Pick<Ports, 'bots'>, botId: string) {
  const bot = requireBot(deps, botId);
  const { allowedTypes, sizeLimitBytes, limitPerConversation } = bot.attachments;
  return { botId: bot.id, name: bot.name, attachments: { allowedTypes, sizeLimitBytes, limitPerConversation } };
}

/**
 * Starts a web conversation.
 * Primary course: create the session, sign its token, queue the bot's first turn.
 */
export async function createWebSession(
  deps: Pick<Ports, 'bots' | 'sessions' | 'events' | 'tokens' | 'now' | 'newId'>,
  input: z.infer<typeof CreateSessionBody>,
) {
  const bot = requireBot(deps, input.botId);
  const id = deps.newId();
  const session = newSession({ id, bot, channel: 'web', userId: `web:${id}`, userName: input.userName, now: deps.now() });
  if (!bot.channels.web) throw new InvalidRequest(`Bot "${bot.id}" does not have the web channel`);
  await deps.sessions.create(session);
  await deps.events.send({ type: 'session_started', sessionId: id }, `start-${id}`);
  return { sessionId: id, token: deps.tokens.sign(SESSION_TOKEN, { sid: id }), expiresAt: new Date(session.expiresAt * 1000).toISOString() };
}

/** Checks the bearer token belongs to this session, then that the session is still live. */
export async function authorizeSession(deps: Pick<Ports, 'tokens' | 'sessions' | 'now'>, sessionId: string, token: string | undefined): Promise<Session> {
  const claims = deps.tokens.verify<{ sid: string }>(SESSION_TOKEN, token);
  if (!claims || claims.sid !== sessionId) throw new NotAuthorized('Missing or invalid session token');
  return requireLiveSession(deps, sessionId);
}

/**
 * A user's message on the web channel.
 * Primary course: keep the message in the transcript, slide the expiry, queue the turn.
 */
export async function postWebMessage(
  deps: Pick<Ports, 'bots' | 'sessions' | 'events' | 'now' | 'newId'>,
  session: Session,
  input: PostMessageInput,
): Promise<void> {
  const bot = requireBot(deps, session.botId);
  const now = deps.now();
  const label = input.buttonIndex !== undefined ? (await offeredButtons(deps, session.id))[input.buttonIndex]?.label : undefined;
  if (input.buttonIndex !== undefined && label === undefined) throw new InvalidRequest('buttonIndex does not match a button the bot is offering');
  const [stored] = await deps.sessions.appendMessages(
    session.id,
    // Uploads join the transcript once they pass the checks; the text is kept now.
    input.text?.trim() || label ? [{ from: 'user', text: label ?? input.text }] : [],
    now,
  );
  await deps.sessions.update(session.id, { lastActivityAt: now, expiresAt: expiresAtFor(bot, now) });
  const messageSeq = stored?.seq ?? 0;
  await deps.events.send(
    { type: 'user_message', sessionId: session.id, messageSeq, text: input.text, buttonIndex: input.buttonIndex, uploadIds: input.uploadIds },
    `msg-${session.id}-${deps.newId()}`,
  );
}

/**
 * The buttons the user can press: those of the newest bot message that has buttons. Read
 * from the transcript rather than the flow state, which is saved a moment after the replies
 * appear. Replies without buttons (a default answer, a warning, an agent's text) do not take
 * them away; a press the flow no longer waits for gets the default answer from the engine.
 */
async function offeredButtons(deps: Pick<Ports, 'sessions'>, sessionId: string): Promise<{ label: string }[]> {
  const latest = await deps.sessions.latestMessages(sessionId, 50);
  return latest.find((m) => m.from === 'bot' && m.buttons?.length)?.buttons ?? [];
}

/** `GET /web/sessions/{id}/messages?after=`: the transcript since the cursor. */
export async function readWebMessages(
  deps: Pick<Ports, 'sessions' | 'bots' | 'now'>,
  session: Session,
  after: string | undefined,
  link: FileLinker,
): Promise<{ messages: MessageView[]; cursor: string; status: string }> {
  const cursor = parseCursor(after);
  const messages = await deps.sessions.listMessages(session.id, cursor);
  return {
    messages: messages.map((m) => messageView(m, session, link)),
    cursor: String(messages.at(-1)?.seq ?? cursor),
    status: statusOf(deps, session),
  };
}
