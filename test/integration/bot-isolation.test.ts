import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActionsHandler } from '../../functions/actions/handler';
import { createIntakeHandler } from '../../functions/intake/handler';
import { botSecrets, SecretsManagerSecrets } from '../../shared/adapters/secrets';
import { channelDelivery } from '../../shared/app/channel-delivery';
import { createWebSession } from '../../shared/app/web-channel';
import { signatureFor } from '../../shared/channels/messenger/signature';
import type { Bot } from '../../shared/bots/schema';
import type { TranscriptMessage } from '../../shared/domain/transcript';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server';
import { startGraphApi, type FakeGraphApi } from '../support/graph-api';
import { httpEvent, invoke } from '../support/http-events';
import { captureLogs } from '../support/logs';
import { ACCESS_DENIED, startSecretsManager, THROTTLED, type FakeSecretsManager } from '../support/secrets-manager';
import { sqsRecord } from '../support/sqs';

/**
 * Issue 13, point 1: one bot's missing or unreadable secret fails that bot alone. Several bots
 * share one actions (and intake) function whose secrets come from Secrets Manager (a stand-in
 * speaking its JSON protocol, read by the real SDK client and adapter): the broken bot's Send
 * Attachment takes its onError path with an error log line and a BotSecretUnavailable metric,
 * every other bot's turn and Send Attachment work, and a transient Secrets Manager failure
 * retries the record instead of giving up on the file.
 */

const PDF = Buffer.from('%PDF-1.4\n% isolation test\n%%EOF\n');
const TOKENS: Record<string, string> = { good: 'Bearer good-7Hq2xV9p', flaky: 'Bearer flaky-Lm4rS8w' };
/** Values that must never appear in a log line. */
const NEVER_LOGGED = [...Object.values(TOKENS), 'fb-app-ok-9f3', 'fb-page-ok-2c1', 'fb-verify-ok-77d'];

let emu: TestEmulators;
let docs: FixtureServer;
let sm: FakeSecretsManager;
let graph: FakeGraphApi;

function serveDocs(req: IncomingMessage, res: ServerResponse): void {
  const bot = new URL(req.url ?? '/', 'http://docs').pathname.split('/')[1] ?? '';
  if (req.headers.authorization !== TOKENS[bot]) return void res.writeHead(401).end('bad token');
  res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF);
}

beforeAll(async () => {
  emu = await startTestEmulators();
  docs = await startFixtureServer(serveDocs);
  sm = await startSecretsManager();
  graph = await startGraphApi();
});
afterAll(async () => {
  await Promise.all([docs?.close(), sm?.close(), graph?.close()]);
  await emu?.close();
});
beforeEach(() => {
  sm.values = {
    'satchel/docs-good': TOKENS.good!,
    'satchel/docs-flaky': TOKENS.flaky!,
    // docs-missing and the messenger "broken" bot's secrets were never created.
    'satchel/docs-denied': 'Bearer never-read',
    'satchel/fb-app-ok': 'fb-app-ok-9f3',
    'satchel/fb-page-ok': 'fb-page-ok-2c1',
    'satchel/fb-verify-ok': 'fb-verify-ok-77d',
  };
  sm.fail = undefined;
  sm.requests = {};
});

/** A web bot that greets, then sends a document from `/<id>/doc.pdf` with secret `docs-<secret>`. */
const actionBot = (id: string, secret: string): Bot =>
  testBot({
    id,
    defaultAnswer: 'Default answer.',
    start: 'hello',
    interactions: {
      hello: { type: 'message', text: `Hello from ${id}.`, next: 'send' },
      send: {
        type: 'action',
        action: { type: 'sendAttachment', endpoint: `${docs.url}/${id}/doc.pdf`, authorization: { secret: `docs-${secret}` }, contentType: '', fileName: '', headers: {} },
        next: 'done',
        onError: 'sorry',
      },
      done: { type: 'message', text: 'Here it is.' },
      sorry: { type: 'message', text: 'Sorry, the document is unavailable.' },
    },
  });

