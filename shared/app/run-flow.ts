import type { Bot } from '../bots/schema';
import { enterInteraction, handleInput, render, resumeAfterAction, startFlow, type FileRef, type FlowStep } from '../domain/flow';
import { builtinsFor, isExpired, type Session } from '../domain/session';
import { warningText } from '../domain/warnings';
import type { AttachmentMeta, NewMessage, TranscriptMessage } from '../domain/transcript';
import { logger } from '../logger';
import type { Deps } from './deps';
import type { FlowEvent } from './events';

/**
 * Runs one queued event through the bot flow (the actions function).
 * Primary course: load the session, accept uploaded files, advance the flow, perform any
 * Send Attachment action, write the bot's replies, save the flow state.
 * Events arrive in order per session; `eventId` makes a redelivery a no-op.
 */
export async function runFlowEvent(deps: Deps, event: FlowEvent & { eventId: string }): Promise<void> {
  const session = await deps.sessions.get(event.sessionId);
  if (!session || isExpired(session, deps.now())) {
    logger.info('event for an expired session dropped', { sessionId: event.sessionId, type: event.type });
    return;
  }
  if (session.flow.lastEventId === event.eventId) return;
  const bot = deps.bots.get(session.botId);
  if (!bot) {
    logger.warn('event for a bot that no longer exists dropped', { sessionId: session.id, botId: session.botId });
    return;
  }
  const turn = new Turn(deps, bot, session);

  if (event.type === 'session_started') {
    await turn.run(startFlow(bot, session.flow, builtinsFor(session)));
  } else {
    const files = event.uploadIds?.length ? await turn.acceptUploads(event.uploadIds) : [];
    if (session.operator) {
      // Taken over: the agent answers, the bot stays silent.
    } else if (event.text?.trim() || event.buttonIndex !== undefined || files.length) {
      await turn.run(
        handleInput(bot, turn.session.flow, { kind: 'message', text: event.text, buttonIndex: event.buttonIndex, files }, builtinsFor(turn.session)),
      );
    }
  }
  await turn.finish(event.eventId);
}

class Turn {
  private readonly pending: NewMessage[] = [];
  private readonly written: TranscriptMessage[] = [];
  private waitingForAgentSince: number | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly bot: Bot,
    public session: Session,
  ) {
    this.waitingForAgentSince = session.waitingForAgentSince;
  }

  async acceptUploads(uploadIds: string[]): Promise<FileRef[]> {
    const { acceptUploads } = this.deps.ports;
    const result = acceptUploads
      ? await acceptUploads(this.session, uploadIds)
      : { accepted: [] as AttachmentMeta[], warnings: uploadIds.map(() => 'attachment_upload_failed' as const) };
    if (result.accepted.length) this.pending.push({ from: 'user', attachments: result.accepted });
    for (const code of result.warnings) this.pending.push({ from: 'bot', text: warningText(code, this.bot), warning: code });
    await this.flush();
    for (const file of result.accepted) await this.deps.ports.onUserFile?.(this.session, file);
    return result.accepted.map((a) => ({ attachmentId: a.id, fileName: a.fileName }));
  }

  /** Follows the flow until it waits for the user again, performing actions on the way. */
  async run(first: FlowStep): Promise<void> {
    let step: FlowStep | undefined = first;
    while (step) {
      this.session = { ...this.session, flow: step.state };
      this.pending.push(...step.replies.map((r): NewMessage => ({ from: 'bot', text: r.text, ...(r.buttons && { buttons: r.buttons }) })));
      if (step.liveAgentRequested) step = await this.liveAgent();
      else if (step.pending) {
        // Let the user see what came before while a slow download runs.
        await this.flush();
        const { performAction } = this.deps.ports;
        const outcome = performAction ? await performAction(this.session, step.pending) : { ok: false as const, reason: 'no action runner' };
        if (outcome.ok) this.pending.push({ from: 'bot', attachments: [outcome.attachment] });
        else logger.warn('action failed', { sessionId: this.session.id, interactionId: step.pending.interactionId, reason: outcome.reason });
        step = resumeAfterAction(this.bot, this.session.flow, step.pending.interactionId, outcome.ok, builtinsFor(this.session));
      } else step = undefined;
    }
  }

  private async liveAgent(): Promise<FlowStep | undefined> {
    this.waitingForAgentSince ??= this.deps.now();
    const online = (await this.deps.ports.agentsOnline?.()) ?? false;
    const { confirmationMessage, noAgentsInteraction } = this.bot.liveTakeover;
    if (!online && noAgentsInteraction) return enterInteraction(this.bot, this.session.flow, noAgentsInteraction, builtinsFor(this.session));
    this.pending.push({ from: 'bot', text: render(confirmationMessage, this.session.flow, builtinsFor(this.session)) });
    return undefined;
  }

  private async flush(): Promise<void> {
    if (!this.pending.length) return;
    const written = await this.deps.sessions.appendMessages(this.session.id, this.pending.splice(0), this.deps.now());
    this.written.push(...written);
  }

  async finish(eventId: string): Promise<void> {
    await this.flush();
    await this.deps.sessions.update(this.session.id, {
      flow: { ...this.session.flow, lastEventId: eventId },
      waitingForAgentSince: this.waitingForAgentSince,
    });
    const outgoing = this.written.filter((m) => m.from === 'bot');
    if (outgoing.length) await this.deps.ports.deliver?.(this.session, outgoing);
  }
}
