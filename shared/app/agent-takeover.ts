import * as z from 'zod/mini';
import '../zod-english';
import { splitOutcomes } from '../domain/attachment';
import { AlreadyTakenOver, AttachmentRefused, ChannelWindowClosed, NotHolder } from '../domain/errors';
import { isReplyWindowOpen, replyWindowClosedText } from '../domain/reply-window';
import { render, repromptCurrent } from '../domain/flow';
import { builtinsFor, type Session } from '../domain/session';
import { definitionNamed } from '../channels/definitions';
import type { AttachmentMeta, NewMessage, TranscriptMessage, WarningCode } from '../domain/transcript';
import { warningText } from '../domain/warnings';
import { logger } from '../logger';
import { requireBot } from './conversation';
import type { AgentIdentity } from './agent-identity';
import { requireConversation } from './agent-conversations';
import type { AcceptedFiles, Ports, WithSessionAdmin } from './ports';
import { acceptUploadSlots, createUploadSlot, type SlotDeps, type UploadRequest, type UploadSlotDeps, type UploadTicket } from './uploads';

/** What the Live Takeover use cases touch. */
export type TakeoverDeps = SlotDeps & Pick<Ports, 'ports' | 'push'>;

/**
 * `POST /agent/conversations/{id}/takeover`.
 * Primary course: set the operator with a conditional write (only one agent wins), clear
 * `waitingForAgentSince`, send the bot's `startMessage` to the user. Taking over again as
 * the holder is a no-op; anyone else gets 409 `already_taken_over`.
 */
export async function takeOver(deps: TakeoverDeps & WithSessionAdmin<'claimOperator'>, sessionId: string, agent: AgentIdentity): Promise<{ session: Session; started: boolean }> {
  await requireConversation(deps, sessionId);
  const claim = await deps.sessions.claimOperator(sessionId, { agentId: agent.agentId, name: agent.name, since: deps.now() });
  if (claim.outcome === 'held') {
    const current = await requireConversation(deps, sessionId);
    if (current.operator?.agentId === agent.agentId) return { session: current, started: false };
    throw new AlreadyTakenOver(current.operator?.name);
  }
  const { session } = claim;
  logger.info('conversation taken over', { sessionId, agentId: agent.agentId });
  const bot = deps.bots.get(session.botId);
  if (bot?.liveTakeover.startMessage.trim()) {
    const text = render(bot.liveTakeover.startMessage, session.flow, builtinsFor(session));
    await tell(deps, session, [{ from: 'bot', text }]);
  } else await deps.push?.(session, []);
  return { session, started: true };
}

/**
 * `POST /agent/conversations/{id}/release`: the holder hands the conversation back to the
 * bot. Primary course: remove the operator (holder only), then the bot asks again what its
 * flow is waiting for (a menu with its buttons, a question), so the user can go on; the
 * status change reaches the sockets with it.
 */
export async function release(deps: Pick<Ports, 'bots' | 'now' | 'push' | 'ports'> & WithSessionAdmin<'releaseOperator'>, sessionId: string, agent: AgentIdentity): Promise<Session> {
  await requireConversation(deps, sessionId);
  const session = await deps.sessions.releaseOperator(sessionId, agent.agentId);
  if (!session) throw new NotHolder();
  logger.info('conversation released', { sessionId, agentId: agent.agentId });
  const bot = deps.bots.get(session.botId);
  const again = bot ? repromptCurrent(bot, session.flow, builtinsFor(session)) : [];
  // Every console's list shows the release, not only those that have the conversation open.
  if (again.length) await tell(deps, session, again.map((r): NewMessage => ({ from: 'bot', text: r.text, ...(r.buttons && { buttons: r.buttons }) })), { listChanged: true });
  else await deps.push?.(session, []);
  return session;
}

/** The conversation, if `agent` holds it; 409 `not_holder` otherwise. */
export async function requireHolder(deps: Pick<Ports, 'sessions' | 'now'>, sessionId: string, agent: AgentIdentity): Promise<Session> {
  const session = await requireConversation(deps, sessionId);
  if (session.operator?.agentId !== agent.agentId) throw new NotHolder();
  return session;
}

// Built on the first request that needs it, not at cold start (issue 10).
export const AgentMessageBody = z.lazy(() =>
  z
    .strictObject({
      text: z.optional(z.string().check(z.maxLength(4000))),
      uploadIds: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.minLength(1), z.maxLength(10))),
    })
    .check(z.refine((b) => (b.text?.trim() ?? '') !== '' || b.uploadIds !== undefined, { message: 'a message needs text or uploadIds' })),
);
export type AgentMessageInput = z.infer<typeof AgentMessageBody>;

/**
 * Writes messages to the transcript and pushes them to channels that are not polled
 * (Messenger). The transcript is the record: a failed push is logged and reported, not
 * retried here, so the agent can see it and say it again.
 */
export async function tell(
  deps: Pick<Ports, 'sessions' | 'now' | 'ports' | 'push'>,
  session: Session,
  messages: NewMessage[],
  opts: { listChanged?: boolean } = {},
): Promise<{ written: TranscriptMessage[]; delivered: boolean }> {
  const written = await deps.sessions.appendMessages(session.id, messages, deps.now(), { seen: session });
  return { written, delivered: await publish(deps, session, written, opts) };
}

