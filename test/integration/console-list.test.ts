import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentHandler } from '../../functions/agent/handler';
import { createIntakeHandler } from '../../functions/intake/handler';
import type { ConversationView } from '../../shared/app/agent-conversations';
import { runFlowEvent } from '../../shared/app/run-flow';
import type { HttpEvent } from '../../shared/http/http-handler';
import { clock } from '../support/clock';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import { bearer, httpEvent, invoke } from '../support/http-events';
import * as samples from '../support/samples';
import { postToS3 } from '../support/web-user';

/**
 * What the agent console's list needs from the server (issue 14 point 4), against dynalite
 * and s3rver through the real SDK: search over names (the one given at start and a name the
 * user typed as an answer), every message and file names; "waiting since" (when the
 * conversation entered waiting, unchanged by later messages, gone after a takeover); and
 * `lastSeq`, the counter the console counts unread messages from.
 */
const menu = [
  { label: 'Send a file', next: 'ask-file' },
  { label: 'Talk to a person', liveAgent: true as const },
];
const bot = testBot({
  id: 'desk',
  name: 'Desk',
  sessionTimeoutSeconds: 7 * 86400,
  liveTakeover: { startMessage: 'You are chatting with {agent.name}.', confirmationMessage: 'Finding someone for you...' },
  start: 'nick',
  interactions: {
    nick: { type: 'question', text: 'What should we call you?', answerFormat: 'text', variable: 'nickname', next: 'menu' },
    menu: { type: 'message', text: 'Hi {nickname}, how can we help?', buttons: menu },
    'ask-file': { type: 'question', text: 'Upload it here.', answerFormat: 'attachment', variable: 'file', next: 'menu' },
  },
});

const ANN = { sub: 'ann-1', name: 'Ann' };
const MINUTE = 60_000;

let emu: TestEmulators;
beforeAll(async () => {
  emu = await startTestEmulators();
});
afterAll(async () => {
  await emu?.close();
});

