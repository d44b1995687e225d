import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SQSEvent } from 'aws-lambda';
import { createActionsHandler } from '../../functions/actions/handler';
import { createExpiryHandler } from '../../functions/expiry/handler';
import { createIntakeHandler } from '../../functions/intake/handler';
import type { Deps } from '../support/emulators';
import { runFlowEvent } from '../../shared/app/run-flow';
import { SessionRecords } from '../../shared/adapters/session-records';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import { bearer, httpEvent, invoke } from '../support/http-events';
import { clock } from '../support/clock';
import { sqsRecord } from '../support/sqs';

const bot = testBot({
  id: 'shop',
  name: 'Shop',
  sessionTimeoutSeconds: 600,
  defaultAnswer: 'Pardon?',
  start: 'menu',
  interactions: {
    menu: { type: 'message', text: 'Hi {user.name}', buttons: [{ label: 'Name', next: 'ask' }] },
    ask: { type: 'question', text: 'Your name?', answerFormat: 'text', variable: 'nick', next: 'done' },
    done: { type: 'message', text: 'Thanks {nick}' },
  },
});

let emu: TestEmulators;
beforeAll(async () => {
  emu = await startTestEmulators();
});
afterAll(async () => {
  await emu?.close();
});

async function setup() {
  const time = clock();
  const deps = await freshDeps(emu, { bots: [bot], overrides: { now: time.now } });
  const intake = createIntakeHandler(async () => deps);
  const drain = () => deps.queue.drainInto((e) => runFlowEvent(deps, e));
  const start = async (userName?: string) => {
    const res = await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: 'shop', userName } }));
    expect(res.status).toBe(201);
    await drain();
    return res.body as { sessionId: string; token: string; expiresAt: string };
  };
  const read = async (s: { sessionId: string; token: string }, after?: string) =>
    invoke(intake, httpEvent('GET', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), query: after ? { after } : undefined }));
  const post = async (s: { sessionId: string; token: string }, body: unknown) =>
    invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), body }));
  return { deps, intake, time, drain, start, read, post };
}

