import { describe, expect, it } from 'vitest';
import { BotSchema, type BotInput } from '../../shared/bots/schema';
import { enterInteraction, handleInput, initialFlowState, repromptCurrent, resumeAfterAction, startFlow } from '../../shared/domain/flow';
import { fillPlaceholders } from '../../shared/domain/placeholders';
import { conversationStatus, expiresAtFor, isExpired, newSession } from '../../shared/domain/session';

const bot = (input: Partial<BotInput> & Pick<BotInput, 'start' | 'interactions'>) => BotSchema.parse({ id: 'b', name: 'B', ...input });
const builtins = { 'session.id': 's1', 'user.id': 'u1', 'user.name': 'Ann', channel: 'web', 'agent.name': '' };
const texts = (step: { replies: { text: string }[] }) => step.replies.map((r) => r.text);

const menuBot = bot({
  defaultAnswer: 'Pardon?',
  agentThreshold: 2,
  start: 'menu',
  interactions: {
    menu: {
      type: 'message',
      text: 'Hello {user.name}',
      buttons: [
        { label: 'Name', next: 'ask' },
        { label: 'File', next: 'upload' },
        { label: 'Person', liveAgent: true },
      ],
    },
    ask: { type: 'question', text: 'Your name?', answerFormat: 'text', variable: 'nick', next: 'hi' },
    hi: { type: 'message', text: 'Hi {nick} from {channel}', next: 'bye' },
    bye: { type: 'message', text: 'Bye' },
    upload: { type: 'question', text: 'Send it', answerFormat: 'attachment', variable: 'doc', next: 'got' },
    got: { type: 'message', text: 'Got {doc}' },
    any: { type: 'question', text: 'Anything', answerFormat: 'any', variable: 'x', next: 'echo' },
    echo: { type: 'message', text: 'You said {x}' },
  },
});

