import type { Bot } from '../bots/schema';
import type { InboundMedia } from '../channels/channel';
import { definitionNamed } from '../channels/definitions';
import { sendingChannelNamed } from '../channels/senders';
import { enterInteraction, handleInput, render, resumeAfterAction, startFlow, type FileRef, type FlowStep, type PendingAction } from '../domain/flow';
import { builtinsFor, conversationStatus, isExpired, type Session } from '../domain/session';
import { warningText } from '../domain/warnings';
import type { AttachmentMeta, NewMessage, TranscriptMessage } from '../domain/transcript';
import { logger } from '../logger';
import type { AcceptedFiles, ActionOutcome, AgentAudience, FlowEvent, Ports, WithTurnRecords } from './ports';

/**
 * A turn's ports, explicitly: the bots, the session store and clock, and the flow's
 * channel-facing ports (uploads, media, actions, delivery, presence, email).
 */
export type TurnDeps = Pick<Ports, 'bots' | 'now' | 'ports' | 'push'> & WithTurnRecords<'getForTurn' | 'writtenFrom'>;

/**
 * Runs one queued event through the bot flow (the actions function).
 * Primary course: load the session, accept uploaded files, advance the flow, perform any
 * Send Attachment action, write the bot's replies, save the flow state.
 * Events arrive in order per session; `eventId` makes a redelivery of a finished turn a
 * no-op. A turn that failed part-way runs again from the saved state (unchanged until the
 * turn finishes) and converges on one run's result: the ports give the same files back for
 * the same event, messages an earlier attempt wrote are recognised by their `origin` and
 * not written twice, and a Send Attachment action whose message is already written is not
 * performed again.
 */
export async function runFlowEvent(deps: TurnDeps, event: FlowEvent & { eventId: string }): Promise<void> {
  // The agents' socket connections come with the session, for the push at the turn's end.
  const { session, agentConnections, agents } = await deps.sessions.getForTurn(event.sessionId, Math.floor(deps.now() / 1000));
  if (!session || isExpired(session, deps.now())) {
    logger.info('event for an expired session dropped', { sessionId: event.sessionId, type: event.type });
    return;
  }
  if (event.type === 'deliver') {
    // An agent's file the malware scan has just settled: send the channel user what is owed.
    await deps.ports.deliver?.(session, []);
    return;
  }
  if (session.flow.lastEventId === event.eventId) {
    // The turn was saved; a retry may still owe the user its delivery (Send API failure).
    await deps.ports.deliver?.(session, []);
    return;
  }
  const bot = deps.bots.get(session.botId);
  if (!bot) {
    logger.warn('event for a bot that no longer exists dropped', { sessionId: session.id, botId: session.botId });
    return;
  }
  const turn = new Turn(deps, bot, session, event.eventId, agents ?? { all: agentConnections, watching: [] });
  // The web user's message, written by intake, reaches the sockets with the turn's replies.
  if (event.type === 'user_message' && event.userMessage) turn.pushAlso(event.userMessage);
  // Intake kept the web user's words in the transcript; the turn adds them to the agents' search.
  if (event.type === 'user_message' && event.text?.trim()) turn.searchText.push(event.text);

  if (event.type === 'session_started') {
    await turn.run(startFlow(bot, session.flow, builtinsFor(session)));
  } else {
    // A channel session (Messenger, Telegram, ...) starts with the user's first message: the
    // bot greets first, and that message is kept but not taken as the answer to anything.
    const fromChannel = event.type === 'messenger_message' || event.type === 'channel_message';
    const greeting = fromChannel && session.flow.lastEventId === undefined;
    const files =
      event.type === 'messenger_message'
        ? await turn.acceptChannelMessage('messenger', event.mid, event.text, (event.media ?? []).map((m) => ({ kind: m.type, ref: m.url })))
        : event.type === 'channel_message'
          ? await turn.acceptChannelMessage(event.channel, event.messageId, event.text ?? pressedLabel(session, event.buttonIndex), event.media ?? [])
          : event.uploadIds?.length
            ? await turn.acceptUploads(event.uploadIds)
            : [];
    if (session.operator) {
      // Taken over: the agent answers, the bot stays silent.
    } else if (greeting) {
      await turn.run(startFlow(bot, turn.session.flow, builtinsFor(turn.session)));
    } else if (event.text?.trim() || event.buttonIndex !== undefined || files.length) {
      const buttonIndex = event.buttonIndex ?? (event.type === 'channel_message' ? buttonChosenByText(bot, turn.session, event.channel, event.text) : undefined);
      await turn.run(handleInput(bot, turn.session.flow, { kind: 'message', text: event.text, buttonIndex, files }, builtinsFor(turn.session)));
    }
  }
  await turn.finish();
}

/**
 * On a channel that shows buttons as text (SMS), the button a text reply chooses while the
 * flow waits for one (its number or its label, as the channel's adapter reads it).
 */
