import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BotFileError, loadBotsDir, parseBot, secretNames } from '../../shared/bots/loader';
import { DEFAULT_ALLOWED_TYPES, DEFAULT_SIZE_LIMIT_BYTES } from '../../shared/bots/schema';

const minimal = { id: 'tiny', name: 'Tiny', start: 'hi', interactions: { hi: { type: 'message', text: 'Hello' } } };

/** The spec's full example (SPEC section 1), comments removed. */
const specExample = {
  id: 'claims',
  name: 'Claims assistant',
  sessionTimeoutSeconds: 86400,
  defaultAnswer: "Sorry, I didn't catch that.",
  agentThreshold: 3,
  attachments: { recipientEmail: 'claims@example.com', allowedTypes: ['pdf', 'png'], sizeLimitBytes: 8388608, limitPerConversation: null },
  liveTakeover: { startMessage: 'You are now chatting with {agent.name}.', confirmationMessage: 'Finding someone for you...', noAgentsInteraction: 'no-agents', waitForAgentSeconds: 0 },
  channels: {
    web: {},
    messenger: { pageId: '1234', appSecret: { secret: 'fb-app-secret' }, verifyToken: { secret: 'fb-verify' }, pageAccessToken: { secret: 'fb-page' } },
  },
  start: 'welcome',
  interactions: {
    welcome: { type: 'message', text: 'Hi! I can send you our claim form.', buttons: [{ label: 'Send the form', next: 'send-form' }, { label: 'Talk to a person', liveAgent: true }] },
    'send-form': {
      type: 'action',
      next: 'ask-upload',
      onError: 'sorry',
      action: { type: 'sendAttachment', fileName: 'claim-{claimType}.pdf', endpoint: 'https://docs.example.com/forms/{claimType}', authorization: { secret: 'docs-token' }, contentType: 'application/pdf', headers: { 'X-Tenant': 'acme' } },
    },
    'ask-upload': { type: 'question', text: 'Please upload the completed form.', answerFormat: 'any', variable: 'completedForm', next: 'thanks' },
    thanks: { type: 'message', text: 'Thanks, {user.name}!' },
    sorry: { type: 'message', text: 'The form is unavailable right now.' },
    'no-agents': { type: 'message', text: 'Nobody is online; we will email you.' },
  },
};

const problemsOf = (bot: unknown, file = 'bots/x.json') => {
  try {
    parseBot(JSON.stringify(bot), file);
  } catch (err) {
    expect(err).toBeInstanceOf(BotFileError);
    return (err as BotFileError).problems;
  }
  throw new Error('expected the bot to be rejected');
};