/**
 * Sends written messages on: to web users and agents over their sockets (never failing the
 * write), and to a messaging channel's user (what its delivery cursor says they are owed, so
 * messages already sent are not sent again). False when the channel refused them.
 */
async function publish(deps: Pick<Ports, 'ports' | 'push'>, session: Session, written: TranscriptMessage[], opts: { listChanged?: boolean } = {}): Promise<boolean> {
  if (written.length) await deps.push?.(session, written, 'everyone', undefined, opts.listChanged);
  if (!written.length || !deps.ports.deliver) return true;
  try {
    await deps.ports.deliver(session, written);
    return true;
  } catch (err) {
    logger.warn('could not deliver to the channel', { sessionId: session.id, channel: session.channel, error: err as Error });
    return false;
  }
}

/**
 * `POST /agent/conversations/{id}/messages` (holder only).
 * Primary course: check the channel still lets us write to the user (WhatsApp's 24-hour
 * window; else 409 `channel_window_closed` with nothing written or used up), check the
 * agent's uploads, write one agent message with the text and the accepted files, push it to
 * the user's channel.
 *
 * With an Idempotency-Key (`clientKey`; the console sends one per message) a repeat of the
 * newest keyed agent message (its first answer was lost) sends nothing twice: its files are the
 * same use of their upload slots (the same outcome), the write that would take a new position
 * is refused on the key and the message at the position the first request took is answered
 * (written there now if that request died before writing it), and the channel user is sent
 * only what their delivery cursor says they are still owed.
 */
export async function sendAgentMessage(
  deps: TakeoverDeps & WithSessionAdmin<'appendAgentMessage'>,
  sessionId: string,
  agent: AgentIdentity,
  input: AgentMessageInput,
  clientKey?: string,
): Promise<{ delivered: boolean; warnings: string[] }> {
  const session = await requireHolder(deps, sessionId, agent);
  const channel = definitionNamed(session.channel);
  if (!isReplyWindowOpen(session, channel?.replyWindowSeconds, deps.now())) {
    logger.info('agent message refused: the channel window has closed', { sessionId: session.id, channel: session.channel });
    throw new ChannelWindowClosed(replyWindowClosedText(channel!.label, channel!.replyWindowSeconds!));
  }
  // The key is the agent's own: another agent's message with the same key is not a repeat of it.
  const key = clientKey !== undefined ? `${agent.agentId}:${clientKey}` : undefined;
  const { accepted, warnings: refused } = input.uploadIds ? await acceptAgentUploads(deps, session, input.uploadIds, key) : { accepted: [], warnings: [] };
  const warnings = refused.map((w) => w.warning);
  const text = input.text?.trim() ? input.text : undefined;
  if (!text && !accepted.length) return { delivered: true, warnings };
  const message: NewMessage = { from: 'agent', agent: { agentId: agent.agentId, name: agent.name }, ...(text && { text }), ...(accepted.length && { attachments: accepted }) };
  const { written, repeated } = await deps.sessions.appendAgentMessage(session.id, message, deps.now(), { seen: session, ...(key !== undefined && { key }) });
  if (repeated) logger.info('agent message repeated with its Idempotency-Key: not written again', { sessionId: session.id, seq: written.seq });
  return { delivered: await publish(deps, session, [written]), warnings };
}

/** Checks the agent's upload slots after arrival; refused files are reported to the agent only. */
async function acceptAgentUploads(deps: TakeoverDeps, session: Session, uploadIds: string[], key?: string): Promise<AcceptedFiles> {
  // An HTTP request is not redelivered like a queued event: each request is one use of its
  // slots, so a second request naming the same upload is refused (the agent sees the warning),
  // unless it is the same request again (its Idempotency-Key), which gets the same outcome.
  const useKey = `agent-request#${key ?? deps.newId()}`;
  return splitOutcomes(await acceptUploadSlots(deps, session, uploadIds, 'agent', useKey));
}

/**
 * `POST /agent/conversations/{id}/uploads` (holder only): an upload slot like the web
 * one, for a file from the agent to the user. It does not count towards the user's
 * per-conversation limit, and its link works for 24 hours. A refusal goes to the agent,
 * not into the user's transcript.
 */
export async function createAgentUpload(
  deps: UploadSlotDeps,
  sessionId: string,
  agent: AgentIdentity,
  body: UploadRequest,
): Promise<UploadTicket> {
  const session = await requireHolder(deps, sessionId, agent);
  const bot = requireBot(deps, session.botId);
  // A file the user's channel cannot carry is refused now, naming the channel's limit (SPEC 12).
  const channel = definitionNamed(session.channel);
  if (channel && body.size > channel.limits.outboundMaxBytes && body.size <= bot.attachments.sizeLimitBytes) {
    const limit = { label: channel.label, maxBytes: channel.limits.outboundMaxBytes };
    throw new AttachmentRefused('attachment_too_large', warningText('attachment_too_large', bot, limit));
  }
  const outcome = await createUploadSlot(deps, { session, bot, sender: 'agent', ...body });
  if (outcome.ok) return outcome.upload;
  throw new AttachmentRefused(outcome.warning, warningText(outcome.warning, bot));
}