describe('web channel against DynamoDB (dynalite)', () => {
  it('serves the bot config with its effective attachment rules', async () => {
    const { intake } = await setup();
    const res = await invoke(intake, httpEvent('GET', '/web/bots/shop/config'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ botId: 'shop', name: 'Shop', attachments: { allowedTypes: bot.attachments.allowedTypes, sizeLimitBytes: 8388608, limitPerConversation: null } });
  });

  it('strips line breaks and bidi controls from user names, and refuses names with nothing visible', async () => {
    const { intake, deps } = await setup();
    const res = await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: 'shop', userName: 'Eve\r\nFile: fake.pdf\u202e' } }));
    expect(res.status).toBe(201);
    expect((await deps.sessions.get(res.body.sessionId))!.userName).toBe('EveFile: fake.pdf');
    const blank = await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: 'shop', userName: '\u202e\n' } }));
    expect(blank.status).toBe(400);
  });

  it('holds a conversation: start, buttons, question, placeholders, cursor', async () => {
    const { start, read, post, drain, time } = await setup();
    const s = await start('Ann');
    expect(new Date(s.expiresAt).getTime()).toBe(time.now() + 600_000);

    const first = await read(s);
    expect(first.status).toBe(200);
    expect(first.body.messages).toEqual([{ id: '1', from: 'bot', text: 'Hi Ann', buttons: [{ label: 'Name' }], at: expect.any(String) }]);
    expect(first.body.cursor).toBe('1');
    expect(first.body.status).toBe('live');

    expect((await post(s, { buttonIndex: 0 })).status).toBe(202);
    await drain();
    expect((await post(s, { text: 'Annie' })).status).toBe(202);
    await drain();

    const rest = await read(s, first.body.cursor);
    expect(rest.body.messages.map((m: { from: string; text: string }) => `${m.from}: ${m.text}`)).toEqual([
      'user: Name',
      'bot: Your name?',
      'user: Annie',
      'bot: Thanks Annie',
    ]);
    expect(rest.body.cursor).toBe('5');
    expect((await read(s, rest.body.cursor)).body.messages).toEqual([]);
  });

  it('slides the expiry with user activity and answers 410 once it passes, before any deletion', async () => {
    const { start, read, post, time, deps } = await setup();
    const s = await start();
    time.advance(500_000);
    expect((await post(s, { text: 'still here' })).status).toBe(202);
    const session = await deps.sessions.get(s.sessionId);
    expect(session!.expiresAt * 1000).toBe(time.now() + 600_000);
    time.advance(599_000);
    expect((await read(s)).status).toBe(200);
    time.advance(1_000);
    const gone = await read(s);
    expect(gone.status).toBe(410);
    expect(gone.body).toEqual({ error: { code: 'session_expired', message: expect.any(String) } });
    expect((await post(s, { text: 'hello?' })).status).toBe(410);
    // The record is still there: 410 does not wait for TTL.
    expect(await deps.sessions.get(s.sessionId)).toBeDefined();
  });

  it('gives the default answer for text where buttons are expected and counts it', async () => {
    const { start, post, drain, read, deps } = await setup();
    const s = await start();
    await post(s, { text: 'what?' });
    await drain();
    const msgs = (await read(s, '1')).body.messages;
    expect(msgs.map((m: { text: string }) => m.text)).toEqual(['what?', 'Pardon?']);
    expect((await deps.sessions.get(s.sessionId))!.flow.defaultAnswers).toBe(1);
  });

  describe('bad input', () => {
    it('400 invalid_request for malformed JSON and invalid bodies, nothing stored', async () => {
      const { intake, start, deps } = await setup();
      const bad = await invoke(intake, httpEvent('POST', '/web/sessions', { rawBody: '{"botId": ' }));
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
      expect((await invoke(intake, httpEvent('POST', '/web/sessions', { body: { bot: 'shop' } }))).body.error.code).toBe('invalid_request');
      const s = await start();
      for (const body of [{}, { text: '   ' }, { buttonIndex: -1 }, { buttonIndex: 0, text: 'x' }, { text: 5 }]) {
        const res = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), body }));
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
      const raw = await invoke(intake, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: bearer(s.token), rawBody: 'not json' }));
      expect(raw.status).toBe(400);
      expect(await deps.sessions.listMessages(s.sessionId)).toHaveLength(1); // only the greeting
      expect(deps.queue.sent).toHaveLength(0);
    });

    it('still takes a button press after the default answer (buttons of the newest message that has any)', async () => {
      const { start, post, drain, read } = await setup();
      const s = await start();
      expect((await post(s, { text: 'hi' })).status).toBe(202);
      await drain();
      expect((await post(s, { buttonIndex: 0 })).status).toBe(202);
      await drain();
      const texts = (await read(s)).body.messages.map((m: { text?: string }) => m.text);
      expect(texts).toEqual(['Hi ', 'hi', 'Pardon?', 'Name', 'Your name?']);
    });

    it('400 for a button the bot is not offering', async () => {
      const { start, post } = await setup();
      const s = await start();
      const res = await post(s, { buttonIndex: 3 });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    });

    it('404 bot_not_found for an unknown bot', async () => {
      const { intake } = await setup();
      const created = await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: 'nope' } }));
      expect(created.status).toBe(404);
      expect(created.body.error.code).toBe('bot_not_found');
      expect((await invoke(intake, httpEvent('GET', '/web/bots/nope/config'))).status).toBe(404);
    });

    it('401 for a missing or wrong token, and for another session\'s token', async () => {
      const { intake, start, post } = await setup();
      const a = await start();
      const b = await start();
      const path = `/web/sessions/${a.sessionId}/messages`;
      const none = await invoke(intake, httpEvent('GET', path));
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('unauthorized');
      expect((await invoke(intake, httpEvent('GET', path, { headers: bearer('st.e30.AAAA') }))).status).toBe(401);
      expect((await invoke(intake, httpEvent('GET', path, { headers: { authorization: a.token } }))).status).toBe(401);
      expect((await invoke(intake, httpEvent('GET', path, { headers: bearer(b.token) }))).status).toBe(401);
      expect((await post({ sessionId: a.sessionId, token: b.token }, { text: 'x' })).status).toBe(401);
    });

    it('404 JSON for an unknown route', async () => {
      const { intake } = await setup();
      const res = await invoke(intake, httpEvent('GET', '/no/such/route'));
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 'not_found', message: expect.stringContaining('/no/such/route') } });
    });

    it('500 without internals when storage fails', async () => {
      const { deps } = await setup();
      const broken = createIntakeHandler(async () => ({ ...deps, sessions: { create: async () => { throw new Error('secret table detail'); } } as unknown as Deps['sessions'] }));
      const res = await invoke(broken, httpEvent('POST', '/web/sessions', { body: { botId: 'shop' } }));
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain('secret table detail');
      expect(res.body.error.code).toBe('internal_error');
    });
  });
});

