import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAgentHandler } from '../../functions/agent/handler';
import { createIntakeHandler } from '../../functions/intake/handler';
import { LOCAL_CREDENTIALS } from '../../shared/adapters/clients';
import { GAP_GRACE_MS, SEARCH_TEXT_LIMIT } from '../../shared/adapters/session-store';
import { CONVERSATION_LIST_ATTRIBUTES, messageSk, META, sessionPk } from '../../shared/adapters/table-layout';
import type { ConversationView } from '../../shared/app/agent-conversations';
import type { MessageView } from '../../shared/app/conversation';
import { runFlowEvent } from '../../shared/app/run-flow';
import { newSession } from '../../shared/domain/session';
import type { HttpEvent } from '../../shared/http/http-handler';
import { clock } from '../support/clock';
import { countingProxy, type CountingProxy } from '../support/counting-proxy';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import { bearer, httpEvent, invoke } from '../support/http-events';
import * as samples from '../support/samples';
import { postToS3 } from '../support/web-user';

/**
 * The storage cost bounds of SPEC 10 / issue 11, counted: every DynamoDB request any client
 * of any function makes goes through a counting proxy in front of dynalite, tallied by
 * operation (the `X-Amz-Target` header; test/support/counting-proxy.ts). Counts only, never timings.
 */

const bot = testBot({
  id: 'desk',
  name: 'Desk',
  sessionTimeoutSeconds: 7 * 86400,
  start: 'ask',
  interactions: {
    ask: { type: 'question', text: 'What can we do for you?', answerFormat: 'any', variable: 'need', next: 'noted' },
    noted: { type: 'message', text: 'Noted: {need}.' },
  },
});

/** A bot that asks the same question after every answer (its flow never ends). */
const loopBot = testBot({
  id: 'loop',
  name: 'Loop',
  sessionTimeoutSeconds: 7 * 86400,
  start: 'ask',
  interactions: { ask: { type: 'question', text: 'Noted. What else?', answerFormat: 'any', variable: 'need', next: 'ask' } },
});

const ANN = { sub: 'ann-1', name: 'Ann' };
const MINUTE = 60_000;

let emu: TestEmulators;
let proxy: CountingProxy;
beforeAll(async () => {
  emu = await startTestEmulators();
  proxy = await countingProxy(emu.dynamo.url);
});
afterAll(async () => {
  await proxy?.close();
  await emu?.close();
});

async function setup({ endpoint, ...opts }: { liveSockets?: boolean; endpoint?: string } = {}) {
  const time = clock(Date.now());
  const deps = await freshDeps(emu, { bots: [bot, loopBot], config: { DYNAMODB_ENDPOINT: endpoint ?? proxy.url }, overrides: { now: time.now }, ...opts });
  const intake = createIntakeHandler(async () => deps);
  const agent = createAgentHandler(async () => deps);
  const drain = () => deps.queue.drainInto((e) => runFlowEvent(deps, e));
  const start = async (userName: string) => {
    const res = await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: bot.id, userName } }));
    expect(res.status).toBe(201);
    return res.body as { sessionId: string; token: string };
  };
  const say = (s: { sessionId: string; token: string }, body: unknown, idempotencyKey?: string) =>
    invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: { ...bearer(s.token), ...(idempotencyKey && { 'idempotency-key': idempotencyKey }) }, body }));
  const poll = (s: { sessionId: string; token: string }, after?: string) =>
    invoke(intake, httpEvent('GET', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), ...(after !== undefined && { query: { after } }) }));
  const list = async (query: Record<string, string> = {}) => {
    const event: HttpEvent = httpEvent('GET', '/agent/conversations', { query });
    event.requestContext.authorizer = { jwt: { claims: ANN } };
    const res = await invoke(agent, event);
    expect(res.status).toBe(200);
    return res.body as { conversations: ConversationView[]; next: string | null };
  };
  return { deps, time, intake, drain, start, say, poll, list };
}

/** What the proxy counted since the last reset, by operation, then reset. */
function take(): { total: number; byOp: Record<string, number> } {
  const result = { total: proxy.total(), byOp: Object.fromEntries(proxy.counts) };
  proxy.reset();
  return result;
}