async function setup() {
  const time = clock(Date.now());
  const deps = await freshDeps(emu, { bots: [bot], overrides: { now: time.now } });
  const intake = createIntakeHandler(async () => deps);
  const agent = createAgentHandler(async () => deps);
  const drain = () => deps.queue.drainInto((e) => runFlowEvent(deps, e));
  const start = async (userName?: string) => {
    const res = await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: bot.id, ...(userName && { userName }) } }));
    expect(res.status).toBe(201);
    await drain();
    return res.body as { sessionId: string; token: string };
  };
  const say = async (s: { sessionId: string; token: string }, body: unknown) => {
    const res = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), body }));
    expect(res.status).toBe(202);
    await drain();
  };
  const sendFile = async (s: { sessionId: string; token: string }, fileName: string) => {
    const pdf = samples.pdf(fileName);
    const upload = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/uploads`, { headers: bearer(s.token), body: { fileName, size: pdf.length, contentType: 'application/pdf' } }));
    expect(upload.status).toBe(201);
    await postToS3(upload.body, pdf, fileName);
    await say(s, { uploadIds: [upload.body.uploadId] });
  };
  const asAgent = async (method: 'GET' | 'POST', path: string, query?: Record<string, string>) => {
    const event: HttpEvent = httpEvent(method, path, query ? { query } : {});
    event.requestContext.authorizer = { jwt: { claims: ANN } };
    return invoke(agent, event);
  };
  const list = async (query: Record<string, string> = {}) => {
    const res = await asAgent('GET', '/agent/conversations', query);
    expect(res.status).toBe(200);
    return (res.body as { conversations: ConversationView[] }).conversations;
  };
  const ids = async (q: string) => (await list({ q })).map((c) => c.sessionId).sort();
  return { deps, time, start, say, sendFile, asAgent, list, ids };
}

describe('searching the agent list (issue 14)', () => {
  it('matches the name given at start, a nickname typed as an answer, an old message and a file name, case-insensitively', async () => {
    const { start, say, sendFile, ids } = await setup();
    const ada = await start('Ada Lovelace');
    const anon = await start();
    const other = await start('Bert');
    await say(ada, { text: 'Ada' });
    await say(anon, { text: 'Captain Skipper' });
    await say(other, { text: 'Bertie' });
    // Ada talks on: the word is in an old message, not the last one.
    await say(ada, { text: 'My parcel QX-90210 never arrived' });
    for (const text of ['hello?', 'anyone there', 'ok']) await say(ada, { text });
    // The nameless user sends a file, then keeps talking.
    await say(anon, { buttonIndex: 0 });
    await sendFile(anon, 'Invoice-March-2026.pdf');
    await say(anon, { text: 'that is all' });

    expect(await ids('lovelace')).toEqual([ada.sessionId]);
    expect(await ids('SKIPPER')).toEqual([anon.sessionId]);
    expect(await ids('qx-90210')).toEqual([ada.sessionId]);
    expect(await ids('invoice-march')).toEqual([anon.sessionId]);
    // A bot message every conversation got.
    expect(await ids('what should we call you')).toEqual([ada.sessionId, anon.sessionId, other.sessionId].sort());
    expect(await ids('no such words anywhere')).toEqual([]);
    expect(await ids('bertie')).toEqual([other.sessionId]);
  });

  it('refuses a search longer than 200 characters with 400 and a clear code', async () => {
    const { asAgent } = await setup();
    const res = await asAgent('GET', '/agent/conversations', { q: 'x'.repeat(201) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
  });
});

describe('waiting since and the unread counter (issue 14)', () => {
  it('records when a conversation entered waiting, keeps it through later messages and drops it on takeover', async () => {
    const { start, say, list, asAgent, time } = await setup();
    const s = await start('Quinn');
    await say(s, { text: 'Q' });
    await list(); // Ann's console is open: she is online, so the bot confirms and waits
    const asked = time.now();
    await say(s, { buttonIndex: 1 });
    let [c] = await list({ status: 'waiting_for_agent' });
    expect(c?.sessionId).toBe(s.sessionId);
    expect(c?.waitingForAgentSince).toBe(new Date(asked).toISOString());

    time.advance(3 * MINUTE);
    await say(s, { text: 'hello? still there?' });
    await say(s, { buttonIndex: 1 });
    [c] = await list({ status: 'waiting_for_agent' });
    expect(c?.waitingForAgentSince).toBe(new Date(asked).toISOString());

    const opened = await asAgent('GET', `/agent/conversations/${s.sessionId}`);
    expect(opened.body.conversation.waitingForAgentSince).toBe(new Date(asked).toISOString());

    expect((await asAgent('POST', `/agent/conversations/${s.sessionId}/takeover`)).status).toBe(200);
    [c] = await list();
    expect(c?.status).toBe('taken_over');
    expect(c?.waitingForAgentSince).toBeUndefined();
  });

  it('lastSeq counts the transcript: it matches the newest message id and grows with every message', async () => {
    const { start, say, list, asAgent } = await setup();
    const s = await start('Rae');
    const before = (await list())[0]!.lastSeq;
    const opened = await asAgent('GET', `/agent/conversations/${s.sessionId}`);
    expect(before).toBe(Number(opened.body.messages.at(-1).id));
    expect(before).toBe(opened.body.messages.length);
    await say(s, { text: 'Rae' });
    // The user's answer and the bot's menu.
    const after = (await list())[0]!.lastSeq;
    expect(after).toBe(before + 2);
    const again = await asAgent('GET', `/agent/conversations/${s.sessionId}`, { after: String(before) });
    expect(again.body.messages.map((m: { id: string }) => Number(m.id))).toEqual([before + 1, before + 2]);
  });

  it('shows the user’s message, activity and count once the turn has run, also when the bot stays silent (taken over)', async () => {
    const { start, say, list, asAgent, time } = await setup();
    const s = await start('Sol');
    await say(s, { text: 'Sol' });
    expect((await asAgent('POST', `/agent/conversations/${s.sessionId}/takeover`)).status).toBe(200);
    const before = (await list())[0]!;
    time.advance(2 * MINUTE);
    // Intake leaves the list's view to the turn (one index write per message); the bot says nothing.
    await say(s, { text: 'Is anyone reading this?' });
    const [c] = await list();
    expect(c).toMatchObject({ sessionId: s.sessionId, status: 'taken_over', lastMessage: { from: 'user', text: 'Is anyone reading this?' }, lastSeq: before.lastSeq + 1 });
    expect(c!.lastActivityAt).toBe(new Date(time.now()).toISOString());
    expect(Date.parse(c!.lastActivityAt)).toBeGreaterThan(Date.parse(before.lastActivityAt));
  });
});