describe('a message sent again with the same Idempotency-Key', () => {
  async function keyedSetup() {
    const ctx = await setup();
    const postKeyed = (s: { sessionId: string; token: string }, key: string, body: unknown, handler = ctx.intake) =>
      invoke(handler, httpEvent('POST', `/web/sessions/${s.sessionId}/messages`, { headers: { ...bearer(s.token), 'Idempotency-Key': key }, body }));
    const texts = async (s: { sessionId: string; token: string }) =>
      (await ctx.read(s)).body.messages.map((m: { from: string; text?: string }) => `${m.from}: ${m.text}`);
    return { ...ctx, postKeyed, texts };
  }

  it('is recorded and answered once, before and after its turn ran', async () => {
    const { start, postKeyed, drain, texts, deps } = await keyedSetup();
    const s = await start();
    expect((await postKeyed(s, 'k-1', { text: 'hello' })).status).toBe(202);
    expect((await postKeyed(s, 'k-1', { text: 'hello' })).status).toBe(202);
    // Both requests queue the turn under one deduplication id (SQS drops the second copy;
    // this recording queue keeps it, and the turn already run for that id does nothing).
    expect(new Set(deps.queue.sent.map((e) => e.dedupId)).size).toBe(1);
    await drain();
    expect((await postKeyed(s, 'k-1', { text: 'hello' })).status).toBe(202);
    await drain();
    expect(await texts(s)).toEqual(['bot: Hi ', 'user: hello', 'bot: Pardon?']);
    // Another key is another message, even with the same words.
    expect((await postKeyed(s, 'k-2', { text: 'hello' })).status).toBe(202);
    await drain();
    expect(await texts(s)).toEqual(['bot: Hi ', 'user: hello', 'bot: Pardon?', 'user: hello', 'bot: Pardon?']);
    expect((await deps.sessions.get(s.sessionId))!.flow.defaultAnswers).toBe(2);
  });

  it('sends the turn a first request could not queue, without writing the message twice', async () => {
    const { deps, start, postKeyed, drain, texts } = await keyedSetup();
    const s = await start();
    let down = true;
    const queueDown = createIntakeHandler(async () => ({
      ...deps,
      events: { send: async (...args: Parameters<Deps['events']['send']>) => (down ? Promise.reject(new Error('queue unavailable')) : deps.queue.send(...args)) },
    }));
    expect((await postKeyed(s, 'k-9', { text: 'hello' }, queueDown)).status).toBe(500);
    expect(deps.queue.sent).toHaveLength(0);
    down = false;
    expect((await postKeyed(s, 'k-9', { text: 'hello' }, queueDown)).status).toBe(202);
    expect(deps.queue.sent).toHaveLength(1);
    await drain();
    expect(await texts(s)).toEqual(['bot: Hi ', 'user: hello', 'bot: Pardon?']);
  });

  it('writes the message at its place when the first request died after taking it', async () => {
    const { deps, start, postKeyed, drain, texts } = await keyedSetup();
    const s = await start();
    // The first request's put of the message fails (its Lambda dies, the network drops it).
    const db = (deps.sessions as unknown as { db: { send(c: object): Promise<unknown> } }).db;
    let failPuts = 1;
    const flaky = { send: (c: object) => (c.constructor.name === 'PutCommand' && failPuts-- > 0 ? Promise.reject(new Error('connection reset')) : db.send(c)) };
    const dying = createIntakeHandler(async () => ({ ...deps, sessions: new SessionRecords(flaky as never, deps.sessions.tableName) as unknown as Deps['sessions'] }));
    expect((await postKeyed(s, 'k-3', { buttonIndex: 0 }, dying)).status).toBe(500);
    const taken = (await deps.sessions.get(s.sessionId))!;
    expect(taken.clientSeq).toBe(2);
    expect(await texts(s)).toEqual(['bot: Hi ']); // position 2 taken, nothing written there yet
    expect((await postKeyed(s, 'k-3', { buttonIndex: 0 })).status).toBe(202);
    await drain();
    expect(await texts(s)).toEqual(['bot: Hi ', 'user: Name', 'bot: Your name?']);
    expect((await deps.sessions.listMessages(s.sessionId)).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('writes the message once when its place was closed as abandoned before a repeat, however often it is repeated', async () => {
    const { deps, start, postKeyed, drain, texts, time } = await keyedSetup();
    const s = await start();
    const db = (deps.sessions as unknown as { db: { send(c: object): Promise<unknown> } }).db;
    let failPuts = 1;
    const flaky = { send: (c: object) => (c.constructor.name === 'PutCommand' && failPuts-- > 0 ? Promise.reject(new Error('connection reset')) : db.send(c)) };
    const dying = createIntakeHandler(async () => ({ ...deps, sessions: new SessionRecords(flaky as never, deps.sessions.tableName) as unknown as Deps['sessions'] }));
    expect((await postKeyed(s, 'k-void', { text: 'hello' }, dying)).status).toBe(500);
    // Something is written after the empty place, and a reader closes it once it is old enough.
    await deps.sessions.appendMessages(s.sessionId, [{ from: 'bot', text: 'Meanwhile' }], time.now());
    time.advance(31_000);
    expect(await texts(s)).toEqual(['bot: Hi ', 'bot: Meanwhile']);
    for (let i = 0; i < 3; i++) expect((await postKeyed(s, 'k-void', { text: 'hello' })).status).toBe(202);
    await drain();
    expect(await texts(s)).toEqual(['bot: Hi ', 'bot: Meanwhile', 'user: hello', 'bot: Pardon?']);
  });

  it('writes the message once when a repeat overtakes the first request before its put', async () => {
    const { deps, start, postKeyed, drain, texts } = await keyedSetup();
    const s = await start();
    // The first request's put of the message waits until the repeat has been answered.
    const db = (deps.sessions as unknown as { db: { send(c: object): Promise<unknown> } }).db;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holdPuts = 1;
    const slow = { send: async (c: object) => (c.constructor.name === 'PutCommand' && holdPuts-- > 0 ? held.then(() => db.send(c)) : db.send(c)) };
    const slowIntake = createIntakeHandler(async () => ({ ...deps, sessions: new SessionRecords(slow as never, deps.sessions.tableName) as unknown as Deps['sessions'] }));
    const first = postKeyed(s, 'k-race', { text: 'hello' }, slowIntake);
    await expect.poll(() => deps.sessions.get(s.sessionId).then((x) => x?.clientKey), { timeout: 30_000 }).toBe('k-race');
    expect((await postKeyed(s, 'k-race', { text: 'hello' })).status).toBe(202);
    release();
    expect((await first).status).toBe(202);
    expect(new Set(deps.queue.sent.map((e) => e.dedupId)).size).toBe(1);
    await drain();
    expect(await texts(s)).toEqual(['bot: Hi ', 'user: hello', 'bot: Pardon?']);
  });

  it('a key names the newest message only: a message without one clears it, and a key used again later is a new message with its own turn', async () => {
    const { deps, start, postKeyed, post, drain: run, texts } = await keyedSetup();
    const s = await start();
    // The event ids each message was queued under.
    const ids: string[] = [];
    const drain = async () => {
      ids.push(...deps.queue.sent.map((e) => e.dedupId));
      await run();
    };
    expect((await postKeyed(s, 'k-a', { text: 'yes' })).status).toBe(202);
    await drain();
    expect((await post(s, { text: 'no' })).status).toBe(202);
    await drain();
    expect((await deps.sessions.get(s.sessionId))!.clientKey).toBeUndefined();
    // The same key after another message: recorded and answered again (the page never does this).
    expect((await postKeyed(s, 'k-a', { text: 'yes' })).status).toBe(202);
    await drain();
    expect((await postKeyed(s, 'k-b', { text: 'maybe' })).status).toBe(202);
    await drain();
    expect((await postKeyed(s, 'k-a', { text: 'yes' })).status).toBe(202);
    await drain();
    expect(await texts(s)).toEqual([
      'bot: Hi ',
      ...['yes', 'no', 'yes', 'maybe', 'yes'].flatMap((t) => [`user: ${t}`, 'bot: Pardon?']),
    ]);
    expect((await deps.sessions.get(s.sessionId))!.flow.defaultAnswers).toBe(5);
    // Each under its own event id: SQS drops a second message under one id for 5 minutes.
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
  });

  it('repeats of a message of files only queue its turn once', async () => {
    const { start, postKeyed, drain, texts, deps } = await keyedSetup();
    const s = await start();
    expect((await postKeyed(s, 'k-files', { uploadIds: ['no-such-upload'] })).status).toBe(202);
    expect((await postKeyed(s, 'k-files', { uploadIds: ['no-such-upload'] })).status).toBe(202);
    expect(deps.queue.sent).toHaveLength(2);
    expect(new Set(deps.queue.sent.map((e) => e.dedupId)).size).toBe(1);
    await drain();
    const after = await texts(s);
    expect(after.filter((t: string) => t.startsWith('user:'))).toEqual([]);
    expect(after).toHaveLength(2); // the greeting and one warning about the lost upload
  });

  it('400 for a key that is not 1-64 letters, digits, "-" or "_", nothing stored', async () => {
    const { start, postKeyed, deps } = await keyedSetup();
    const s = await start();
    for (const key of ['', 'a b', 'x'.repeat(65), 'ключ']) {
      const res = await postKeyed(s, key, { text: 'hello' });
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(res.body.error.message).toContain('Idempotency-Key');
    }
    expect(await deps.sessions.listMessages(s.sessionId)).toHaveLength(1);
    expect(deps.queue.sent).toHaveLength(0);
  });
});

describe('cold start', () => {
  // Issue 13 replaces SPEC 1's "a missing secret is a start-up error" on AWS: one bot's missing
  // secret must not stop the function for every bot, so none is read at cold start.
  it('reads no bot secret: a function granted a secret nobody created still starts, and the secret fails only where it is used', async () => {
    const deps = await freshDeps(emu, { bots: [bot], secrets: { 'satchel/fb-page': 'x' }, config: { BOT_SECRETS: 'fb-page,docs-token', SECRETS_PREFIX: 'satchel/' } });
    await expect(deps.botSecrets.get('docs-token')).rejects.toThrow('Missing secret "satchel/docs-token"');
    await expect(deps.botSecrets.get('fb-page')).resolves.toBe('x');
    // The bot that uses no secret keeps working in that same function.
    const res = await invoke(createIntakeHandler(async () => deps), httpEvent('POST', '/web/sessions', { body: { botId: 'shop' } }));
    expect(res.status).toBe(201);
  });
});

describe('actions handler (SQS FIFO consumer)', () => {
  const record = (id: string, group: string, body: unknown) => sqsRecord(body, { messageId: id, group, queue: 'satchel-events.fifo' });


  it('applies a redelivered event once', async () => {
    const { deps, start } = await setup();
    const s = await start();
    const actions = createActionsHandler(async () => deps);
    const ev = { type: 'user_message', sessionId: s.sessionId, messageSeq: 0, text: 'hm' };
    await actions({ Records: [record('m1', s.sessionId, ev)] } as SQSEvent);
    await actions({ Records: [record('m1', s.sessionId, ev)] } as SQSEvent);
    const texts = (await deps.sessions.listMessages(s.sessionId)).map((m) => m.text);
    expect(texts.filter((t) => t === 'Pardon?')).toHaveLength(1);
  });

  it('reports a failed record and every later record of its session, but not other sessions', async () => {
    const { deps, start } = await setup();
    const a = await start();
    const b = await start();
    // The turn's first read (the session, with the agents' sockets) fails for session a only.
    const getForTurn = async (id: string, now: number) => {
      if (id === a.sessionId) throw new Error('boom');
      return deps.sessions.getForTurn(id, now);
    };
    const failing = { ...deps, sessions: Object.create(deps.sessions, { getForTurn: { value: getForTurn } }) };
    const actions = createActionsHandler(async () => failing as Deps);
    const res = await actions({
      Records: [
        record('a1', a.sessionId, { type: 'user_message', sessionId: a.sessionId, messageSeq: 0, text: 'x' }),
        record('b1', b.sessionId, { type: 'user_message', sessionId: b.sessionId, messageSeq: 0, text: 'y' }),
        record('a2', a.sessionId, { type: 'user_message', sessionId: a.sessionId, messageSeq: 0, text: 'z' }),
      ],
    } as SQSEvent);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }, { itemIdentifier: 'a2' }]);
    expect((await deps.sessions.listMessages(b.sessionId)).map((m) => m.text)).toContain('Pardon?');
  });

  it('fails a body that is not a flow event (so it is dead-lettered, not lost) and holds its session behind it', async () => {
    const { deps, start } = await setup();
    const a = await start();
    const b = await start();
    const actions = createActionsHandler(async () => deps);
    const garbled = { ...record('a1', a.sessionId, { type: 'user_message', sessionId: a.sessionId, messageSeq: 0, text: 'x' }), body: '{"type":"user_message"' };
    const unknownType = record('b1', b.sessionId, { type: 'no_such_event', sessionId: b.sessionId } as never);
    const res = await actions({
      Records: [garbled, unknownType, record('a2', a.sessionId, { type: 'user_message', sessionId: a.sessionId, messageSeq: 0, text: 'z' })],
    } as SQSEvent);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }, { itemIdentifier: 'b1' }, { itemIdentifier: 'a2' }]);
    // Nothing of the later record ran while the earlier one of its session waits.
    expect((await deps.sessions.listMessages(a.sessionId)).map((m) => m.text)).not.toContain('Pardon?');
  });
});

