import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { dynamoDocumentClient } from '../../shared/adapters/clients';
import { sessionPrefix } from '../../shared/adapters/file-store';
import { signatureFor } from '../../shared/channels/messenger/signature';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server';
import { graphError, startGraphApi, type FakeGraphApi, type GraphCall } from '../support/graph-api';
import { startTestRuntime } from '../support/runtime';
import { exe, jpg, pdf, png } from '../support/samples';
import { captureLogs } from '../support/logs';

/**
 * The Messenger channel end to end on the local runtime: signed webhooks into the intake,
 * the FIFO queue into actions, media from a loopback "CDN", replies out to a fake Graph API.
 */

const PAGE = '1001';
const APP_SECRET = 'app-secret-7f3a9c';
const VERIFY_TOKEN = 'verify-token-51b2';
const PAGE_TOKEN = 'page-token-EAAG-0d9e8f';
const SIZE_LIMIT = 64 * 1024;

let rt: Awaited<ReturnType<typeof startTestRuntime>>;
let graph: FakeGraphApi;
let media: FixtureServer;
let privateMedia: FixtureServer;
let botsDir: string;
let clockOffsetMs = 0;

const bigBody = () => Buffer.concat([jpg(), Buffer.alloc(SIZE_LIMIT * 2, 1)]);

function serveMedia(path: string, res: import('node:http').ServerResponse): void {
  const send = (type: string, body: Buffer) => {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  };
  if (path === '/photo.jpg') return send('image/jpeg', jpg());
  if (path === '/evil.jpg') return send('image/jpeg', exe());
  if (path === '/forms/claim.pdf') return send('application/pdf', pdf('Claim form'));
  if (path === '/v/t1.15752-9/4411_n') return send('image/png', png());
  if (path === '/big.jpg') return send('image/jpeg', bigBody());
  if (path === '/big-stream.jpg') {
    // No Content-Length: the cap has to stop the body while it streams.
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    const body = bigBody();
    for (let i = 0; i < body.length; i += 8192) res.write(body.subarray(i, i + 8192));
    return void res.end();
  }
  res.writeHead(404).end();
}

beforeAll(async () => {
  graph = await startGraphApi();
  media = await startFixtureServer((req, res) => serveMedia(new URL(req.url ?? '/', 'http://x').pathname, res));
  privateMedia = await startFixtureServer((req, res) => serveMedia(new URL(req.url ?? '/', 'http://x').pathname, res));
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-msgr-bots-'));
  writeFileSync(
    join(botsDir, 'fb-bot.json'),
    JSON.stringify({
      id: 'fb-bot',
      name: 'Messenger test bot',
      sessionTimeoutSeconds: 3600,
      defaultAnswer: "Sorry, I didn't catch that.",
      attachments: { allowedTypes: ['jpg', 'jpeg', 'png', 'pdf'], sizeLimitBytes: SIZE_LIMIT },
      channels: {
        messenger: { pageId: PAGE, appSecret: { secret: 'fb-app' }, verifyToken: { secret: 'fb-verify' }, pageAccessToken: { secret: 'fb-page' } },
      },
      start: 'welcome',
      interactions: {
        welcome: {
          type: 'message',
          text: 'Hi! What would you like to do?',
          buttons: [
            { label: 'Upload a document', next: 'ask-upload' },
            { label: 'Tell me your name please', next: 'ask-name' },
            { label: 'Send me the form', next: 'send-form' },
          ],
        },
        'ask-upload': { type: 'question', text: 'Please send the file.', answerFormat: 'attachment', variable: 'doc', next: 'thanks' },
        thanks: { type: 'message', text: 'Thanks, I received {doc}.' },
        'ask-name': { type: 'question', text: 'What is your name?', answerFormat: 'text', variable: 'nick', next: 'greet' },
        greet: { type: 'message', text: 'Hello {nick}!', next: 'menu' },
        menu: { type: 'message', text: 'Anything else?', buttons: [{ label: 'Upload a document', next: 'ask-upload' }] },
        'send-form': {
          type: 'action',
          action: { type: 'sendAttachment', endpoint: `${media.url}/forms/claim.pdf`, fileName: 'claim-form.pdf' },
          next: 'form-sent',
          onError: 'form-failed',
        },
        'form-sent': { type: 'message', text: 'There is the form.' },
        'form-failed': { type: 'message', text: 'The form is unavailable.' },
      },
    }),
  );
  rt = await startTestRuntime({
    botsDir,
    secrets: { 'fb-app': APP_SECRET, 'fb-verify': VERIFY_TOKEN, 'fb-page': PAGE_TOKEN },
    messengerApiUrl: graph.url,
    fetchAllowHosts: media.hostPort,
    now: () => Date.now() + clockOffsetMs,
  });
});