const messengerBot = (id: string, pageId: string, prefix: string): Bot =>
  testBot({
    id,
    channels: {
      messenger: { pageId, appSecret: { secret: `fb-app-${prefix}` }, verifyToken: { secret: `fb-verify-${prefix}` }, pageAccessToken: { secret: `fb-page-${prefix}` } },
    },
    start: 'hi',
    interactions: { hi: { type: 'message', text: `Hi from ${id}.` } },
  });

/** The functions' deps with bot secrets from the Secrets Manager stand-in, as on AWS. */
const depsWith = (bots: Bot[]) =>
  freshDeps(emu, {
    bots,
    config: { FETCH_ALLOW_HOSTS: docs.hostPort, SECRETS_PREFIX: 'satchel/', MESSENGER_API_URL: graph.url },
    overrides: { botSecrets: botSecrets(new SecretsManagerSecrets(sm.client()), 'satchel/') },
  });
type TestDeps = Awaited<ReturnType<typeof depsWith>>;

/** The queued events as one SQS batch, in queue order (each session its own FIFO group). */
function batchOf(deps: TestDeps) {
  const records = deps.queue.sent.map(({ event, dedupId }) => sqsRecord(event, { messageId: dedupId, group: event.sessionId, queue: 'satchel-events.fifo' }));
  deps.queue.sent.length = 0;
  return { Records: records };
}