describe('flow engine', () => {
  it('starts with the start interaction, fills placeholders and waits on buttons', () => {
    const step = startFlow(menuBot, initialFlowState(), builtins);
    expect(step.replies).toEqual([{ text: 'Hello Ann', buttons: [{ label: 'Name' }, { label: 'File' }, { label: 'Person' }] }]);
    expect(step.state).toMatchObject({ current: 'menu', awaiting: 'buttons' });
  });

  it('follows a button to a question, stores the answer and runs the chain of next', () => {
    const s1 = startFlow(menuBot, initialFlowState(), builtins);
    const s2 = handleInput(menuBot, s1.state, { kind: 'message', buttonIndex: 0 }, builtins);
    expect(texts(s2)).toEqual(['Your name?']);
    expect(s2.state).toMatchObject({ current: 'ask', awaiting: 'answer' });
    const s3 = handleInput(menuBot, s2.state, { kind: 'message', text: 'Annie' }, builtins);
    expect(texts(s3)).toEqual(['Hi Annie from web', 'Bye']);
    expect(s3.state.variables.nick).toBe('Annie');
    expect(s3.state.current).toBeUndefined();
  });

  it('gives the default answer for free text where buttons are expected, and counts it', () => {
    const s1 = startFlow(menuBot, initialFlowState(), builtins);
    const s2 = handleInput(menuBot, s1.state, { kind: 'message', text: 'hello?' }, builtins);
    expect(texts(s2)).toEqual(['Pardon?']);
    expect(s2.state.defaultAnswers).toBe(1);
    expect(s2.state.current).toBe('menu');
    const s3 = handleInput(menuBot, s2.state, { kind: 'message', buttonIndex: 7 }, builtins);
    expect(texts(s3)).toEqual(['Pardon?']);
    expect(s3.state.defaultAnswers).toBe(2);
  });

  it('acknowledges a file where text is expected (issue 14), without counting it, and keeps asking', () => {
    const s = enterInteraction(menuBot, initialFlowState(), 'ask', builtins);
    const next = handleInput(menuBot, s.state, { kind: 'message', files: [{ attachmentId: 'a1', fileName: 'x.pdf' }] }, builtins);
    expect(texts(next)).toEqual(['Thanks, we have received x.pdf.']);
    expect(next.state.defaultAnswers).toBe(0);
    expect(next.state).toMatchObject({ current: 'ask', awaiting: 'answer' });
    expect(next.state.variables.nick).toBeUndefined();
    // Words with a file answer the text question; the file is acknowledged first.
    const both = handleInput(menuBot, s.state, { kind: 'message', text: 'Annie', files: [{ attachmentId: 'a2', fileName: 'y.pdf' }] }, builtins);
    expect(texts(both)).toEqual(['Thanks, we have received y.pdf.', 'Hi Annie from web', 'Bye']);
  });

  it('acknowledges files sent at a menu instead of the default answer; the menu still waits (issue 14)', () => {
    const s1 = startFlow(menuBot, initialFlowState(), builtins);
    const files = [
      { attachmentId: 'a', fileName: 'a.pdf' },
      { attachmentId: 'b', fileName: 'b.png' },
      { attachmentId: 'c', fileName: 'c.txt' },
    ];
    const s2 = handleInput(menuBot, s1.state, { kind: 'message', files: files.slice(0, 1) }, builtins);
    expect(s2.replies).toEqual([{ text: 'Thanks, we have received a.pdf.' }]);
    expect(s2.state).toMatchObject({ current: 'menu', awaiting: 'buttons', defaultAnswers: 0 });
    expect(texts(handleInput(menuBot, s1.state, { kind: 'message', files }, builtins))).toEqual(['Thanks, we have received a.pdf, b.png and c.txt.']);
    // Words the menu cannot use still get the default answer, and count.
    const s3 = handleInput(menuBot, s1.state, { kind: 'message', text: 'here', files: files.slice(1, 2) }, builtins);
    expect(texts(s3)).toEqual(['Thanks, we have received b.png.', 'Pardon?']);
    expect(s3.state.defaultAnswers).toBe(1);
    // A button still works after the acknowledgement.
    expect(texts(handleInput(menuBot, s2.state, { kind: 'message', buttonIndex: 0 }, builtins))).toEqual(['Your name?']);
  });

  it('says the bot\'s own fileReceivedAnswer, with placeholders', () => {
    const custom = bot({ ...menuBot, fileReceivedAnswer: 'Got {file.name}, {user.name}. We will look at it.' } as BotInput);
    const s = startFlow(custom, initialFlowState(), builtins);
    expect(texts(handleInput(custom, s.state, { kind: 'message', files: [{ attachmentId: 'a', fileName: 'scan.pdf' }] }, builtins))).toEqual([
      'Got scan.pdf, Ann. We will look at it.',
    ]);
  });

  it('takes a file as the answer of an attachment question; the variable renders as its name', () => {
    const s = enterInteraction(menuBot, initialFlowState(), 'upload', builtins);
    const text = handleInput(menuBot, s.state, { kind: 'message', text: 'here' }, builtins);
    expect(texts(text)).toEqual(['Pardon?']);
    const file = handleInput(menuBot, s.state, { kind: 'message', files: [{ attachmentId: 'a1', fileName: 'claim.pdf' }] }, builtins);
    expect(texts(file)).toEqual(['Got claim.pdf']);
    expect(file.state.variables.doc).toEqual({ attachmentId: 'a1', fileName: 'claim.pdf' });
  });

  it('takes text or a file for answerFormat any', () => {
    const s = enterInteraction(menuBot, initialFlowState(), 'any', builtins);
    expect(texts(handleInput(menuBot, s.state, { kind: 'message', text: 'words' }, builtins))).toEqual(['You said words']);
    expect(texts(handleInput(menuBot, s.state, { kind: 'message', files: [{ attachmentId: 'a', fileName: 'f.png' }] }, builtins))).toEqual(['You said f.png']);
  });

  it('acknowledges files sent when nothing is asked, without a default answer', () => {
    const s = handleInput(menuBot, initialFlowState(), { kind: 'message', files: [{ attachmentId: 'a', fileName: 'f.png' }] }, builtins);
    expect(s.replies).toEqual([{ text: 'Thanks, we have received f.png.' }]);
    expect(s.state.defaultAnswers).toBe(0);
  });

  it('asks the current interaction again, with its buttons, without running anything (release)', () => {
    const menu = startFlow(menuBot, initialFlowState(), builtins);
    expect(repromptCurrent(menuBot, menu.state, builtins)).toEqual(menu.replies);
    const question = handleInput(menuBot, menu.state, { kind: 'message', buttonIndex: 0 }, builtins);
    expect(repromptCurrent(menuBot, question.state, builtins)).toEqual([{ text: 'Your name?' }]);
    const ended = handleInput(menuBot, question.state, { kind: 'message', text: 'Annie' }, builtins);
    expect(repromptCurrent(menuBot, ended.state, builtins)).toEqual([]);
    expect(repromptCurrent(menuBot, initialFlowState(), builtins)).toEqual([]);
  });

  it('reports a live agent request', () => {
    const s1 = startFlow(menuBot, initialFlowState(), builtins);
    const s2 = handleInput(menuBot, s1.state, { kind: 'message', buttonIndex: 2 }, builtins);
    expect(s2.liveAgentRequested).toBe(true);
    expect(s2.replies).toEqual([]);
  });

  describe('actions', () => {
    const actionBot = bot({
      start: 'fetch',
      interactions: {
        fetch: {
          type: 'action',
          next: 'ok',
          onError: 'sorry',
          action: {
            type: 'sendAttachment',
            endpoint: 'https://docs.example.com/forms/{claimType}?u={user.id}',
            fileName: 'claim-{claimType}.pdf',
            authorization: { secret: 'docs-token' },
            headers: { 'X-Tenant': '{tenant}' },
          },
        },
        ok: { type: 'message', text: 'Here it is' },
        sorry: { type: 'message', text: 'Unavailable' },
        bare: { type: 'action', action: { type: 'sendAttachment', endpoint: 'https://x.example/f' } },
      },
    });
    const state = { ...initialFlowState(), variables: { claimType: 'car & home', tenant: 'acme' } };

    it('returns the action with placeholders filled (URL-encoded in the endpoint) and the secret name only', () => {
      const step = startFlow(actionBot, state, builtins);
      expect(step.pending).toEqual({
        interactionId: 'fetch',
        settings: {
          type: 'sendAttachment',
          endpoint: 'https://docs.example.com/forms/car%20%26%20home?u=u1',
          fileName: 'claim-car & home.pdf',
          contentType: '',
          headers: { 'X-Tenant': 'acme' },
          authorizationSecret: 'docs-token',
        },
      });
      expect(step.replies).toEqual([]);
    });

    it.each(['..', '.'])('never fetches when a placeholder value is the path segment %s: goes to onError instead', (value) => {
      const step = startFlow(actionBot, { ...state, variables: { ...state.variables, claimType: value } }, builtins);
      expect(step.pending).toBeUndefined();
      expect(texts(step)).toEqual(['Unavailable']);
      const bare = enterInteraction(
        bot({ start: 'x', interactions: { x: { type: 'action', action: { type: 'sendAttachment', endpoint: 'https://x.example/{v}/f' } } } }),
        { ...initialFlowState(), variables: { v: '..' } },
        'x',
        builtins,
      );
      expect(bare.pending).toBeUndefined();
      expect(bare.replies).toHaveLength(1);
    });

    it('goes to next on success and to onError on failure', () => {
      expect(texts(resumeAfterAction(actionBot, state, 'fetch', true, builtins))).toEqual(['Here it is']);
      expect(texts(resumeAfterAction(actionBot, state, 'fetch', false, builtins))).toEqual(['Unavailable']);
    });

    it('gives the default answer, not counted, on failure without onError', () => {
      const step = resumeAfterAction(actionBot, state, 'bare', false, builtins);
      expect(texts(step)).toEqual([actionBot.defaultAnswer]);
      expect(step.state.defaultAnswers).toBe(0);
    });
  });

  it('stops a cycle of next instead of spinning forever', () => {
    const loop = bot({ start: 'a', interactions: { a: { type: 'message', text: 'a', next: 'b' }, b: { type: 'message', text: 'b', next: 'a' } } });
    const step = startFlow(loop, initialFlowState(), builtins);
    expect(step.replies.length).toBe(50);
  });
});