afterAll(async () => {
  await rt?.stop();
  await Promise.all([graph?.close(), media?.close(), privateMedia?.close()]);
  if (botsDir) rmSync(botsDir, { recursive: true, force: true });
});

afterEach(() => {
  graph.reply = undefined;
  clockOffsetMs = 0;
});

// --- helpers -----------------------------------------------------------------------------

let midCounter = 0;
const newMid = () => `m_test-${process.pid}-${++midCounter}`;

type Messaging = Record<string, unknown>;
const text = (body: string, mid = newMid()): Messaging => ({ message: { mid, text: body } });
const quickReply = (title: string, index: number, mid = newMid()): Messaging => ({
  message: { mid, text: title, quick_reply: { payload: `SATCHEL_BUTTON:${index}` } },
});
const postback = (title: string, index: number, mid = newMid()): Messaging => ({ postback: { mid, title, payload: `SATCHEL_BUTTON:${index}` } });
const attachment = (url: string, type = 'image', mid = newMid()): Messaging => ({ message: { mid, attachments: [{ type, payload: { url } }] } });

const webhook = (psid: string, items: Messaging[], pageId = PAGE) => ({
  object: 'page',
  entry: [
    {
      id: pageId,
      time: Date.now(),
      messaging: items.map((m) => ({ sender: { id: psid }, recipient: { id: pageId }, timestamp: Date.now(), ...m })),
    },
  ],
});