const emfLines = (lines: string[]) =>
  lines.flatMap((l) => {
    try {
      const json = JSON.parse(l) as Record<string, unknown> & { _aws?: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
      return json._aws ? [json] : [];
    } catch {
      return [];
    }
  });
const errorLines = (lines: string[], message: string) =>
  lines.flatMap((l) => {
    try {
      const json = JSON.parse(l) as Record<string, unknown>;
      return json.message === message ? [json] : [];
    } catch {
      return [];
    }
  });

const texts = (messages: TranscriptMessage[]) => messages.map((m) => m.text).filter(Boolean);
const files = (messages: TranscriptMessage[]) => messages.flatMap((m) => m.attachments ?? []);

describe('a bot whose Send Attachment secret is missing', () => {
  it('takes its own onError with an error log and a metric, while the other bot in the same batch gets its file', async () => {
    const deps = await depsWith([actionBot('good', 'good'), actionBot('broken', 'missing')]);
    const good = await createWebSession(deps, { botId: 'good' });
    const broken = await createWebSession(deps, { botId: 'broken' });
    const actions = createActionsHandler(async () => deps);
    const before = docs.received.length;

    let response: SQSBatchResponse | undefined;
    const lines = await captureLogs(async () => {
      response = await actions(batchOf(deps));
    });

    // Nothing is retried or dead-lettered: both turns completed.
    expect(response!.batchItemFailures).toEqual([]);
    const goodMessages = await deps.sessions.listMessages(good.sessionId);
    expect(texts(goodMessages)).toEqual(['Hello from good.', 'Here it is.']);
    expect(files(goodMessages)).toHaveLength(1);
    expect(files(goodMessages)[0]).toMatchObject({ fileName: 'doc.pdf', size: PDF.length });
    const brokenMessages = await deps.sessions.listMessages(broken.sessionId);
    expect(texts(brokenMessages)).toEqual(['Hello from broken.', 'Sorry, the document is unavailable.']);
    expect(files(brokenMessages)).toEqual([]);
    // Only the good bot's endpoint was called; the broken one never sent a request without its token.
    expect(docs.received.slice(before).map((r) => r.url)).toEqual(['/good/doc.pdf']);

    const errors = errorLines(lines, 'bot secret unavailable');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      level: 'ERROR',
      botId: 'broken',
      interactionId: 'send',
      secretName: 'docs-missing',
      use: 'sendAttachment',
      problem: 'missing',
      sessionId: broken.sessionId,
    });

    const metrics = emfLines(lines);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ bot: 'broken', service: 'satchel', BotSecretUnavailable: 1 });
    expect(metrics[0]!._aws!.CloudWatchMetrics).toEqual([
      { Namespace: 'Satchel', Dimensions: [['service', 'bot']], Metrics: [{ Name: 'BotSecretUnavailable', Unit: 'Count' }] },
    ]);
    for (const secret of NEVER_LOGGED) expect(lines.join('\n')).not.toContain(secret);
  });

  it('keeps failing alone on later turns without asking Secrets Manager each time, and works once the secret is created', async () => {
    const deps = await depsWith([actionBot('good', 'good'), actionBot('late', 'late')]);
    const actions = createActionsHandler(async () => deps);
    const first = await createWebSession(deps, { botId: 'late' });
    const second = await createWebSession(deps, { botId: 'late' });
    let response: SQSBatchResponse | undefined;
    const lines = await captureLogs(async () => {
      response = await actions(batchOf(deps));
    });
    expect(response!.batchItemFailures).toEqual([]);
    // Every failed use is counted, though Secrets Manager was asked once.
    expect(emfLines(lines).map((m) => m.bot)).toEqual(['late', 'late']);
    for (const s of [first, second]) expect(texts(await deps.sessions.listMessages(s.sessionId))).toContain('Sorry, the document is unavailable.');
    // The miss is remembered (for a minute), so two turns cost one request.
    expect(sm.requests['satchel/docs-late']).toBe(1);

    // Created after deploy: a new container (or the same one after the minute) picks it up.
    sm.values['satchel/docs-late'] = TOKENS.good!;
    TOKENS.late = TOKENS.good!;
    try {
      const fresh = await depsWith([actionBot('late', 'late')]);
      const third = await createWebSession(fresh, { botId: 'late' });
      expect((await createActionsHandler(async () => fresh)(batchOf(fresh))).batchItemFailures).toEqual([]);
      expect(texts(await fresh.sessions.listMessages(third.sessionId))).toEqual(['Hello from late.', 'Here it is.']);
    } finally {
      delete TOKENS.late;
    }
  });

  it('treats a secret the function may not read (AccessDenied) like a missing one: onError, problem "unreadable"', async () => {
    sm.fail = (id) => (id === 'satchel/docs-denied' ? ACCESS_DENIED : undefined);
    const deps = await depsWith([actionBot('good', 'good'), actionBot('denied', 'denied')]);
    const denied = await createWebSession(deps, { botId: 'denied' });
    const good = await createWebSession(deps, { botId: 'good' });
    let response: SQSBatchResponse | undefined;
    const lines = await captureLogs(async () => {
      response = await createActionsHandler(async () => deps)(batchOf(deps));
    });
    expect(response!.batchItemFailures).toEqual([]);
    expect(texts(await deps.sessions.listMessages(denied.sessionId))).toEqual(['Hello from denied.', 'Sorry, the document is unavailable.']);
    expect(files(await deps.sessions.listMessages(good.sessionId))).toHaveLength(1);
    expect(errorLines(lines, 'bot secret unavailable')).toEqual([expect.objectContaining({ botId: 'denied', secretName: 'docs-denied', problem: 'unreadable' })]);
    expect(emfLines(lines).map((m) => m.bot)).toEqual(['denied']);
    expect(lines.join('\n')).not.toContain('never-read');
  });
});