/** Creates `n` live conversations straight through the session store (one greeting each). */
async function seed(deps: Awaited<ReturnType<typeof setup>>['deps'], n: number, now: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + n; i += 25) {
    const batch = Array.from({ length: Math.min(25, from + n - i) }, (_, k) => i + k);
    await Promise.all(
      batch.map(async (k) => {
        const id = `seed-${String(k).padStart(5, '0')}-${deps.newId().slice(0, 8)}`;
        // Spread over the last hours so the list has an order to keep.
        const at = now - k * 1000;
        await deps.sessions.create(newSession({ id, bot, channel: 'web', userId: `web:${id}`, userName: `User ${k}`, now: at }));
        await deps.sessions.appendMessages(id, [{ from: 'bot', text: `Hello user ${k}` }], at);
        ids.push(id);
      }),
    );
  }
  return ids;
}

beforeEach(() => proxy.reset());

describe('DynamoDB requests on the data path (SPEC 10)', () => {
  it('a text message and the bot reply take at most 6, at most 2 before the 202, plus one queue send; an empty poll takes 1', async () => {
    const { deps, start, say, poll, drain } = await setup();

    const s = await start('Ada');
    const created = take();
    await drain();
    const greeted = take();
    // Reported, not bounded by the spec: creating the session and the greeting turn.
    console.info('session start: intake', created, 'turn', greeted);
    expect(created.total).toBe(1);
    expect(greeted.byOp.Query ?? 0).toBe(0);

    const first = await poll(s);
    expect(first.status).toBe(200);
    const cursor = first.body.cursor as string;
    expect((first.body.messages as MessageView[]).map((m) => m.text)).toEqual(['What can we do for you?']);
    take();

    // The user's message: intake answers 202 after at most 2 requests, with one queue send.
    const res = await say(s, { text: 'I lost my parcel' });
    expect(res.status).toBe(202);
    const beforeAccepted = take();
    expect(beforeAccepted.total).toBeLessThanOrEqual(2);
    expect(deps.queue.sent).toHaveLength(1);
    // The turn (first attempt): no query of the transcript.
    await drain();
    const turn = take();
    expect(turn.byOp.Query ?? 0).toBe(0);
    expect(beforeAccepted.total + turn.total).toBeLessThanOrEqual(6);
    console.info('message + reply: before 202', beforeAccepted, 'turn', turn);

    const after = await poll(s, cursor);
    expect((after.body.messages as MessageView[]).map((m) => [m.from, m.text])).toEqual([
      ['user', 'I lost my parcel'],
      ['bot', 'Noted: I lost my parcel.'],
    ]);
    take();

    // A poll that finds nothing new: one request (session check and messages together).
    const empty = await poll(s, after.body.cursor as string);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ messages: [], cursor: after.body.cursor, status: 'live' });
    const emptyPoll = take();
    expect(emptyPoll.total).toBeLessThanOrEqual(1);
    console.info('empty poll', emptyPoll);
  });

  it('with the user and an agent on sockets, the message and reply still take at most 6 (2 before the 202) and the user and the agent who has it open get them', async () => {
    const { deps, start, say, drain } = await setup({ liveSockets: true });
    const s = await start('Grace');
    await drain();
    const expiresAt = Math.floor(deps.now() / 1000) + 3600;
    await deps.sockets.add('user-conn', { kind: 'user', sessionId: s.sessionId }, expiresAt);
    await deps.sockets.add('agent-conn', { kind: 'agent', agentId: ANN.sub, name: ANN.name }, expiresAt);
    // Ann has the conversation open in her console; Bob's console has nothing open.
    await deps.sockets.add('other-agent-conn', { kind: 'agent', agentId: 'bob-1', name: 'Bob' }, expiresAt);
    await deps.sockets.watch(ANN.sub, s.sessionId, expiresAt);
    deps.posted.length = 0;
    take();

    // As the chat page sends it: with an Idempotency-Key, checked in the same conditional write.
    const res = await say(s, { text: 'Where is my refund?' }, 'page-key-1');
    expect(res.status).toBe(202);
    const beforeAccepted = take();
    expect(beforeAccepted.total).toBeLessThanOrEqual(2);
    expect(deps.posted).toEqual([]); // intake reads no connections; the turn pushes
    await drain();
    const turn = take();
    expect(beforeAccepted.total + turn.total).toBeLessThanOrEqual(6);
    console.info('message + reply with sockets: before 202', beforeAccepted, 'turn', turn);

    const texts = (connectionId: string) =>
      deps.posted
        .filter((p) => p.connectionId === connectionId)
        .flatMap((p) => (p.frame as { messages: MessageView[] }).messages.map((m) => `${m.from}:${m.text}`));
    expect(texts('user-conn')).toEqual(['user:Where is my refund?', 'bot:Noted: Where is my refund?.']);
    expect(texts('agent-conn')).toEqual(['user:Where is my refund?', 'bot:Noted: Where is my refund?.']);
    // Deliberate (issue 11 point 6): the bot's chatter reaches only consoles that have the conversation open.
    expect(texts('other-agent-conn')).toEqual([]);
    const agentFrame = deps.posted.find((p) => p.connectionId === 'agent-conn')!.frame as { type: string; conversation: { sessionId: string } };
    expect(agentFrame).toMatchObject({ type: 'conversation', conversation: { sessionId: s.sessionId } });
  });

  it('keeps the session record compact: a text already searchable is not added again, the search text stops at its limit, and saving the flow leaves the index alone', async () => {
    // A proxy that keeps each request's body.
    const logged = await countingProxy(emu.dynamo.url, { capacity: true });
    const { deps, intake, say, drain } = await setup({ endpoint: logged.url });
    const s = (await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: loopBot.id, userName: 'Lin' } }))).body as { sessionId: string; token: string };
    await drain();
    // The bot asks the same question every turn, and the user repeats herself.
    for (let i = 0; i < 3; i++) {
      expect((await say(s, { text: 'Where is my parcel?' })).status).toBe(202);
      await drain();
    }
    const once = (await deps.sessions.get(s.sessionId))!;
    expect(once.searchText!.filter((t) => t === 'where is my parcel?')).toHaveLength(1);
    expect(once.searchText!.filter((t) => t === 'noted. what else?')).toHaveLength(1);
    // Fifty distinct messages: the search text stops growing at its limit (issue 11 point 6).
    for (let i = 0; i < 50; i++) {
      expect((await say(s, { text: `Tracking number ${String(i).padStart(3, '0')} ${'x'.repeat(40)}` })).status).toBe(202);
      logged.reset();
      await drain();
    }
    const later = (await deps.sessions.get(s.sessionId))!;
    expect(later.searchSize).toBeLessThanOrEqual(SEARCH_TEXT_LIMIT);
    expect(later.searchText!.join('').length).toBeLessThanOrEqual(SEARCH_TEXT_LIMIT);
    // The last turn's writes of the session record: none sets defaultAnswers (unchanged), so
    // saving the flow changes nothing the conversations index projects but what the list shows.
    // Intake's update (the user's activity, the counter) names nothing the conversations index
    // projects, so it costs the index no write (the turn's transcript write refreshes the list).
    logged.reset();
    expect((await say(s, { text: 'One more thing' })).status).toBe(202);
    const intakeUpdate = logged.log.find((r) => r.op === 'UpdateItem' && r.body.Key?.sk?.S === META)!;
    const projected = new Set<string>(CONVERSATION_LIST_ATTRIBUTES);
    expect(Object.values(intakeUpdate.body.ExpressionAttributeNames as Record<string, string>).filter((n) => projected.has(n))).toEqual([]);
    logged.reset();
    await drain();
    const metaUpdates = logged.log.filter((r) => r.op === 'UpdateItem' && r.body.Key?.sk?.S === META);
    expect(metaUpdates.length).toBeGreaterThan(0);
    for (const r of metaUpdates) expect(Object.values(r.body.ExpressionAttributeNames ?? {})).not.toContain('defaultAnswers');
    await logged.close();
  });

  it('keeps the cheap path for a button press and still refuses one that is not offered', async () => {
    const menuBot = testBot({
      id: 'menu',
      start: 'menu',
      interactions: {
        menu: { type: 'message', text: 'Pick one', buttons: [{ label: 'Track', next: 'track' }, { label: 'Other', next: 'menu' }] },
        track: { type: 'message', text: 'Tracking.' },
      },
    });
    const deps = await freshDeps(emu, { bots: [menuBot], config: { DYNAMODB_ENDPOINT: proxy.url } });
    const intake = createIntakeHandler(async () => deps);
    const s = (await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: 'menu' } }))).body as { sessionId: string; token: string };
    await deps.queue.drainInto((e) => runFlowEvent(deps, e));
    take();
    const pressed = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), body: { buttonIndex: 0 } }));
    expect(pressed.status).toBe(202);
    expect(take().total).toBeLessThanOrEqual(2);
    const wrong = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), body: { buttonIndex: 5 } }));
    expect([wrong.status, wrong.body.error.code]).toEqual([400, 'invalid_request']);
    await deps.queue.drainInto((e) => runFlowEvent(deps, e));
    const texts = (await deps.sessions.listMessages(s.sessionId)).map((m) => [m.from, m.text]);
    expect(texts).toEqual([
      ['bot', 'Pick one'],
      ['user', 'Track'],
      ['bot', 'Tracking.'],
    ]);
  });
});

