import type { Bot, Interaction, SendAttachmentSettings } from '../bots/schema';
import { fillPlaceholders, type VariableValue } from './placeholders';

/**
 * The bot flow as pure functions: given a bot, the session's flow state and one input,
 * return the replies to send and the next state. I/O (the Send Attachment fetch) is
 * returned as a pending action for the caller to perform and report back.
 */

export interface FlowState {
  /** The interaction waiting for input, if any. */
  current?: string;
  awaiting?: 'buttons' | 'answer';
  variables: Record<string, VariableValue>;
  /** Default answers given in this session (compared with the bot's agentThreshold). */
  defaultAnswers: number;
  /** The last queued event applied, so a redelivered event changes nothing. */
  lastEventId?: string;
}

export const initialFlowState = (): FlowState => ({ variables: {}, defaultAnswers: 0 });

export interface FileRef {
  attachmentId: string;
  fileName: string;
}

export type FlowInput =
  | { kind: 'start' }
  | { kind: 'message'; text?: string; buttonIndex?: number; files?: FileRef[] };

export interface Reply {
  text: string;
  buttons?: { label: string }[];
}

export interface PendingAction {
  interactionId: string;
  settings: SendAttachmentSettings & { authorizationSecret?: string };
}

export interface FlowStep {
  replies: Reply[];
  state: FlowState;
  /** A Send Attachment action to perform, then call `resumeAfterAction`. */
  pending?: PendingAction;
  /** The user pressed a Live Agent button. */
  liveAgentRequested?: boolean;
}

/** Values the engine cannot know by itself: `session.id`, `user.name`, ... */
export type Builtins = Record<string, string | undefined>;

/** Bound on interactions entered for one input, so a `next` cycle cannot spin forever. */
const MAX_STEPS = 50;

const lookup = (state: FlowState, builtins: Builtins) => (name: string) =>
  Object.hasOwn(state.variables, name) ? state.variables[name] : builtins[name];

export const render = (template: string, state: FlowState, builtins: Builtins): string =>
  fillPlaceholders(template, lookup(state, builtins));

class Runner {
  readonly replies: Reply[] = [];
  pending?: PendingAction;
  private steps = 0;
  constructor(
    private readonly bot: Bot,
    public state: FlowState,
    private readonly builtins: Builtins,
  ) {}

  private wait(id: string | undefined, awaiting: FlowState['awaiting']) {
    this.state = { ...this.state, current: id, awaiting };
  }

  /** Runs interactions from `id` until one waits for input, an action is pending, or the flow ends. */
  enter(id: string | undefined): void {
    this.wait(undefined, undefined);
    while (id !== undefined) {
      if (++this.steps > MAX_STEPS) return;
      const it: Interaction | undefined = this.bot.interactions[id];
      if (!it) return; // the schema rejects dangling references; stay safe if one slips through
      const text = (t: string) => render(t, this.state, this.builtins);
      switch (it.type) {
        case 'message':
          if (it.buttons?.length) {
            this.replies.push({ text: text(it.text), buttons: it.buttons.map((b) => ({ label: b.label })) });
            return this.wait(id, 'buttons');
          }
          this.replies.push({ text: text(it.text) });
          id = it.next;
          break;
        case 'question':
          this.replies.push({ text: text(it.text) });
          return this.wait(id, 'answer');
        case 'action': {
          const a = it.action;
          const { authorization, ...settings } = a;
          // A value of "." or ".." survives encoding and URL parsing turns it into a move up
          // the path: the bot's credentials would go to another resource. Fail instead.
          let dotSegment = false;
          const urlEncoded = (t: string) =>
            fillPlaceholders(t, lookup(this.state, this.builtins), (v) => {
              if (v === '.' || v === '..') dotSegment = true;
              return encodeURIComponent(v);
            });
          const endpoint = urlEncoded(a.endpoint);
          if (dotSegment) {
            if (it.onError) {
              id = it.onError;
              break;
            }
            this.defaultAnswer(false);
            return this.wait(undefined, undefined);
          }
          this.pending = {
            interactionId: id,
            settings: {
              ...settings,
              endpoint,
              fileName: text(a.fileName),
              headers: Object.fromEntries(Object.entries(a.headers).map(([k, v]) => [k, text(v)])),
              authorizationSecret: authorization?.secret,
            },
          };
          return this.wait(id, undefined);
        }
      }
    }
  }

