import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientError } from '../../shared/http/errors';
import { createAgentHandler } from '../../functions/agent/handler';
import { createIntakeHandler } from '../../functions/intake/handler';
import type { MessageView } from '../../shared/app/conversation';
import type { ConversationView } from '../../shared/app/agent-conversations';
import { FILE_TOKEN, type FileClaims } from '../../shared/app/file-links';
import { resolveFileLink } from '../../shared/app/file-proxy';
import { SessionStore } from '../../shared/adapters/session-store';
import { anyAgentOnline } from '../../shared/app/presence';
import { runFlowEvent } from '../../shared/app/run-flow';
import type { Session } from '../../shared/domain/session';
import type { TranscriptMessage } from '../../shared/domain/transcript';
import type { HttpEvent } from '../../shared/http/http-handler';
import { freshDeps, startTestEmulators, testBot, type Deps, type TestEmulators } from '../support/emulators';
import { bearer, httpEvent, invoke } from '../support/http-events';
import * as samples from '../support/samples';
import { postToS3 } from '../support/web-user';
import { clock } from '../support/clock';

/**
 * The agent API (SPEC 6 and 7) against dynalite and s3rver through the real SDK, with the
 * handler called as API Gateway calls it after its JWT authorizer: claims in the request
 * context. (Token checks themselves are in agent-runtime.test.ts.)
 */
const menu = [
  { label: 'Send a file', next: 'ask-file' },
  { label: 'Talk to a person', liveAgent: true as const },
];
const helpBot = testBot({
  id: 'help',
  name: 'Help desk',
  sessionTimeoutSeconds: 7 * 86400,
  agentThreshold: 2,
  defaultAnswer: 'Please use the buttons.',
  liveTakeover: {
    startMessage: 'You are now chatting with {agent.name}, {user.name}.',
    confirmationMessage: 'Finding someone for you...',
    noAgentsInteraction: 'no-agents',
  },
  start: 'menu',
  interactions: {
    menu: { type: 'message', text: 'How can we help?', buttons: menu },
    'ask-file': { type: 'question', text: 'Upload it here.', answerFormat: 'any', variable: 'file', next: 'menu' },
    'no-agents': { type: 'message', text: 'Nobody is online; we will email you.', next: 'menu' },
  },
});
const shortBot = testBot({ id: 'short', name: 'Short lived', sessionTimeoutSeconds: 60, start: 'hi', interactions: { hi: { type: 'message', text: 'Hi there.' } } });

const ANN = { sub: 'ann-1', name: 'Ann' };
const BOB = { sub: 'bob-2', name: 'Bob' };
const MINUTE = 60_000;

let emu: TestEmulators;
beforeAll(async () => {
  emu = await startTestEmulators();
});
afterAll(async () => {
  await emu?.close();
});

interface WebSession {
  sessionId: string;
  token: string;
}