describe('a transient Secrets Manager failure (throttling)', () => {
  it('fails only that record for the queue to retry, without taking onError; the retry sends the file; other sessions complete', async () => {
    sm.fail = (id, n) => (id === 'satchel/docs-flaky' && n === 1 ? THROTTLED : undefined);
    const deps = await depsWith([actionBot('good', 'good'), actionBot('flaky', 'flaky')]);
    const flaky = await createWebSession(deps, { botId: 'flaky' });
    const good = await createWebSession(deps, { botId: 'good' });
    const actions = createActionsHandler(async () => deps);
    const batch = batchOf(deps);
    const flakyRecord = batch.Records.find((r) => r.attributes.MessageGroupId === flaky.sessionId)!;

    let response: SQSBatchResponse | undefined;
    const lines = await captureLogs(async () => {
      response = await actions(batch);
    });
    expect(response!.batchItemFailures).toEqual([{ itemIdentifier: flakyRecord.messageId }]);
    // No metric and no "unavailable" line: the secret is not missing, Secrets Manager was busy.
    expect(emfLines(lines)).toEqual([]);
    expect(errorLines(lines, 'bot secret unavailable')).toEqual([]);
    // The user saw the greeting (written before the action), not the onError message.
    expect(texts(await deps.sessions.listMessages(flaky.sessionId))).toEqual(['Hello from flaky.']);
    expect(files(await deps.sessions.listMessages(good.sessionId))).toHaveLength(1);

    // SQS redelivers the record: the action runs again and succeeds, the greeting is not repeated.
    const retried = { ...flakyRecord, attributes: { ...flakyRecord.attributes, ApproximateReceiveCount: '2' } };
    expect((await actions({ Records: [retried] })).batchItemFailures).toEqual([]);
    const after = await deps.sessions.listMessages(flaky.sessionId);
    expect(texts(after)).toEqual(['Hello from flaky.', 'Here it is.']);
    expect(files(after)).toHaveLength(1);
    expect(sm.requests['satchel/docs-flaky']).toBe(2);
  });
});