describe('bot schema', () => {
  it('accepts the full example of the spec', () => {
    const bot = parseBot(JSON.stringify(specExample), 'claims.json');
    expect(bot.attachments.allowedTypes).toEqual(['pdf', 'png']);
    expect(bot.channels.messenger?.pageId).toBe('1234');
    expect(secretNames(bot)).toEqual(['docs-token', 'fb-app-secret', 'fb-page', 'fb-verify']);
  });

  it('fills every default when only the required fields are given', () => {
    const bot = parseBot(JSON.stringify(minimal), 'tiny.json');
    expect(bot.sessionTimeoutSeconds).toBe(86400);
    expect(bot.defaultAnswer).toBe("Sorry, I didn't catch that.");
    expect(bot.agentThreshold).toBe(3);
    expect(bot.attachments).toEqual({ allowedTypes: [...DEFAULT_ALLOWED_TYPES], sizeLimitBytes: DEFAULT_SIZE_LIMIT_BYTES, limitPerConversation: null, unscannable: "refuse" });
    expect(bot.liveTakeover.waitForAgentSeconds).toBe(0);
    expect(bot.channels).toEqual({ web: {} });
    expect(secretNames(bot)).toEqual([]);
  });

  it('treats an empty allowedTypes list as the default list', () => {
    const bot = parseBot(JSON.stringify({ ...minimal, attachments: { allowedTypes: [] } }), 'tiny.json');
    expect(bot.attachments.allowedTypes).toContain('pdf');
    expect(bot.attachments.allowedTypes).toHaveLength(13);
  });

  it.each([
    ['a missing required field', { ...minimal, start: undefined }, '$.start'],
    ['a bad id', { ...minimal, id: 'Has Spaces' }, '$.id'],
    ['an unknown interaction type', { ...minimal, interactions: { hi: { type: 'dance', text: 'x' } } }, '$.interactions.hi.type'],
    ['a dangling next', { ...minimal, interactions: { hi: { type: 'message', text: 'x', next: 'nowhere' } } }, '$.interactions.hi.next'],
    ['a dangling button target', { ...minimal, interactions: { hi: { type: 'message', text: 'x', buttons: [{ label: 'a', next: 'gone' }] } } }, '$.interactions.hi.buttons[0].next'],
    ['a start that does not exist', { ...minimal, start: 'nope' }, '$.start'],
    ['an inline secret', { ...minimal, interactions: { hi: { type: 'action', action: { type: 'sendAttachment', endpoint: 'https://x', authorization: 'Bearer abc' } } } }, '$.interactions.hi.action.authorization'],
    ['a non-http endpoint', { ...minimal, interactions: { hi: { type: 'action', action: { type: 'sendAttachment', endpoint: 'file:///etc/passwd' } } } }, '$.interactions.hi.action.endpoint'],
    ['an unknown field', { ...minimal, colour: 'red' }, '$'],
    ['a bad answer format', { ...minimal, interactions: { hi: { type: 'question', text: 'q', variable: 'v', answerFormat: 'voice' } } }, '$.interactions.hi.answerFormat'],
    ['a negative size limit', { ...minimal, attachments: { sizeLimitBytes: -1 } }, '$.attachments.sizeLimitBytes'],
    ['a size limit over what one S3 upload can carry', { ...minimal, attachments: { sizeLimitBytes: 6 * 1024 ** 3 } }, '$.attachments.sizeLimitBytes'],
    ['a bad recipient email', { ...minimal, attachments: { recipientEmail: 'not-an-email' } }, '$.attachments.recipientEmail'],
    ['a dangling noAgentsInteraction', { ...minimal, liveTakeover: { noAgentsInteraction: 'ghost' } }, '$.liveTakeover.noAgentsInteraction'],
  ])('rejects %s and names the JSON path', (_what, bot, path) => {
    const problems = problemsOf(bot);
    expect(problems.map((p) => p.path)).toContain(path);
  });

  it('names the file and the problem in the error message', () => {
    try {
      parseBot(JSON.stringify({ ...minimal, interactions: { hi: { type: 'message', text: 'x', next: 'nowhere' } } }), 'bots/broken.json');
      throw new Error('not rejected');
    } catch (err) {
      expect((err as Error).message).toMatch(/bots\/broken\.json/);
      expect((err as Error).message).toMatch(/\$\.interactions\.hi\.next: no interaction named "nowhere"/);
    }
  });

  it('reports invalid JSON with the file name', () => {
    expect(() => parseBot('{ "id": ', 'bots/cut.json')).toThrow(/bots\/cut\.json[\s\S]*not valid JSON/);
  });
});

describe('loadBotsDir', () => {
  it('loads every bot and refuses duplicate ids naming both files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bots-'));
    writeFileSync(join(dir, 'a.json'), JSON.stringify(minimal));
    expect(loadBotsDir(dir).map((b) => b.id)).toEqual(['tiny']);
    writeFileSync(join(dir, 'b.json'), JSON.stringify(minimal));
    expect(() => loadBotsDir(dir)).toThrow(/b\.json[\s\S]*\$\.id: id "tiny" is already used by .*a\.json/);
  });

  it('refuses two bots on one channel account (one bot secret would verify the other bot webhooks)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bots-'));
    const wa = (id: string, secret: string) => ({
      ...minimal,
      id,
      channels: { whatsapp: { phoneNumberId: '555', appSecret: { secret }, verifyToken: { secret: `${secret}-v` }, accessToken: { secret: `${secret}-a` } } },
    });
    writeFileSync(join(dir, 'z-owner.json'), JSON.stringify(wa('z-owner', 'owner')));
    expect(loadBotsDir(dir).map((b) => b.id)).toEqual(['z-owner']);
    writeFileSync(join(dir, 'a-intruder.json'), JSON.stringify(wa('a-intruder', 'intruder')));
    expect(() => loadBotsDir(dir)).toThrow(/z-owner\.json[\s\S]*\$\.channels\.whatsapp: .*account "555" is already used by bot "a-intruder"/);
  });

  it('loads the shipped demo bot', () => {
    const bots = loadBotsDir('bots');
    expect(bots.map((b) => b.id)).toContain('demo');
  });

  it('fails clearly for a missing directory', () => {
    expect(() => loadBotsDir('/does/not/exist')).toThrow(/cannot read bots directory/);
  });
});