  /**
   * Files the current interaction cannot use (sent at a menu, where text is asked, or when
   * nothing is asked) are kept in the transcript and acknowledged with the bot's
   * `fileReceivedAnswer`; they do not count towards agentThreshold.
   */
  acknowledgeFiles(files: FileRef[]): void {
    if (!files.length) return;
    const names = files.map((f) => f.fileName);
    const listed = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    this.replies.push({ text: render(this.bot.fileReceivedAnswer, this.state, { ...this.builtins, 'file.name': listed }) });
  }

  /** `counted`: unusable user input counts towards agentThreshold; a failed action does not. */
  defaultAnswer(counted = true): void {
    this.replies.push({ text: render(this.bot.defaultAnswer, this.state, this.builtins) });
    if (counted) this.state = { ...this.state, defaultAnswers: this.state.defaultAnswers + 1 };
  }

  answer(variable: string, value: VariableValue, next: string | undefined): void {
    this.state = { ...this.state, variables: { ...this.state.variables, [variable]: value } };
    this.enter(next);
  }

  step(extra: Partial<FlowStep> = {}): FlowStep {
    return { replies: this.replies, state: this.state, pending: this.pending, ...extra };
  }
}

/** Starts the bot at its `start` interaction. */
export function startFlow(bot: Bot, state: FlowState, builtins: Builtins): FlowStep {
  const r = new Runner(bot, state, builtins);
  r.enter(bot.start);
  return r.step();
}

/** Runs a given interaction (e.g. the bot's `noAgentsInteraction`). */
export function enterInteraction(bot: Bot, state: FlowState, id: string, builtins: Builtins): FlowStep {
  const r = new Runner(bot, state, builtins);
  r.enter(id);
  return r.step();
}

/** Handles one user message: a button press, text, files, or text with files. */
export function handleInput(bot: Bot, state: FlowState, input: Extract<FlowInput, { kind: 'message' }>, builtins: Builtins): FlowStep {
  const r = new Runner(bot, state, builtins);
  const current = state.current ? bot.interactions[state.current] : undefined;
  const files = input.files ?? [];
  const text = input.text?.trim() ? input.text : undefined;

  if (input.buttonIndex !== undefined) {
    const button = state.awaiting === 'buttons' && current?.type === 'message' ? current.buttons?.[input.buttonIndex] : undefined;
    if (!button) {
      r.defaultAnswer();
      return r.step();
    }
    if ('liveAgent' in button) return r.step({ liveAgentRequested: true });
    r.enter(button.next);
    return r.step();
  }

  if (state.awaiting === 'answer' && current?.type === 'question') {
    const { answerFormat, variable, next } = current;
    const file = files[0];
    if (file && answerFormat !== 'text') r.answer(variable, { attachmentId: file.attachmentId, fileName: file.fileName }, next);
    else if (text !== undefined && answerFormat !== 'attachment') {
      // A text question answered with words: files sent along are kept and acknowledged.
      r.acknowledgeFiles(files);
      r.answer(variable, text, next);
    } else if (text === undefined) r.acknowledgeFiles(files); // files where words are asked: kept, the question stands
    else r.defaultAnswer();
    return r.step();
  }

  // Buttons expected, or nothing asked. Files are kept and acknowledged (they still go to the
  // team by email outside a takeover); text gets the default answer.
  r.acknowledgeFiles(files);
  if (text !== undefined) r.defaultAnswer();
  return r.step();
}

/**
 * The current interaction asked again, without running anything: a menu's text with its
 * buttons, or a question's text. Empty when the flow waits for nothing (it ended, or an
 * action is pending). Used when an agent hands the conversation back to the bot, so the
 * user is not left with an answer they cannot give.
 */
export function repromptCurrent(bot: Bot, state: FlowState, builtins: Builtins): Reply[] {
  const it = state.current ? bot.interactions[state.current] : undefined;
  if (state.awaiting === 'buttons' && it?.type === 'message' && it.buttons?.length) {
    return [{ text: render(it.text, state, builtins), buttons: it.buttons.map((b) => ({ label: b.label })) }];
  }
  if (state.awaiting === 'answer' && it?.type === 'question') return [{ text: render(it.text, state, builtins) }];
  return [];
}

/** Continues after the pending Send Attachment action succeeded or failed. */
export function resumeAfterAction(bot: Bot, state: FlowState, interactionId: string, ok: boolean, builtins: Builtins): FlowStep {
  const r = new Runner(bot, state, builtins);
  const it = bot.interactions[interactionId];
  if (!it || it.type !== 'action') return r.step();
  if (ok) r.enter(it.next);
  else if (it.onError) r.enter(it.onError);
  else r.defaultAnswer(false);
  return r.step();
}