async function setup() {
  const time = clock();
  const delivered: { session: Session; messages: TranscriptMessage[] }[] = [];
  const deps = await freshDeps(emu, {
    bots: [helpBot, shortBot],
    overrides: { now: time.now, ports: { deliver: async (session, messages) => void delivered.push({ session, messages }) } },
  });
  const intake = createIntakeHandler(async () => deps);
  const agentHandler = createAgentHandler(async () => deps);
  const drain = () => deps.queue.drainInto((e) => runFlowEvent(deps, e));

  const start = async (userName: string, botId = 'help'): Promise<WebSession> => {
    const res = await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId, userName } }));
    expect(res.status).toBe(201);
    await drain();
    return res.body as WebSession;
  };
  const userSays = async (s: WebSession, body: unknown) => {
    const res = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), body }));
    expect(res.status).toBe(202);
    await drain();
  };
  const userSees = async (s: WebSession): Promise<MessageView[]> => {
    const res = await invoke(intake, httpEvent('GET', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token) }));
    expect(res.status).toBe(200);
    return res.body.messages as MessageView[];
  };
  const webUpload = async (s: WebSession, file: { fileName: string; contentType: string; body: Buffer }) => {
    const res = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/uploads`, { headers: bearer(s.token), body: { fileName: file.fileName, size: file.body.length, contentType: file.contentType } }));
    expect(res.status).toBe(201);
    await postToS3(res.body, file.body, file.fileName);
    return res.body.uploadId as string;
  };
  /** A call as API Gateway makes it once the JWT authorizer accepted the token. */
  const asAgent = (claims: Record<string, string> | undefined, method: 'GET' | 'POST', path: string, opts: Parameters<typeof httpEvent>[2] = {}) => {
    const event: HttpEvent = httpEvent(method, path, opts);
    if (claims) event.requestContext.authorizer = { jwt: { claims } };
    return invoke(agentHandler, event);
  };
  const list = async (query: Record<string, string> = {}, who = ANN) => {
    const res = await asAgent(who, 'GET', '/agent/conversations', { query });
    expect(res.status).toBe(200);
    return res.body.conversations as ConversationView[];
  };
  return { deps, time, delivered, drain, start, userSays, userSees, webUpload, asAgent, list };
}

const statusOf = (cs: ConversationView[], name: string) => cs.find((c) => c.user.name === name)?.status;

describe('GET /agent/conversations', () => {
  it('computes every status on read and sorts by last activity, newest first', async () => {
    const { start, userSays, asAgent, list, time } = await setup();
    const abe = await start('Abe');
    time.advance(31 * MINUTE);
    await start('Bea');
    time.advance(10 * MINUTE);
    const cy = await start('Cy');
    time.advance(1000);
    const dee = await start('Dee');
    await userSays(dee, { text: 'hello?' });
    await userSays(dee, { text: 'anyone?' }); // second default answer: threshold 2 reached
    time.advance(1000);
    const eve = await start('Eve');
    await list(); // Ann's console is open: she is online
    await userSays(eve, { buttonIndex: 1 }); // Live Agent while Ann is online
    time.advance(1000);
    const fay = await start('Fay');
    time.advance(MINUTE);
    expect((await asAgent(ANN, 'POST', `/agent/conversations/${fay.sessionId}/takeover`)).status).toBe(200);

    const all = await list();
    expect(all.map((c) => [c.user.name, c.status])).toEqual([
      ['Fay', 'taken_over'],
      ['Eve', 'waiting_for_agent'],
      ['Dee', 'action'],
      ['Cy', 'live'],
      ['Bea', 'stalled'],
      ['Abe', 'abandoned'],
    ]);
    const fayView = all[0]!;
    expect(fayView).toMatchObject({
      sessionId: fay.sessionId,
      botId: 'help',
      botName: 'Help desk',
      channel: 'web',
      user: { id: `web:${fay.sessionId}`, name: 'Fay' },
      operator: { agentId: 'ann-1', name: 'Ann' },
      lastMessage: { from: 'bot', text: 'You are now chatting with Ann, Fay.' },
    });
    expect(all.find((c) => c.user.name === 'Abe')).toMatchObject({ sessionId: abe.sessionId, operator: null, lastMessage: { from: 'bot', text: 'How can we help?' } });

    // Nothing is written, yet four minutes later Cy is no longer live.
    time.advance(4 * MINUTE);
    expect(statusOf(await list(), 'Cy')).toBe('stalled');
    expect(cy).toBeDefined();
  });

  it('filters by status and bot, and searches user names, ids and the last message', async () => {
    const { start, userSays, asAgent, list, time } = await setup();
    const ann = await start('Annika Svensson');
    const bert = await start('Bert');
    await asAgent(ANN, 'POST', `/agent/conversations/${bert.sessionId}/takeover`);
    await asAgent(ANN, 'POST', `/agent/conversations/${bert.sessionId}/messages`, { body: { text: 'Your refund is approved.' } });
    const eve = await start('Eve');
    await userSays(eve, { buttonIndex: 1 });
    const shorty = await start('Shorty', 'short');
    time.advance(10 * 1000);

    expect((await list({ status: 'waiting_for_agent' })).map((c) => c.user.name)).toEqual(['Eve']);
    expect((await list({ status: 'taken_over' })).map((c) => c.user.name)).toEqual(['Bert']);
    expect((await list({ status: 'stalled' })).map((c) => c.user.name)).toEqual([]);
    expect((await list({ botId: 'short' })).map((c) => c.sessionId)).toEqual([shorty.sessionId]);
    expect((await list({ botId: 'help', status: 'live' })).map((c) => c.user.name)).toEqual(['Annika Svensson']);
    expect((await list({ botId: 'short', status: 'waiting_for_agent' })).map((c) => c.user.name)).toEqual([]);
    expect((await list({ q: 'svensson' })).map((c) => c.sessionId)).toEqual([ann.sessionId]);
    expect((await list({ q: ann.sessionId.slice(0, 13) })).map((c) => c.sessionId)).toEqual([ann.sessionId]);
    expect((await list({ q: 'REFUND' })).map((c) => c.user.name)).toEqual(['Bert']);
    expect((await list({ q: 'Hi there' })).map((c) => c.user.name)).toEqual(['Shorty']);
    expect(await list({ q: 'no such thing' })).toEqual([]);
    // Empty parameters (an unset filter in the console) mean "any".
    expect((await list({ status: '', botId: '', q: '' })).length).toBe(4);
  });

  it('leaves out sessions past their expiry even before TTL deletes them', async () => {
    const { start, list, time } = await setup();
    await start('Shorty', 'short');
    await start('Stays');
    expect((await list()).map((c) => c.user.name).sort()).toEqual(['Shorty', 'Stays']);
    time.advance(61 * 1000);
    expect((await list()).map((c) => c.user.name)).toEqual(['Stays']);
  });

  it('rejects an unknown status with 400', async () => {
    const { asAgent } = await setup();
    const res = await asAgent(ANN, 'GET', '/agent/conversations', { query: { status: 'sleeping' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });
});

describe('GET /agent/conversations/{id}', () => {
  it('shows the transcript with /files links and inline images, without taking over', async () => {
    const { deps, start, userSays, webUpload, asAgent, list } = await setup();
    const s = await start('Pia');
    await userSays(s, { buttonIndex: 0 });
    const photo = samples.png(3, 2);
    const report = samples.pdf('Pia report');
    await userSays(s, { uploadIds: [await webUpload(s, { fileName: 'photo.png', contentType: 'image/png', body: photo })] });
    await userSays(s, { text: 'and a report', uploadIds: [await webUpload(s, { fileName: 'report.pdf', contentType: 'application/pdf', body: report })] });

    const res = await asAgent(ANN, 'GET', `/agent/conversations/${s.sessionId}`);
    expect(res.status).toBe(200);
    expect(res.body.conversation).toMatchObject({ sessionId: s.sessionId, status: 'live', operator: null });
    const files = (res.body.messages as MessageView[]).flatMap((m) => m.attachments ?? []);
    expect(files.map((f) => [f.fileName, f.contentType, f.size, (f as { inline?: boolean }).inline])).toEqual([
      ['photo.png', 'image/png', photo.length, true],
      ['report.pdf', 'application/pdf', report.length, false],
    ]);
    for (const [file, bytes] of [[files[0]!, photo], [files[1]!, report]] as const) {
      expect(file.url).toMatch(/^\/files\/ft\./);
      const url = await resolveFileLink(deps, file.url!.slice('/files/'.length));
      expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(bytes)).toBe(true);
    }
    // Opening changed nothing.
    expect((await deps.sessions.get(s.sessionId))?.operator).toBeUndefined();
    expect(statusOf(await list(), 'Pia')).toBe('live');

    // The cursor returns only what is new.
    const cursor = res.body.cursor as string;
    const again = await asAgent(ANN, 'GET', `/agent/conversations/${s.sessionId}`, { query: { after: cursor } });
    expect(again.body.messages).toEqual([]);
    expect(again.body.cursor).toBe(cursor);
    await userSays(s, { text: 'hello' });
    const newer = await asAgent(ANN, 'GET', `/agent/conversations/${s.sessionId}`, { query: { after: cursor } });
    expect((newer.body.messages as MessageView[]).map((m) => [m.from, m.text])).toEqual([
      ['user', 'hello'],
      ['bot', 'Please use the buttons.'],
    ]);
    expect(newer.body.conversation.lastMessage).toMatchObject({ from: 'bot', text: 'Please use the buttons.' });
  });

  it('is 404 for an unknown conversation and 410 for an expired one', async () => {
    const { start, asAgent, time } = await setup();
    const unknown = await asAgent(ANN, 'GET', '/agent/conversations/nope');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'conversation_not_found']);
    const s = await start('Shorty', 'short');
    time.advance(61 * 1000);
    for (const [method, path] of [
      ['GET', `/agent/conversations/${s.sessionId}`],
      ['POST', `/agent/conversations/${s.sessionId}/takeover`],
    ] as const) {
      const res = await asAgent(ANN, method, path);
      expect([res.status, res.body.error.code]).toEqual([410, 'session_expired']);
    }
  });
});

describe('takeover, agent messages and release', () => {
  it('one holder at a time; the bot sends startMessage and then stays silent until release', async () => {
    const { deps, start, userSays, userSees, asAgent, list, delivered } = await setup();
    const s = await start('Quinn');
    await list(); // Ann's console is open: she is online
    await userSays(s, { buttonIndex: 1 });
    expect((await userSees(s)).at(-1)).toMatchObject({ from: 'bot', text: 'Finding someone for you...' });
    expect((await deps.sessions.get(s.sessionId))?.waitingForAgentSince).toBeDefined();
    expect(statusOf(await list(), 'Quinn')).toBe('waiting_for_agent');

    const took = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/takeover`);
    expect(took.status).toBe(200);
    expect(took.body).toMatchObject({ sessionId: s.sessionId, operator: { agentId: 'ann-1', name: 'Ann' }, started: true });
    const session = (await deps.sessions.get(s.sessionId))!;
    expect(session.operator).toMatchObject({ agentId: 'ann-1', name: 'Ann' });
    expect(session.waitingForAgentSince).toBeUndefined();
    expect((await userSees(s)).at(-1)).toMatchObject({ from: 'bot', text: 'You are now chatting with Ann, Quinn.' });
    expect(delivered.at(-1)?.messages.map((m) => [m.from, m.text])).toEqual([['bot', 'You are now chatting with Ann, Quinn.']]);
    expect(statusOf(await list(), 'Quinn')).toBe('taken_over');

    // Someone else cannot take it; the holder taking it again changes nothing.
    const bob = await asAgent(BOB, 'POST', `/agent/conversations/${s.sessionId}/takeover`);
    expect([bob.status, bob.body.error.code]).toEqual([409, 'already_taken_over']);
    expect(bob.body.error.message).toContain('Ann');
    const again = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/takeover`);
    expect([again.status, again.body.started]).toEqual([200, false]);
    expect((await userSees(s)).filter((m) => m.text?.startsWith('You are now chatting')).length).toBe(1);

    // The bot stays silent: the user's text gets no default answer, their button no reply.
    const before = (await userSees(s)).length;
    await userSays(s, { text: 'Hi, are you there?' });
    expect((await userSees(s)).slice(before).map((m) => [m.from, m.text])).toEqual([['user', 'Hi, are you there?']]);

    // Only the holder speaks and releases.
    for (const [path, body] of [
      ['messages', { text: 'I am Bob' }],
      ['release', undefined],
      ['uploads', { fileName: 'a.pdf', size: 10, contentType: 'application/pdf' }],
    ] as const) {
      const res = await asAgent(BOB, 'POST', `/agent/conversations/${s.sessionId}/${path}`, { body });
      expect([res.status, res.body.error.code]).toEqual([409, 'not_holder']);
    }
    const said = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body: { text: 'Yes, Ann here.' } });
    expect(said.status).toBe(202);
    expect(said.body).toEqual({ delivered: true, warnings: [] });
    expect((await userSees(s)).at(-1)).toMatchObject({ from: 'agent', text: 'Yes, Ann here.', agent: { name: 'Ann' } });
    expect(delivered.at(-1)?.messages.map((m) => [m.from, m.text, m.agent?.name])).toEqual([['agent', 'Yes, Ann here.', 'Ann']]);

    // Release hands back to the bot, which asks again what it was waiting for: the menu, with
    // its buttons (issue 14), also to channels that are not polled.
    const beforeRelease = (await userSees(s)).length;
    const released = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/release`);
    expect(released.status).toBe(200);
    expect((await deps.sessions.get(s.sessionId))?.operator).toBeUndefined();
    expect(statusOf(await list(), 'Quinn')).toBe('live');
    const reasked = (await userSees(s)).slice(beforeRelease);
    expect(reasked.map((m) => [m.from, m.text, m.buttons])).toEqual([['bot', 'How can we help?', [{ label: 'Send a file' }, { label: 'Talk to a person' }]]]);
    expect(delivered.at(-1)?.messages.map((m) => [m.from, m.text, m.buttons?.length])).toEqual([['bot', 'How can we help?', 2]]);
    // Its buttons work; text still gets the default answer.
    await userSays(s, { text: 'thanks' });
    expect((await userSees(s)).at(-1)).toMatchObject({ from: 'bot', text: 'Please use the buttons.' });
    await userSays(s, { buttonIndex: 0 });
    expect((await userSees(s)).at(-1)).toMatchObject({ from: 'bot', text: 'Upload it here.' });
    const twice = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/release`);
    expect([twice.status, twice.body.error.code]).toEqual([409, 'not_holder']);
    const late = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body: { text: 'still here?' } });
    expect([late.status, late.body.error.code]).toEqual([409, 'not_holder']);
  });

  it('validates agent messages', async () => {
    const { start, asAgent } = await setup();
    const s = await start('Val');
    await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/takeover`);
    for (const body of [{}, { text: '   ' }, { text: 'x'.repeat(4001) }, { text: 'hi', extra: 1 }, { uploadIds: [] }]) {
      const res = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body });
      expect([res.status, res.body.error.code]).toEqual([400, 'invalid_request']);
    }
  });

  it('sends agent files: checked, not counted against the user, downloadable for 24 hours', async () => {
    const { deps, start, userSees, asAgent, time } = await setup();
    const s = await start('Rita');
    await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/takeover`);
    const answer = samples.pdf('Your answer');
    const slot = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/uploads`, {
      body: { fileName: 'answer.pdf', size: answer.length, contentType: 'application/pdf' },
    });
    expect(slot.status).toBe(201);
    expect(slot.body).toMatchObject({ uploadId: expect.any(String), url: expect.any(String), fields: expect.any(Object), expiresAt: expect.any(String) });
    await postToS3(slot.body, answer, 'answer.pdf');
    const sent = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body: { text: 'Here you go', uploadIds: [slot.body.uploadId] } });
    expect(sent.status).toBe(202);
    expect(sent.body.warnings).toEqual([]);

    const seen = (await userSees(s)).at(-1)!;
    expect(seen).toMatchObject({ from: 'agent', text: 'Here you go', agent: { name: 'Ann' } });
    const file = seen.attachments![0]!;
    expect([file.fileName, file.contentType, file.size]).toEqual(['answer.pdf', 'application/pdf', answer.length]);
    const record = (await deps.attachments.get(s.sessionId, file.id))!;
    expect(record.from).toBe('agent');
    expect(record.linkExpiresAt).toBe(Math.floor(time.now() / 1000) + 86400);
    expect((await deps.sessions.get(s.sessionId))?.attachmentCount ?? 0).toBe(0);

    // The agent's own view links with a token that itself expires after 24 hours.
    const view = await asAgent(ANN, 'GET', `/agent/conversations/${s.sessionId}`);
    const agentUrl: string = (view.body.messages as MessageView[]).at(-1)!.attachments![0]!.url!;
    const claims = deps.tokens.verify<FileClaims>(FILE_TOKEN, agentUrl.slice('/files/'.length))!;
    expect(claims).toMatchObject({ sid: s.sessionId, aid: file.id });
    expect(Math.abs(claims.exp! - (Math.floor(time.now() / 1000) + 86400))).toBeLessThanOrEqual(1);

    for (const url of [file.url!, agentUrl]) {
      const presigned = await resolveFileLink(deps, url.slice('/files/'.length));
      expect(Buffer.from(await (await fetch(presigned)).arrayBuffer()).equals(answer)).toBe(true);
    }
    time.advance(24 * 3600 * 1000 + 1000);
    for (const url of [file.url!, agentUrl]) {
      await expect(resolveFileLink(deps, url.slice('/files/'.length)).catch((err: unknown) => clientError(err)?.statusCode)).resolves.toBe(410);
    }
  });

  it('refuses agent files the bot does not accept, telling the agent only', async () => {
    const { start, userSees, asAgent } = await setup();
    const s = await start('Sam');
    await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/takeover`);
    const before = await userSees(s);

    const exe = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/uploads`, { body: { fileName: 'tool.exe', size: 100, contentType: 'application/octet-stream' } });
    expect([exe.status, exe.body.error.code]).toEqual([415, 'attachment_type_not_allowed']);
    const big = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/uploads`, { body: { fileName: 'big.pdf', size: 9 * 1024 * 1024, contentType: 'application/pdf' } });
    expect([big.status, big.body.error.code]).toEqual([413, 'attachment_too_large']);

    const fake = Buffer.from('this is not a PDF');
    const slot = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/uploads`, { body: { fileName: 'fake.pdf', size: fake.length, contentType: 'application/pdf' } });
    await postToS3(slot.body, fake, 'fake.pdf');
    const sent = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body: { uploadIds: [slot.body.uploadId] } });
    expect(sent.status).toBe(202);
    expect(sent.body.warnings).toEqual(['attachment_content_mismatch']);
    // A slot works once; a web user's slot id is not an agent's.
    const reused = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body: { uploadIds: [slot.body.uploadId] } });
    expect(reused.body.warnings).toEqual(['attachment_upload_failed']);
    expect(await userSees(s)).toEqual(before);
  });
});