describe('a Messenger bot whose secrets are missing', () => {
  const webhook = (pageId: string, psid: string, mid: string) =>
    JSON.stringify({
      object: 'page',
      entry: [{ id: pageId, time: Date.now(), messaging: [{ sender: { id: psid }, recipient: { id: pageId }, timestamp: Date.now(), message: { mid, text: 'hello' } }] }],
    });
  const post = (intake: ReturnType<typeof createIntakeHandler>, raw: string, secret: string) =>
    invoke(intake, httpEvent('POST', '/channels/messenger', { rawBody: raw, headers: { 'x-hub-signature-256': signatureFor(raw, secret) } }));

  it('answers its own webhook 401 (fail closed) and its handshake 403, while the other page is verified, queued and answered', async () => {
    const deps = await depsWith([messengerBot('fb-ok', '2001', 'ok'), messengerBot('fb-broken', '2002', 'broken'), actionBot('web', 'good')]);
    const intake = createIntakeHandler(async () => deps);

    let okRes: Awaited<ReturnType<typeof invoke>> | undefined;
    let brokenRes: typeof okRes;
    const lines = await captureLogs(async () => {
      okRes = await post(intake, webhook('2001', 'psid-ok', 'mid-ok-1'), 'fb-app-ok-9f3');
      // Whatever it is signed with: the app secret it would need does not exist.
      brokenRes = await post(intake, webhook('2002', 'psid-broken', 'mid-broken-1'), 'anything');
    });
    expect(okRes!.status).toBe(200);
    expect(brokenRes!.status).toBe(401);
    expect(brokenRes!.body.error.code).toBe('invalid_signature');
    expect(deps.queue.sent).toHaveLength(1);
    expect(deps.queue.sent[0]!.event).toMatchObject({ type: 'messenger_message', mid: 'mid-ok-1' });
    expect(await deps.channelRecords.currentSessionId('messenger', '2002', 'psid-broken')).toBeUndefined();
    expect(errorLines(lines, 'bot secret unavailable')).toEqual([
      expect.objectContaining({ level: 'ERROR', botId: 'fb-broken', secretName: 'fb-app-broken', use: 'messenger.appSecret', problem: 'missing' }),
    ]);
    expect(emfLines(lines).map((m) => m.bot)).toEqual(['fb-broken']);

    // The subscription handshake: the good bot's verify token still works; anything else is 403.
    const handshake = (token: string) =>
      invoke(intake, httpEvent('GET', '/channels/messenger', { query: { 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '4242' } }));
    const shakes: (number | undefined)[] = [];
    const shakeLines = await captureLogs(async () => {
      for (const token of ['fb-verify-ok-77d', 'guess']) shakes.push((await handshake(token)).status);
    });
    expect(shakes).toEqual([200, 403]);
    // Only the refused one got as far as the broken bot's (missing) verify token.
    expect(errorLines(shakeLines, 'bot secret unavailable')).toEqual([expect.objectContaining({ botId: 'fb-broken', use: 'messenger.verifyToken' })]);

    // The good page's turn runs and its reply goes out through the Send API.
    expect((await createActionsHandler(async () => deps)(batchOf(deps))).batchItemFailures).toEqual([]);
    expect(graph.delivered().filter((c) => c.body.recipient?.id === 'psid-ok').map((c) => c.body.message?.text)).toEqual(['Hi from fb-ok.']);
    // A web bot in the same function is untouched.
    expect((await invoke(intake, httpEvent('POST', '/web/sessions', { body: { botId: 'web' } }))).status).toBe(201);
  });

  it('answers 500 when Secrets Manager is throttled (so Meta delivers again), queueing nothing until the retry verifies', async () => {
    sm.fail = (id, n) => (id === 'satchel/fb-app-ok' && n === 1 ? THROTTLED : undefined);
    const deps = await depsWith([messengerBot('fb-ok', '2001', 'ok')]);
    const intake = createIntakeHandler(async () => deps);
    const raw = webhook('2001', 'psid-throttled', 'mid-throttled-1');
    let first: Awaited<ReturnType<typeof invoke>> | undefined;
    const lines = await captureLogs(async () => {
      first = await post(intake, raw, 'fb-app-ok-9f3');
    });
    expect(first!.status).toBe(500);
    expect(first!.body.error.code).toBe('internal_error');
    expect(deps.queue.sent).toHaveLength(0);
    expect(emfLines(lines)).toEqual([]);
    const again = await post(intake, raw, 'fb-app-ok-9f3');
    expect(again.status).toBe(200);
    expect(deps.queue.sent.map((q) => q.event)).toEqual([expect.objectContaining({ mid: 'mid-throttled-1' })]);
  });

  it('holds the replies of a bot whose page token is missing (its turn completes, nothing dead-letters) and sends them once the token exists', async () => {
    // The app secret and verify token exist, the page access token does not.
    sm.values['satchel/fb-app-notoken'] = 'fb-app-notoken-1';
    sm.values['satchel/fb-verify-notoken'] = 'fb-verify-notoken-1';
    const deps = await depsWith([messengerBot('fb-notoken', '2003', 'notoken')]);
    const intake = createIntakeHandler(async () => deps);
    const raw = webhook('2003', 'psid-notoken', 'mid-notoken-1');
    expect((await post(intake, raw, 'fb-app-notoken-1')).status).toBe(200);
    const delivered = graph.delivered().length;
    let response: SQSBatchResponse | undefined;
    const lines = await captureLogs(async () => {
      response = await createActionsHandler(async () => deps)(batchOf(deps));
    });
    expect(response!.batchItemFailures).toEqual([]);
    expect(graph.delivered().length).toBe(delivered);
    expect(errorLines(lines, 'bot secret unavailable')).toEqual([
      expect.objectContaining({ botId: 'fb-notoken', secretName: 'fb-page-notoken', use: 'messenger.pageAccessToken' }),
    ]);
    expect(emfLines(lines).map((m) => m.bot)).toEqual(['fb-notoken']);
    const sessionId = (await deps.channelRecords.currentSessionId('messenger', '2003', 'psid-notoken'))!;
    expect(texts(await deps.sessions.listMessages(sessionId))).toContain('Hi from fb-notoken.');

    // Once the token is created, the session's next delivery (here by a new container) sends what was held.
    sm.values['satchel/fb-page-notoken'] = 'fb-page-notoken-1';
    const deliver = channelDelivery({ ...deps, botSecrets: botSecrets(new SecretsManagerSecrets(sm.client()), 'satchel/') });
    await deliver((await deps.sessions.get(sessionId))!);
    const sent = graph.delivered().slice(delivered);
    expect(sent.map((c) => [c.body.recipient?.id, c.body.message?.text, c.accessToken])).toEqual([['psid-notoken', 'Hi from fb-notoken.', 'fb-page-notoken-1']]);
  });
});