function buttonChosenByText(bot: Bot, session: Session, channel: string, text: string | undefined): number | undefined {
  const read = sendingChannelNamed(channel)?.buttonFromText;
  const current = session.flow.current ? bot.interactions[session.flow.current] : undefined;
  if (!read || !text?.trim() || session.flow.awaiting !== 'buttons' || current?.type !== 'message' || !current.buttons?.length) return undefined;
  return read(text, current.buttons);
}

/** A bare button press (Telegram's callback_query) shows in the transcript as the button's label. */
const pressedLabel = (session: Session, index: number | undefined): string | undefined =>
  index === undefined ? undefined : session.offeredButtons?.[index]?.label;


class Turn {
  private readonly pending: NewMessage[] = [];
  private readonly written: TranscriptMessage[] = [];
  /** Messages of this turn so far, written or not: the next one's `origin` is `<eventId>#<said>`. */
  private said = 0;
  /** What an earlier attempt at this event wrote, by origin. */
  private readonly earlier: Promise<Map<string, TranscriptMessage>>;
  /** Whether the session record names this event as the one writing (set by its first append). */
  private turnNoted: boolean;
  /** Texts for the agents' search not yet written: they go with the turn's next write. */
  readonly searchText: string[] = [];
  private waitingForAgentSince: number | undefined;
  /** Messages written before the turn (the web user's, by intake) that its push carries too. */
  private readonly alsoPushed: TranscriptMessage[] = [];
  /** The session as the turn found it: what the agents' list showed. */
  private readonly before: Session;

  constructor(
    private readonly deps: TurnDeps,
    private readonly bot: Bot,
    public session: Session,
    private readonly eventId: string,
    private readonly agents: AgentAudience,
  ) {
    this.before = session;
    this.waitingForAgentSince = session.waitingForAgentSince;
    // An attempt's first append notes the event and its first position on the session record.
    // A first attempt (the usual case) finds another event there and reads no transcript; a
    // retry reads from that position, while the files are checked. Everything an earlier
    // attempt wrote is there before this one starts.
    this.turnNoted = session.turnEventId === eventId && session.turnFromSeq !== undefined;
    const mine = `${eventId}#`;
    this.earlier = this.turnNoted
      ? deps.sessions
          .writtenFrom(session.id, session.turnFromSeq!)
          .then((since) => new Map(since.filter((m) => m.origin?.startsWith(mine)).map((m) => [m.origin!, m])))
      : Promise.resolve(new Map());
    this.earlier.catch(() => undefined); // awaited at the first write; a failure surfaces there
  }

  async acceptUploads(uploadIds: string[]): Promise<FileRef[]> {
    const { acceptUploads } = this.deps.ports;
    const result = acceptUploads
      ? await acceptUploads(this.session, uploadIds, this.eventId)
      : { accepted: [] as AttachmentMeta[], warnings: uploadIds.map(() => ({ warning: 'attachment_upload_failed' as const })) };
    return this.keepFiles(result);
  }

  /** A channel message: its text joins the transcript here, then its media are fetched and checked. */
  async acceptChannelMessage(channel: string, messageId: string, text: string | undefined, media: InboundMedia[]): Promise<FileRef[]> {
    if (text?.trim()) this.say({ from: 'user', text });
    if (!media.length) return [];
    const { acceptChannelMedia } = this.deps.ports;
    const result = acceptChannelMedia
      ? await acceptChannelMedia(this.session, channel, media, messageId)
      : { accepted: [] as AttachmentMeta[], warnings: media.map(() => ({ warning: 'attachment_upload_failed' as const })) };
    return this.keepFiles(result);
  }

  /** Transcript entries for the files, then each accepted one to `onUserFile` (on every attempt). */
  private async keepFiles(result: AcceptedFiles): Promise<FileRef[]> {
    if (result.accepted.length) this.say({ from: 'user', attachments: result.accepted });
    // A file over the channel's own limit is refused naming that limit (SPEC 12).
    const channel = definitionNamed(this.session.channel);
    const limit = channel && { label: channel.label, maxBytes: channel.limits.inboundMaxBytes };
    for (const { warning, fileName } of result.warnings) {
      this.say({ from: 'bot', text: warningText(warning, this.bot, limit), warning, ...(fileName !== undefined && { fileName }) });
    }
    await this.flush();
    for (const file of result.accepted) await this.deps.ports.onUserFile?.(this.session, file);
    return result.accepted.map((a) => ({ attachmentId: a.id, fileName: a.fileName }));
  }

  /** Follows the flow until it waits for the user again, performing actions on the way. */
  async run(first: FlowStep): Promise<void> {
    let step: FlowStep | undefined = first;
    while (step) {
      this.session = { ...this.session, flow: step.state };
      this.say(...step.replies.map((r): NewMessage => ({ from: 'bot', text: r.text, ...(r.buttons && { buttons: r.buttons }) })));
      if (step.liveAgentRequested) step = await this.liveAgent();
      else if (step.pending) {
        // Let the user see what came before while a slow download runs.
        await this.flush();
        const outcome = await this.performAction(step.pending);
        if (outcome.ok) this.say({ from: 'bot', attachments: [outcome.attachment] });
        else logger.warn('action failed', { sessionId: this.session.id, interactionId: step.pending.interactionId, reason: outcome.reason });
        step = resumeAfterAction(this.bot, this.session.flow, step.pending.interactionId, outcome.ok, builtinsFor(this.session));
      } else step = undefined;
    }
  }