describe('an agent message sent again with the same Idempotency-Key', () => {
  async function keyedSetup() {
    const ctx = await setup();
    const taken = async (name: string) => {
      const s = await ctx.start(name);
      expect((await ctx.asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/takeover`)).status).toBe(200);
      return s;
    };
    const sendKeyed = (s: WebSession, key: string, body: unknown, handler?: ReturnType<typeof createAgentHandler>) => {
      const event = httpEvent('POST', `/agent/conversations/${s.sessionId}/messages`, { body, headers: { 'Idempotency-Key': key } });
      event.requestContext.authorizer = { jwt: { claims: ANN } };
      return invoke(handler ?? createAgentHandler(async () => ctx.deps), event);
    };
    const agentTexts = async (s: WebSession) => (await ctx.userSees(s)).filter((m) => m.from === 'agent').map((m) => m.text);
    /** An agent function whose session store talks to DynamoDB through `send` (to fail or hold one request). */
    const agentWith = (send: (c: object, real: (c: object) => Promise<unknown>) => Promise<unknown>) => {
      const db = (ctx.deps.sessions as unknown as { db: { send(c: object): Promise<unknown> } }).db;
      const sessions = new SessionStore({ send: (c: object) => send(c, (x) => db.send(x)) } as never, ctx.deps.sessions.tableName);
      return createAgentHandler(async () => ({ ...ctx.deps, sessions: sessions as unknown as Deps['sessions'] }));
    };
    return { ...ctx, taken, sendKeyed, agentTexts, agentWith };
  }

  it('is written and answered once, files included; another key is another message; a bad key is 400', async () => {
    const { taken, sendKeyed, agentTexts, asAgent, userSees, deps } = await keyedSetup();
    const s = await taken('Ida');
    const answer = samples.pdf('Your answer');
    const slot = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/uploads`, {
      body: { fileName: 'answer.pdf', size: answer.length, contentType: 'application/pdf' },
    });
    await postToS3(slot.body, answer, 'answer.pdf');
    const body = { text: 'Here you go', uploadIds: [slot.body.uploadId] };
    for (let i = 0; i < 3; i++) {
      const sent = await sendKeyed(s, 'agent-key-1', body);
      expect([sent.status, sent.body]).toEqual([202, { delivered: true, warnings: [] }]);
    }
    const agentMessages = (await userSees(s)).filter((m) => m.from === 'agent');
    expect(agentMessages.map((m) => [m.text, m.attachments?.map((a) => a.fileName)])).toEqual([['Here you go', ['answer.pdf']]]);
    expect((await deps.sessions.get(s.sessionId))!.agentSeq).toBe((await deps.sessions.lastMessage(s.sessionId))!.seq);

    // Another key is another message, even with the same words; a bad key is 400 and writes nothing.
    expect((await sendKeyed(s, 'agent-key-2', { text: 'Here you go' })).status).toBe(202);
    const bad = await sendKeyed(s, 'no spaces', { text: 'x' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
    expect(await agentTexts(s)).toEqual(['Here you go', 'Here you go']);
  });

  it('a refused file gets the same answer again, not "upload failed" for a used slot', async () => {
    const { taken, sendKeyed, asAgent, userSees } = await keyedSetup();
    const s = await taken('Fay');
    const before = await userSees(s);
    const fake = Buffer.from('this is not a PDF');
    const slot = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/uploads`, { body: { fileName: 'fake.pdf', size: fake.length, contentType: 'application/pdf' } });
    await postToS3(slot.body, fake, 'fake.pdf');
    for (let i = 0; i < 2; i++) {
      const sent = await sendKeyed(s, 'k-fake', { uploadIds: [slot.body.uploadId] });
      expect([sent.status, sent.body.warnings]).toEqual([202, ['attachment_content_mismatch']]);
    }
    expect(await userSees(s)).toEqual(before);
  });

  it('writes the message at its place when the first request died after taking it', async () => {
    const { taken, sendKeyed, agentTexts, agentWith, deps } = await keyedSetup();
    const s = await taken('Dan');
    // The first request's put of the message fails (its Lambda dies, the network drops it).
    let failPuts = 1;
    const dying = agentWith((c, real) => (c.constructor.name === 'PutCommand' && failPuts-- > 0 ? Promise.reject(new Error('connection reset')) : real(c)));
    expect((await sendKeyed(s, 'k-3', { text: 'Still there?' }, dying)).status).toBe(500);
    const record = (await deps.sessions.get(s.sessionId))!;
    expect([record.agentKey, record.agentSeq]).toEqual([`${ANN.sub}:k-3`, record.lastSeq]);
    expect(await agentTexts(s)).toEqual([]); // the position is taken, nothing written there yet
    expect((await sendKeyed(s, 'k-3', { text: 'Still there?' })).status).toBe(202);
    expect(await agentTexts(s)).toEqual(['Still there?']);
    const seqs = (await deps.sessions.listMessages(s.sessionId)).map((m) => m.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // no gap, nothing after it
    expect(seqs.at(-1)).toBe(record.agentSeq);
  });

  it('writes the message once when a repeat overtakes the first request before its put', async () => {
    const { taken, sendKeyed, agentTexts, agentWith, deps } = await keyedSetup();
    const s = await taken('Ola');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holdPuts = 1;
    const slow = agentWith((c, real) => (c.constructor.name === 'PutCommand' && holdPuts-- > 0 ? held.then(() => real(c)) : real(c)));
    const first = sendKeyed(s, 'k-race', { text: 'Only once' }, slow);
    await expect.poll(() => deps.sessions.get(s.sessionId).then((x) => x?.agentKey), { timeout: 30_000 }).toBe(`${ANN.sub}:k-race`);
    expect((await sendKeyed(s, 'k-race', { text: 'Only once' })).status).toBe(202);
    release();
    expect((await first).status).toBe(202);
    expect(await agentTexts(s)).toEqual(['Only once']);
  });

  it('writes the message once when its place was closed as abandoned before a repeat, however often it is repeated', async () => {
    const { taken, sendKeyed, agentTexts, agentWith, userSays, time, deps } = await keyedSetup();
    const s = await taken('Vic');
    let failPuts = 1;
    const dying = agentWith((c, real) => (c.constructor.name === 'PutCommand' && failPuts-- > 0 ? Promise.reject(new Error('connection reset')) : real(c)));
    expect((await sendKeyed(s, 'k-void', { text: 'Still there?' }, dying)).status).toBe(500);
    const abandoned = (await deps.sessions.get(s.sessionId))!.agentSeq!;
    await userSays(s, { text: 'hello?' });
    time.advance(31_000);
    await agentTexts(s); // a reader closes the abandoned place
    // The console tries again (its automatic tries failed, so this is the agent's own resend), and its answer is lost again.
    for (let i = 0; i < 3; i++) expect((await sendKeyed(s, 'k-void', { text: 'Still there?' })).status).toBe(202);
    expect(await agentTexts(s)).toEqual(['Still there?']);
    const moved = (await deps.sessions.get(s.sessionId))!.agentSeq!;
    expect(moved).toBeGreaterThan(abandoned);
    expect((await deps.sessions.listMessages(s.sessionId)).find((m) => m.seq === moved)?.text).toBe('Still there?');
  });

  it("another agent's message with the same key is not a repeat of it", async () => {
    const { taken, sendKeyed, agentTexts, asAgent } = await keyedSetup();
    const s = await taken('Abe');
    expect((await sendKeyed(s, 'shared-key', { text: 'from Ann' })).status).toBe(202);
    expect((await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/release`)).status).toBe(200);
    expect((await asAgent(BOB, 'POST', `/agent/conversations/${s.sessionId}/takeover`)).status).toBe(200);
    const bob = await asAgent(BOB, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body: { text: 'from Bob' }, headers: { 'Idempotency-Key': 'shared-key' } });
    expect(bob.status).toBe(202);
    expect(await agentTexts(s)).toEqual(['from Ann', 'from Bob']);
  });

  it('a repeat overlapping its first request gets the same file outcome, and the kept file stays', async () => {
    const { taken, sendKeyed, asAgent, deps, userSees } = await keyedSetup();
    const s = await taken('Ovi');
    const answer = samples.pdf('Overlap');
    const slot = await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/uploads`, { body: { fileName: 'o.pdf', size: answer.length, contentType: 'application/pdf' } });
    await postToS3(slot.body, answer, 'o.pdf');
    // The repeat looks for a stored copy before the first request has made one, and copies the
    // upload only after the first request copied and deleted it.
    const real = deps.files;
    const gate = () => {
      let open!: () => void;
      return { done: new Promise<void>((r) => (open = r)), open: () => open() };
    };
    const firstAtCopy = gate();
    const firstMayCopy = gate();
    const firstDeleted = gate();
    let storedKey = '';
    const filesWith = (over: Partial<typeof real>) =>
      new Proxy(real, { get: (t, k) => (k in over ? over[k as keyof typeof over] : (t[k as keyof typeof t] as (...a: unknown[]) => unknown)?.bind?.(t) ?? t[k as keyof typeof t]) });
    const firstFiles = filesWith({
      copy: async (from, to, type) => {
        storedKey = to;
        firstAtCopy.open();
        await firstMayCopy.done;
        return real.copy(from, to, type);
      },
      delete: async (key) => {
        await real.delete(key);
        if (key !== storedKey) firstDeleted.open();
      },
    });
    const repeatFiles = filesWith({
      copy: async (from, to, type) => {
        firstMayCopy.open();
        await firstDeleted.done;
        return real.copy(from, to, type);
      },
    });
    const body = { uploadIds: [slot.body.uploadId] };
    const first = sendKeyed(s, 'k-ov', body, createAgentHandler(async () => ({ ...deps, files: firstFiles })));
    await firstAtCopy.done;
    const repeat = await sendKeyed(s, 'k-ov', body, createAgentHandler(async () => ({ ...deps, files: repeatFiles })));
    const answered = await first;
    expect([answered.status, answered.body.warnings, repeat.status, repeat.body.warnings]).toEqual([202, [], 202, []]);
    const files = (await userSees(s)).filter((m) => m.from === 'agent').map((m) => m.attachments?.map((a) => a.fileName));
    expect(files).toEqual([['o.pdf']]);
    expect(await real.size(storedKey)).toBe(answer.length);
  });

  it('a key names the newest agent message only: a message without one forgets it', async () => {
    const { taken, sendKeyed, agentTexts, asAgent, deps } = await keyedSetup();
    const s = await taken('Kit');
    expect((await sendKeyed(s, 'k-a', { text: 'one' })).status).toBe(202);
    expect((await asAgent(ANN, 'POST', `/agent/conversations/${s.sessionId}/messages`, { body: { text: 'two' } })).status).toBe(202);
    const record = (await deps.sessions.get(s.sessionId))!;
    expect([record.agentKey, record.agentSeq]).toEqual([undefined, undefined]);
    // The same key after another message is a new message.
    expect((await sendKeyed(s, 'k-a', { text: 'one' })).status).toBe(202);
    expect(await agentTexts(s)).toEqual(['one', 'two', 'one']);
  });
});

describe('presence and the Live Agent button', () => {
  it('an agent API call keeps the agent online for 60 seconds', async () => {
    const { deps, start, userSays, userSees, list, time } = await setup();
    expect(await anyAgentOnline(deps)).toBe(false);

    const early = await start('Early');
    await userSays(early, { buttonIndex: 1 });
    expect((await userSees(early)).slice(-2).map((m) => m.text)).toEqual(['Nobody is online; we will email you.', 'How can we help?']);
    // Nobody can answer, so the user is not left waiting (issue 14).
    expect((await deps.sessions.get(early.sessionId))?.waitingForAgentSince).toBeUndefined();
    expect(statusOf(await list(), 'Early')).toBe('live');

    // That list call put Ann online.
    time.advance(59_000);
    expect(await anyAgentOnline(deps)).toBe(true);
    const later = await start('Later');
    await userSays(later, { buttonIndex: 1 });
    expect((await userSees(later)).at(-1)?.text).toBe('Finding someone for you...');

    time.advance(2_000);
    expect(await anyAgentOnline(deps)).toBe(false);
    const last = await start('Last');
    await userSays(last, { buttonIndex: 1 });
    expect((await userSees(last)).at(-2)?.text).toBe('Nobody is online; we will email you.');
  });
});

describe('agent identity', () => {
  it('is 401 when the authorizer passed no claims', async () => {
    const { asAgent } = await setup();
    for (const claims of [undefined, { name: 'No subject' }]) {
      const res = await asAgent(claims as Record<string, string> | undefined, 'GET', '/agent/conversations');
      expect([res.status, res.body.error.code]).toEqual([401, 'unauthorized']);
    }
  });

  it('names the agent from name, else cognito:username, else email', async () => {
    const { deps, start, asAgent } = await setup();
    const cases: [Record<string, string>, string][] = [
      [{ sub: 'a', name: 'Ada Lovelace', 'cognito:username': 'ada' }, 'Ada Lovelace'],
      [{ sub: 'b', 'cognito:username': 'bert', email: 'bert@example.com' }, 'bert'],
      [{ sub: 'c', email: 'cleo@example.com' }, 'cleo@example.com'],
    ];
    for (const [claims, name] of cases) {
      const s = await start('X');
      expect((await asAgent(claims, 'POST', `/agent/conversations/${s.sessionId}/takeover`)).status).toBe(200);
      expect((await deps.sessions.get(s.sessionId))?.operator).toMatchObject({ agentId: claims.sub, name });
    }
  });
});