describe('GET /agent/conversations requests (SPEC 10)', () => {
  it('takes at most 3 requests, presence mark included, at 10, 100 and 1,000 conversations, and pages through each once', async () => {
    const { deps, time, list } = await setup();
    const now = time.now();
    const ids: string[] = [];
    for (const size of [10, 100, 1000]) {
      ids.push(...(await seed(deps, size - ids.length, now, ids.length)));
      take();
      const page = await list();
      const cost = take();
      console.info(`agent list at ${size} conversations`, cost);
      expect(cost.total).toBeLessThanOrEqual(3);
      expect(cost.byOp.PutItem).toBe(1); // the presence mark
      expect(page.conversations).toHaveLength(Math.min(size, 100));
      // Newest activity first.
      const times = page.conversations.map((c) => c.lastActivityAt);
      expect([...times].sort().reverse()).toEqual(times);

      // Paging returns every conversation exactly once, in order, each call within the bound.
      const seen: string[] = [];
      let cursor: string | null = null;
      let calls = 0;
      do {
        const p: { conversations: ConversationView[]; next: string | null } = await list({ limit: size === 10 ? '3' : '100', ...(cursor && { cursor }) });
        expect(take().total).toBeLessThanOrEqual(3);
        seen.push(...p.conversations.map((c) => c.sessionId));
        cursor = p.next;
        expect(++calls).toBeLessThan(100);
      } while (cursor);
      expect(seen).toHaveLength(size);
      expect(new Set(seen)).toEqual(new Set(ids));
    }
  }, 120_000);

  it('pages a filtered list (status, bot) completely, each conversation once', async () => {
    const { deps, time, list } = await setup();
    const ids = await seed(deps, 60, time.now());
    // Activity more than 5 minutes old makes the older half stalled.
    time.advance(6 * MINUTE);
    const fresh = await seed(deps, 30, time.now(), 60);
    take();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const p: { conversations: ConversationView[]; next: string | null } = await list({ status: 'live', botId: bot.id, limit: '7', ...(cursor && { cursor }) });
      expect(take().total).toBeLessThanOrEqual(3);
      expect(p.conversations.every((c) => c.status === 'live')).toBe(true);
      seen.push(...p.conversations.map((c) => c.sessionId));
      cursor = p.next;
    } while (cursor);
    expect(seen.sort()).toEqual([...fresh].sort());
    expect(ids).toHaveLength(60);
  });

  it('rejects a cursor it did not give with 400', async () => {
    const { list, deps } = await setup();
    const agent = createAgentHandler(async () => deps);
    const event: HttpEvent = httpEvent('GET', '/agent/conversations', { query: { cursor: 'bm9wZQ' } });
    event.requestContext.authorizer = { jwt: { claims: ANN } };
    const res = await invoke(agent, event);
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_request']);
    expect((await list()).next).toBeNull();
  });

  it('searches every message text and file name of a conversation, not only the last message', async () => {
    const { deps, start, say, drain, list } = await setup();
    const intake = createIntakeHandler(async () => deps);
    const ada = await start('Ada');
    const bob = await start('Bob');
    await drain();
    expect((await say(ada, { text: 'Parcel ZX-4471 never arrived' })).status).toBe(202);
    await drain();
    expect((await say(ada, { text: 'Any news?' })).status).toBe(202);
    await drain();
    // Bob sends a file, then talks on.
    const pdf = samples.pdf('Tax return');
    const upload = await invoke(intake, httpEvent('POST', `/web/sessions/${bob.sessionId}/uploads`, { headers: bearer(bob.token), body: { fileName: 'tax-return-2024.pdf', size: pdf.length, contentType: 'application/pdf' } }));
    expect(upload.status).toBe(201);
    await postToS3(upload.body, pdf, 'tax-return-2024.pdf');
    expect((await say(bob, { uploadIds: [upload.body.uploadId] })).status).toBe(202);
    await drain();
    expect((await say(bob, { text: 'thanks' })).status).toBe(202);
    await drain();
    take();

    const byOldText = await list({ q: 'zx-4471' });
    expect(take().total).toBeLessThanOrEqual(3);
    expect(byOldText.conversations.map((c) => c.sessionId)).toEqual([ada.sessionId]);
    // Found by an older message: the last one says something else.
    expect(byOldText.conversations[0]!.lastMessage?.text).not.toMatch(/zx-4471/i);
    expect((await list({ q: 'TAX-RETURN' })).conversations.map((c) => c.sessionId)).toEqual([bob.sessionId]);
    expect((await list({ q: 'What can we do' })).conversations.map((c) => c.sessionId).sort()).toEqual([ada.sessionId, bob.sessionId].sort());
    expect((await list({ q: 'bob' })).conversations.map((c) => c.sessionId)).toEqual([bob.sessionId]);
    expect((await list({ q: 'nothing like this' })).conversations).toEqual([]);
  });
});