  /**
   * Performs a Send Attachment action, unless an earlier attempt at this event got past it:
   * the message at the place its file goes then tells the outcome (a bot file: it worked;
   * anything else: it failed), and the flow follows the same path without fetching again.
   */
  private async performAction(pending: PendingAction): Promise<ActionOutcome> {
    const before = (await this.earlier).get(this.nextOrigin());
    if (before) {
      const file = before.from === 'bot' ? before.attachments?.[0] : undefined;
      return file ? { ok: true, attachment: file } : { ok: false, reason: 'failed in an earlier attempt' };
    }
    const { performAction } = this.deps.ports;
    return performAction ? performAction(this.session, pending) : { ok: false, reason: 'no action runner' };
  }

  /**
   * The Live Agent button (SPEC 6). With an agent online the user waits for one. With nobody
   * online and a `noAgentsInteraction`, that runs instead and the user is not left waiting:
   * a wait asked for earlier ends too, so the console stops listing them as waiting and the
   * page drops its banner (the status change is pushed at the turn's end). A bot without
   * one keeps the request standing for the next agent who opens the console.
   */
  private async liveAgent(): Promise<FlowStep | undefined> {
    // An agent with the console's socket open is online; otherwise their last API call tells (SPEC 6).
    const online = this.agents.all.length > 0 || ((await this.deps.ports.agentsOnline?.()) ?? false);
    const { confirmationMessage, noAgentsInteraction } = this.bot.liveTakeover;
    if (!online && noAgentsInteraction) {
      this.waitingForAgentSince = undefined;
      return enterInteraction(this.bot, this.session.flow, noAgentsInteraction, builtinsFor(this.session));
    }
    this.waitingForAgentSince ??= this.deps.now();
    this.say({ from: 'bot', text: render(confirmationMessage, this.session.flow, builtinsFor(this.session)) });
    return undefined;
  }

  private nextOrigin(): string {
    return `${this.eventId}#${this.said}`;
  }

  /** Queues messages for the transcript, each tagged with its place in the turn. */
  private say(...messages: NewMessage[]): void {
    for (const m of messages) {
      this.pending.push({ ...m, origin: this.nextOrigin() });
      this.said++;
    }
  }

  /** Writes what is pending; messages an earlier attempt wrote are taken as written, not repeated. */
  private async flush(): Promise<void> {
    if (!this.pending.length) return;
    const earlier = await this.earlier;
    const batch = this.pending.splice(0);
    this.written.push(...batch.flatMap((m) => earlier.get(m.origin!) ?? []));
    const fresh = batch.filter((m) => !earlier.has(m.origin!));
    if (!fresh.length) return;
    const written = await this.deps.sessions.appendMessages(this.session.id, fresh, this.deps.now(), {
      ...(!this.turnNoted && { startsTurn: this.eventId }),
      searchText: this.searchText.splice(0),
      seen: this.session,
    });
    this.turnNoted = true;
    this.written.push(...written);
  }

  pushAlso(message: TranscriptMessage): void {
    this.alsoPushed.push(message);
  }

  async finish(): Promise<void> {
    await this.flush();
    const waitingChanged = this.waitingForAgentSince !== this.session.waitingForAgentSince;
    const saved = await this.deps.sessions.update(this.session.id, {
      flow: { ...this.session.flow, lastEventId: this.eventId },
      // Written only when this turn asked for an agent: an agent taking over meanwhile
      // clears it, and an unconditional write would bring it back.
      ...(waitingChanged && { waitingForAgentSince: this.waitingForAgentSince }),
    }, {
      searchText: this.searchText.splice(0),
      seen: { ...this.session, flow: this.before.flow },
      // Intake left the list's view to the turn: with nothing written here, the user's message is the newest.
      ...(!this.written.length && this.alsoPushed.length && { listMessage: this.alsoPushed.at(-1)! }),
    });
    const outgoing = this.written.filter((m) => m.from === 'bot');
    if (outgoing.length) await this.deps.ports.deliver?.(this.session, outgoing);
    // Web users and agents see the turn's messages and any status change over their sockets.
    const pushed = [...this.alsoPushed, ...this.written];
    // Every console's list hears of a conversation's first turn and of a status change; the
    // bot's chatter otherwise goes only to consoles that have the conversation open.
    const now = this.deps.now();
    const listChanged =
      waitingChanged || this.before.flow.lastEventId === undefined || conversationStatus(this.before, this.bot, now) !== conversationStatus(saved, this.bot, now);
    if (pushed.length || waitingChanged) await this.deps.push?.(saved, pushed, 'everyone', this.agents, listChanged);
  }
}