async function post(body: unknown, opts: { secret?: string; signature?: string | null } = {}): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const signature = opts.signature === undefined ? signatureFor(raw, opts.secret ?? APP_SECRET) : opts.signature;
  return fetch(`${rt.urls.app}/channels/messenger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature !== null && { 'x-hub-signature-256': signature }) },
    body: raw,
  });
}

/** The user `psid` sends `items` in one signed delivery; resolves once actions are done. */
async function userSends(psid: string, ...items: Messaging[]): Promise<void> {
  const res = await post(webhook(psid, items));
  expect(res.status).toBe(200);
  await rt.events.drain();
}

const sentTo = (psid: string): GraphCall[] => graph.delivered().filter((c) => c.body.recipient?.id === psid);
const describeSend = (c: GraphCall) => c.body.message?.text ?? `[${c.body.message?.attachment?.type}]`;
const textsSentTo = (psid: string) => sentTo(psid).map(describeSend);

async function sessionOf(psid: string) {
  const id = await rt.deps.messenger.currentSessionId(PAGE, psid);
  expect(id).toBeDefined();
  return (await rt.deps.sessions.get(id!))!;
}

async function transcriptOf(psid: string) {
  return rt.deps.sessions.listMessages((await sessionOf(psid)).id);
}

async function tableItems(): Promise<Record<string, unknown>[]> {
  const out = await dynamoDocumentClient(rt.config).send(new ScanCommand({ TableName: rt.config.TABLE_NAME }));
  return out.Items ?? [];
}

async function objectsOf(sessionId: string): Promise<string[]> {
  const out = await rt.deps.files.s3.send(new ListObjectsV2Command({ Bucket: rt.deps.files.bucket, Prefix: sessionPrefix(sessionId) }));
  return (out.Contents ?? []).map((o) => o.Key!);
}


const WELCOME = 'Hi! What would you like to do?';

// --- tests -------------------------------------------------------------------------------

describe('Messenger subscription handshake', () => {
  const handshake = (query: Record<string, string>) => fetch(`${rt.urls.app}/channels/messenger?${new URLSearchParams(query)}`);

  it('answers hub.challenge as text/plain when the verify token matches', async () => {
    const res = await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('1158201444');
  });

  it('answers 403 forbidden for a wrong verify token, a prefix of it, or another mode', async () => {
    const queries: Record<string, string>[] = [
      { 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '42' },
      { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN.slice(0, -1), 'hub.challenge': '42' },
      { 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '42' },
      { 'hub.mode': 'subscribe', 'hub.challenge': '42' },
    ];
    for (const query of queries) {
      const res = await handshake(query);
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe('forbidden');
    }
  });
});

describe('Messenger webhook verification', () => {
  it('refuses a forged, missing or foreign-secret signature with 401 and stores and queues nothing', async () => {
    const before = await tableItems();
    const body = webhook('psid-forged', [text('hello')]);
    const raw = JSON.stringify(body);
    const attempts: { signature?: string | null; secret?: string; body?: string }[] = [
      { signature: `sha256=${'0'.repeat(64)}` },
      { signature: null },
      { secret: 'some-other-app-secret' },
      // Signed, then the body changed (a re-serialisation is a different byte string).
      { signature: signatureFor(raw, APP_SECRET), body: JSON.stringify(body, null, 1) },
    ];
    for (const opts of attempts) {
      const res = await post(opts.body ?? raw, opts);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
    }
    expect(rt.events.pending).toBe(0);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(await rt.deps.messenger.currentSessionId(PAGE, 'psid-forged')).toBeUndefined();
    expect(sentTo('psid-forged')).toEqual([]);
  });

  it('answers 400 to a correctly signed body that is not JSON or not a webhook event', async () => {
    for (const raw of ['{"object":"page","entry":[', '[1,2,3]', '{"object":"page","entry":[{"id":"1001","messaging":[{"sender":{}}]}]}']) {
      const res = await post(raw);
      expect(res.status, raw).toBe(400);
    }
    // The same bodies with a forged signature are 401: nothing is said about them before verification.
    expect((await post('{"object":"page","entry":[', { secret: 'forged' })).status).toBe(401);
  });

  it('answers 200 to a genuine delivery for a page no bot has, and ignores it', async () => {
    const before = await tableItems();
    const res = await post(webhook('psid-other-page', [text('hello')], '999999'));
    expect(res.status).toBe(200);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(sentTo('psid-other-page')).toEqual([]);
  });
});

describe('Messenger conversations', () => {
  it('starts a session on the first message, greets with quick replies, and follows text and postbacks', async () => {
    const psid = 'psid-text-flow';
    await userSends(psid, text('hello there'));

    const session = await sessionOf(psid);
    expect(session).toMatchObject({ botId: 'fb-bot', channel: 'messenger', userId: psid, messenger: { pageId: PAGE, psid } });
    const [welcome] = sentTo(psid);
    expect(welcome).toMatchObject({
      path: 'POST /v21.0/me/messages',
      accessToken: PAGE_TOKEN,
      body: { recipient: { id: psid }, messaging_type: 'RESPONSE', message: { text: WELCOME } },
    });
    expect(welcome!.body.message!.quick_replies).toEqual([
      { content_type: 'text', title: 'Upload a document', payload: 'SATCHEL_BUTTON:0' },
      { content_type: 'text', title: 'Tell me your name p…', payload: 'SATCHEL_BUTTON:1' },
      { content_type: 'text', title: 'Send me the form', payload: 'SATCHEL_BUTTON:2' },
    ]);
    // The first message is kept, not taken as an answer: no default answer after the greeting.
    expect((await transcriptOf(psid)).map((m) => [m.from, m.text])).toEqual([
      ['user', 'hello there'],
      ['bot', WELCOME],
    ]);

    // A postback (persistent menu or button template) carries the button index like a quick reply.
    await userSends(psid, postback('Tell me your name please', 1));
    await userSends(psid, text('Ada'));
    expect(textsSentTo(psid)).toEqual([WELCOME, 'What is your name?', 'Hello Ada!', 'Anything else?']);
    expect((await transcriptOf(psid)).map((m) => [m.from, m.text])).toEqual([
      ['user', 'hello there'],
      ['bot', WELCOME],
      ['user', 'Tell me your name please'],
      ['bot', 'What is your name?'],
      ['user', 'Ada'],
      ['bot', 'Hello Ada!'],
      ['bot', 'Anything else?'],
    ]);
    // Each inbound message slides the expiry, as on the web.
    const later = await sessionOf(psid);
    expect(later.id).toBe(session.id);
    expect(later.lastActivityAt).toBeGreaterThan(session.lastActivityAt);
  });

  it('processes a mid once when Meta delivers it three times, at once or one after another', async () => {
    const psid = 'psid-dedupe';
    const first = webhook(psid, [text('only once', 'm_dup-1')]);
    const results = await Promise.all([post(first), post(first), post(first)]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    await rt.events.drain();

    const again = webhook(psid, [quickReply('Upload a document', 0, 'm_dup-2')]);
    for (let i = 0; i < 3; i++) {
      expect((await post(again)).status).toBe(200);
      await rt.events.drain();
    }
    // A redelivery days later, long after the queue's 5-minute dedup window, is caught by the
    // durable record before it reaches the queue (or could start a session).
    const sessionId = (await sessionOf(psid)).id;
    clockOffsetMs = 2 * 86400_000;
    await rt.deps.sessions.update(sessionId, { expiresAt: Math.ceil((Date.now() + clockOffsetMs) / 1000) + 3600 });
    const queued: string[] = [];
    const send = rt.events.send.bind(rt.events);
    rt.events.send = (body, opts) => {
      queued.push(body);
      send(body, opts);
    };
    try {
      expect((await post(again)).status).toBe(200);
    } finally {
      rt.events.send = send;
    }
    expect(queued).toEqual([]);
    await rt.events.drain();

    const transcript = await transcriptOf(psid);
    expect(transcript.filter((m) => m.from === 'user').map((m) => m.text)).toEqual(['only once', 'Upload a document']);
    expect(textsSentTo(psid)).toEqual([WELCOME, 'Please send the file.']);
    expect((await sessionOf(psid)).id).toBe(sessionId);
  });

  it('loses nothing when intake fails before queueing: the mid is not recorded, and Meta\'s retry is processed once', async () => {
    const psid = 'psid-intake-crash';
    const body = webhook(psid, [text('are you there?', 'm_crash-1')]);
    const send = rt.events.send.bind(rt.events);
    rt.events.send = () => {
      throw new Error('queue unavailable');
    };
    try {
      expect((await post(body)).status).toBe(500);
    } finally {
      rt.events.send = send;
    }
    expect(sentTo(psid)).toEqual([]);
    // Meta retries the delivery it got no 200 for.
    expect((await post(body)).status).toBe(200);
    await rt.events.drain();
    expect((await transcriptOf(psid)).map((m) => [m.from, m.text])).toEqual([
      ['user', 'are you there?'],
      ['bot', WELCOME],
    ]);
    expect(textsSentTo(psid)).toEqual([WELCOME]);
  });

  it('keeps one session per user when two first messages arrive at the same moment', async () => {
    const psid = 'psid-race';
    const results = await Promise.all([post(webhook(psid, [text('one')])), post(webhook(psid, [text('two')]))]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    await rt.events.drain();
    const sessions = (await tableItems()).filter((i) => i.sk === 'META' && i.userId === psid);
    expect(sessions).toHaveLength(1);
    const transcript = await transcriptOf(psid);
    expect(transcript.filter((m) => m.from === 'user').map((m) => m.text).sort()).toEqual(['one', 'two']);
    expect(textsSentTo(psid).filter((t) => t === WELCOME)).toHaveLength(1);
  });

  it('accepts an image sent as an attachment, keeps it in the transcript and answers the question', async () => {
    const psid = 'psid-image';
    await userSends(psid, text('hi'));
    await userSends(psid, quickReply('Upload a document', 0));
    await userSends(psid, attachment(`${media.url}/photo.jpg?oh=signed-cdn-token&oe=1234`));

    const transcript = await transcriptOf(psid);
    const upload = transcript.find((m) => m.attachments?.length);
    expect(upload).toMatchObject({ from: 'user', attachments: [{ fileName: 'photo.jpg', contentType: 'image/jpeg', size: jpg().length }] });
    expect(textsSentTo(psid).at(-1)).toBe('Thanks, I received photo.jpg.');
    const session = await sessionOf(psid);
    expect(await objectsOf(session.id)).toHaveLength(1);
    expect(session.attachmentCount).toBe(1);
  });

  it('keeps the first 20 files of a message that claims more, and the conversation goes on (no stalled queue)', async () => {
    const psid = 'psid-many-files';
    await userSends(psid, text('hi'));
    await userSends(psid, quickReply('Upload a document', 0));
    const mid = newMid();
    const many: Messaging = { message: { mid, attachments: Array.from({ length: 25 }, (_, i) => ({ type: 'image', payload: { url: `${media.url}/photo.jpg?n=${i}` } })) } };
    await userSends(psid, many);
    expect(rt.events.deadLetters).toEqual([]);
    expect(rt.events.pending).toBe(0);
    const upload = (await transcriptOf(psid)).find((m) => m.attachments?.length);
    expect(upload?.attachments).toHaveLength(20);
    expect((await sessionOf(psid)).attachmentCount).toBe(20);
    // The session still answers.
    await userSends(psid, text('hello again'));
    expect(textsSentTo(psid).length).toBeGreaterThan(2);
    expect((await transcriptOf(psid)).some((m) => m.from === 'user' && m.text === 'hello again')).toBe(true);
  });

  it('names media without an extension from its content type', async () => {
    const psid = 'psid-cdn-name';
    await userSends(psid, text('hi'));
    await userSends(psid, quickReply('Upload a document', 0));
    await userSends(psid, attachment(`${media.url}/v/t1.15752-9/4411_n?_nc_cat=1`));
    expect(textsSentTo(psid).at(-1)).toBe('Thanks, I received 4411_n.png.');
  });

  it('refuses an executable named .jpg with a warning sent to the user, keeping nothing', async () => {
    const psid = 'psid-evil';
    await userSends(psid, text('hi'));
    await userSends(psid, quickReply('Upload a document', 0));
    await userSends(psid, attachment(`${media.url}/evil.jpg`));

    const transcript = await transcriptOf(psid);
    const warning = transcript.find((m) => m.warning);
    expect(warning).toMatchObject({ from: 'bot', warning: 'attachment_content_mismatch' });
    expect(textsSentTo(psid)).toContain(warning!.text);
    expect(transcript.some((m) => m.attachments?.length)).toBe(false);
    expect(await objectsOf((await sessionOf(psid)).id)).toEqual([]);
  });

  it('refuses media on a private address that is not allowlisted, without contacting it', async () => {
    const psid = 'psid-private';
    await userSends(psid, text('hi'));
    await userSends(psid, attachment(`${privateMedia.url}/photo.jpg`));

    const warning = (await transcriptOf(psid)).find((m) => m.warning);
    expect(warning).toMatchObject({ from: 'bot', warning: 'attachment_upload_failed' });
    expect(textsSentTo(psid)).toContain(warning!.text);
    expect(privateMedia.received).toEqual([]);
  });

  it('refuses media over the size limit, whether announced by Content-Length or found while streaming', async () => {
    const psid = 'psid-big';
    await userSends(psid, text('hi'));
    await userSends(psid, attachment(`${media.url}/big.jpg`));
    await userSends(psid, attachment(`${media.url}/big-stream.jpg`));
    const warnings = (await transcriptOf(psid)).filter((m) => m.warning).map((m) => m.warning);
    expect(warnings).toEqual(['attachment_too_large', 'attachment_too_large']);
    expect(await objectsOf((await sessionOf(psid)).id)).toEqual([]);
  });

  it('starts a new session, with the greeting, once the previous one expired', async () => {
    const psid = 'psid-expiry';
    await userSends(psid, text('hi'));
    const first = await sessionOf(psid);

    clockOffsetMs = 3601_000; // past the bot's 3600 s timeout
    await userSends(psid, text('back again'));
    const second = await sessionOf(psid);
    expect(second.id).not.toBe(first.id);
    expect(second).toMatchObject({ channel: 'messenger', userId: psid, messenger: { pageId: PAGE, psid } });
    expect((await rt.deps.sessions.listMessages(second.id)).map((m) => [m.from, m.text])).toEqual([
      ['user', 'back again'],
      ['bot', WELCOME],
    ]);
    expect(textsSentTo(psid)).toEqual([WELCOME, WELCOME]);
    // The old transcript was not touched.
    expect((await rt.deps.sessions.listMessages(first.id)).map((m) => m.text)).toEqual(['hi', WELCOME]);
  });
});

describe('Messenger delivery', () => {
  it('sends bot files by an absolute /files URL with the type from the content type, not reusable', async () => {
    const psid = 'psid-bot-file';
    await userSends(psid, text('hi'));
    await userSends(psid, quickReply('Send me the form', 2));

    const sends = sentTo(psid).slice(1);
    expect(sends.map(describeSend)).toEqual(['[file]', 'There is the form.']);
    const payload = sends[0]!.body.message!.attachment!.payload;
    expect(payload.is_reusable).toBe(false);
    expect(payload.url.startsWith(`${rt.config.PUBLIC_BASE_URL}/files/`)).toBe(true);
    const file = await fetch(payload.url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(pdf('Claim form'))).toBe(true);
  });

  it('delivers agent messages with files, resuming after a failure at the part that failed', async () => {
    const psid = 'psid-agent';
    await userSends(psid, text('hi'));
    const session = await sessionOf(psid);
    const [agentMessage] = await rt.deps.sessions.appendMessages(
      session.id,
      [
        {
          from: 'agent',
          agent: { agentId: 'a-1', name: 'Sam' },
          text: 'Here is your policy and a photo.',
          attachments: [
            { id: 'att-doc', fileName: 'policy.pdf', contentType: 'application/pdf', size: 10 },
            { id: 'att-img', fileName: 'car.png', contentType: 'image/png', size: 10 },
          ],
        },
      ],
      Date.now(),
    );
    let failed = false;
    graph.reply = (call) => {
      if (call.body.message?.attachment?.type !== 'image' || failed) return undefined;
      failed = true;
      return { status: 503, body: graphError(1, 'Unknown error') };
    };
    await expect(rt.deps.ports.deliver!(session, [agentMessage!])).rejects.toThrow(/Send API answered 503/);
    await rt.deps.ports.deliver!(session, []);

    expect(sentTo(psid).map(describeSend)).toEqual([WELCOME, 'Here is your policy and a photo.', '[file]', '[image]']);
    const urls = sentTo(psid).slice(2).map((c) => c.body.message!.attachment!.payload);
    for (const p of urls) {
      expect(p.is_reusable).toBe(false);
      expect(p.url).toMatch(new RegExp(`^${rt.config.PUBLIC_BASE_URL}/files/[\\w.-]+$`));
    }
    // Nothing left to send: a further call sends nothing.
    const before = graph.calls.length;
    await rt.deps.ports.deliver!(session, []);
    expect(graph.calls.length).toBe(before);
  });

  it('sends an agent message once when the console sends it again with its Idempotency-Key, and what the first try still owed', async () => {
    const psid = 'psid-agent-key';
    await userSends(psid, text('hi'));
    const session = await sessionOf(psid);
    // The agent console's calls, over HTTP to the local runtime's agent API.
    const minted = await fetch(`${rt.urls.app}/local/agent-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId: 'a-key', name: 'Sam' }) });
    const { token } = (await minted.json()) as { token: string };
    const agentPost = async (path: string, body?: unknown, key?: string) => {
      const res = await fetch(`${rt.urls.app}/agent/conversations/${session.id}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key && { 'idempotency-key': key }) },
        body: JSON.stringify(body ?? {}),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    expect((await agentPost('/takeover')).status).toBe(200);
    const before = sentTo(psid).length;
    // The first try is written but Meta is down: the console is told, and tries again with the key.
    graph.reply = (call) => (call.body.message?.text === 'On it.' ? { status: 503, body: graphError(2, 'Service temporarily unavailable') } : undefined);
    expect(await agentPost('/messages', { text: 'On it.' }, 'k-m1')).toEqual({ status: 202, body: { delivered: false, warnings: [] } });
    graph.reply = undefined;
    // The repeat sends what the user is owed; a further repeat (its answer lost too) sends nothing.
    for (let i = 0; i < 2; i++) expect(await agentPost('/messages', { text: 'On it.' }, 'k-m1')).toEqual({ status: 202, body: { delivered: true, warnings: [] } });
    expect(textsSentTo(psid).slice(before)).toEqual(['On it.']);
    expect((await transcriptOf(psid)).filter((m) => m.text === 'On it.')).toHaveLength(1);
  });

  it('retries a failed Send API call through the queue without losing or repeating replies', async () => {
    const psid = 'psid-send-failure';
    await userSends(psid, text('hi'));
    await userSends(psid, quickReply('Tell me your name please', 1));

    // The turn answers with two messages; the second send fails twice, then Meta recovers.
    let failures = 0;
    graph.reply = (call) =>
      call.body.recipient?.id === psid && call.body.message?.text === 'Anything else?' && failures++ < 2
        ? { status: 500, body: graphError(2, 'Service temporarily unavailable') }
        : undefined;
    const logs = (await captureLogs(() => userSends(psid, text('Grace')))).join('\n');

    expect(failures).toBe(3);
    expect(textsSentTo(psid)).toEqual([WELCOME, 'What is your name?', 'Hello Grace!', 'Anything else?']);
    expect(graph.calls.filter((c) => c.body.recipient?.id === psid && c.body.message?.text === 'Hello Grace!')).toHaveLength(1);
    expect(logs).toContain('messenger send failed');
    expect(logs).not.toContain(PAGE_TOKEN);
    expect(logs).not.toContain(APP_SECRET);
    expect(rt.events.deadLetters).toEqual([]);
  });

  it('skips a send Meta refuses for good, so it cannot block later replies', async () => {
    const psid = 'psid-send-refused';
    graph.reply = (call) =>
      call.body.recipient?.id === psid && call.body.message?.text === WELCOME ? { status: 400, body: graphError(100, 'Invalid parameter') } : undefined;
    await userSends(psid, text('hi'));
    graph.reply = undefined;
    await userSends(psid, quickReply('Upload a document', 0));
    expect(textsSentTo(psid)).toEqual(['Please send the file.']);
    expect(graph.calls.filter((c) => c.body.recipient?.id === psid && c.body.message?.text === WELCOME)).toHaveLength(1);
  });
});