describe('a poll never skips a message written late (hazard: out-of-order puts)', () => {
  it('waits at a taken but unwritten position, shows it when it lands, and steps over it only once abandoned', async () => {
    const { deps, time, start, drain, poll } = await setup();
    const s = await start('Ada');
    await drain();
    const raw = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: emu.dynamo.url, credentials: LOCAL_CREDENTIALS }));
    const table = deps.sessions.tableName;
    const first = await poll(s);
    const cursor = first.body.cursor as string;

    /** A writer that takes a position and has not written it yet (or died). */
    const takePosition = async () =>
      Number(
        (
          await raw.send(
            new UpdateCommand({ TableName: table, Key: { pk: sessionPk(s.sessionId), sk: META }, UpdateExpression: 'SET lastSeq = lastSeq + :one', ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'UPDATED_NEW' }),
          )
        ).Attributes!.lastSeq,
      );

    // Writer A takes a position; writer B appends after it and lands first.
    const slow = await takePosition();
    await deps.sessions.appendMessages(s.sessionId, [{ from: 'agent', text: 'B was faster' }], time.now());
    const waiting = await poll(s, cursor);
    expect(waiting.body).toMatchObject({ messages: [], cursor });
    // A lands within the grace: readers get both, in order.
    await raw.send(new PutCommand({ TableName: table, Item: { pk: sessionPk(s.sessionId), sk: messageSk(slow), from: 'agent', text: 'A was slow', seq: slow, at: time.now() } }));
    const both = await poll(s, cursor);
    expect((both.body.messages as MessageView[]).map((m) => m.text)).toEqual(['A was slow', 'B was faster']);

    // Writer C takes a position and dies; D's message after it waits out the grace, then shows.
    const dead = await takePosition();
    await deps.sessions.appendMessages(s.sessionId, [{ from: 'agent', text: 'D after a crash' }], time.now());
    const held = await poll(s, both.body.cursor as string);
    expect(held.body.messages).toEqual([]);
    time.advance(GAP_GRACE_MS);
    const stepped = await poll(s, both.body.cursor as string);
    expect((stepped.body.messages as MessageView[]).map((m) => m.text)).toEqual(['D after a crash']);
    // The abandoned position is closed for good: a late put there is refused (appendMessages
    // then takes a new position, so nothing is lost behind a reader's cursor).
    const closed = await raw.send(new GetCommand({ TableName: table, Key: { pk: sessionPk(s.sessionId), sk: messageSk(dead) } }));
    expect(closed.Item).toMatchObject({ seq: dead, void: true });
    await expect(
      raw.send(new PutCommand({ TableName: table, Item: { pk: sessionPk(s.sessionId), sk: messageSk(dead), from: 'agent', text: 'too late', seq: dead, at: time.now() }, ConditionExpression: 'attribute_not_exists(sk)' })),
    ).rejects.toThrow(/conditional/i);
    // Every reader path agrees, and the void never shows.
    expect((await deps.sessions.listMessages(s.sessionId)).map((m) => m.text)).toEqual(['What can we do for you?', 'A was slow', 'B was faster', 'D after a crash']);
    expect((await poll(s, stepped.body.cursor as string)).body.messages).toEqual([]);
  });
});