describe('expiry handler', () => {
  it('deletes every record and file of a session on a TTL deletion record, and ignores other removals', async () => {
    const { deps, start } = await setup();
    const s = await start();
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await deps.files.s3.send(new PutObjectCommand({ Bucket: deps.files.bucket, Key: `sessions/${s.sessionId}/f1`, Body: 'x' }));
    const expiry = createExpiryHandler(async () => deps);
    const rec = (userIdentity: unknown, sk = 'META') => ({
      eventName: 'REMOVE',
      userIdentity,
      dynamodb: { Keys: { pk: { S: `SESSION#${s.sessionId}` }, sk: { S: sk } }, SequenceNumber: '1' },
    });
    // A user's own delete is not an expiry.
    await expiry({ Records: [rec(undefined)] } as never);
    expect((await deps.sessions.listKeys(s.sessionId)).length).toBeGreaterThan(0);
    await expiry({ Records: [rec({ type: 'Service', principalId: 'dynamodb.amazonaws.com' })] } as never);
    expect(await deps.sessions.listKeys(s.sessionId)).toEqual([]);
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const left = await deps.files.s3.send(new ListObjectsV2Command({ Bucket: deps.files.bucket, Prefix: `sessions/${s.sessionId}/` }));
    expect(left.KeyCount ?? 0).toBe(0);
  });
});