describe('placeholders', () => {
  it('renders unknown names empty and attachments as file names', () => {
    const v: Record<string, string | { attachmentId: string; fileName: string }> = { a: 'x', f: { attachmentId: '1', fileName: 'doc.pdf' } };
    expect(fillPlaceholders('{a}-{f}-{missing}-{ not one }', (n) => v[n])).toBe('x-doc.pdf--{ not one }');
  });
});

describe('session', () => {
  const b = bot({ sessionTimeoutSeconds: 600, agentThreshold: 3, start: 'x', interactions: { x: { type: 'message', text: 'x' } } });
  const t0 = Date.UTC(2026, 0, 1);
  const s = newSession({ id: 's', bot: b, channel: 'web', userId: 'u', now: t0 });

  it('expires sessionTimeoutSeconds after the last activity', () => {
    expect(s.expiresAt).toBe(t0 / 1000 + 600);
    expect(isExpired(s, t0 + 599_000)).toBe(false);
    expect(isExpired(s, t0 + 600_000)).toBe(true);
    expect(expiresAtFor(b, t0 + 60_000)).toBe(t0 / 1000 + 660);
  });

  it('computes statuses from activity, threshold, waiting and takeover', () => {
    expect(conversationStatus(s, b, t0 + 4 * 60_000)).toBe('live');
    expect(conversationStatus(s, b, t0 + 6 * 60_000)).toBe('stalled');
    expect(conversationStatus(s, b, t0 + 31 * 60_000)).toBe('abandoned');
    expect(conversationStatus({ ...s, flow: { ...s.flow, defaultAnswers: 3 } }, b, t0)).toBe('action');
    expect(conversationStatus({ ...s, flow: { ...s.flow, defaultAnswers: 3 } }, { agentThreshold: 0 }, t0)).toBe('live');
    expect(conversationStatus({ ...s, waitingForAgentSince: t0 }, b, t0)).toBe('waiting_for_agent');
    expect(conversationStatus({ ...s, waitingForAgentSince: t0, operator: { agentId: 'a', name: 'A', since: t0 } }, b, t0)).toBe('taken_over');
  });
});
