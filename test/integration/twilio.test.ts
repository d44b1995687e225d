import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDocumentClient } from '../../shared/adapters/clients';
import { sessionPrefix } from '../../shared/adapters/file-store';
import { twilioSignature } from '../../shared/channels/twilio/signature';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server';
import { captureLogs } from '../support/logs';
import { startTestRuntime } from '../support/runtime';
import { jpg, pdf } from '../support/samples';
import { newSid, startTwilioApi, twilioForm, type FakeTwilioApi } from '../support/twilio-api';

/**
 * The Twilio SMS/MMS channel end to end on the local runtime: signed form posts to the intake,
 * the FIFO queue into actions, MMS media through the stand-in's media URLs (via the SSRF-safe
 * fetcher, with Basic auth), replies through the stand-in's Messages API, which fetches each
 * MediaUrl as Twilio does.
 */

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'twilio-auth-token-0f9e8d7c6b5a';
const OTHER_SID = `AC${'fedcba9876543210'.repeat(2)}`;
const OTHER_TOKEN = 'other-account-token-123456';
const BOT_NUMBER = '+15005550006';
const OTHER_NUMBER = '+15005550009';
const SIZE_LIMIT = 2 * 1024 * 1024;
const WELCOME = 'Hi! What would you like to do?';
const OPTIONS = '1. Upload a document\n2. Tell me your name please\n3. Send me the form\n4. Send me the big form';

let rt: Awaited<ReturnType<typeof startTestRuntime>>;
let tw: FakeTwilioApi;
let docs: FixtureServer;
let botsDir: string;

const FORM = pdf('Claim form for SMS');
// Over MMS's 500 KB for a PDF, within the bot's 2 MB.
const BIG_FORM = Buffer.concat([pdf('Big claim form'), Buffer.alloc(600 * 1024, 32)]);

const interactions = (docsUrl: string) => ({
  welcome: {
    type: 'message',
    text: WELCOME,
    buttons: [
      { label: 'Upload a document', next: 'ask-upload' },
      { label: 'Tell me your name please', next: 'ask-name' },
      { label: 'Send me the form', next: 'send-form' },
      { label: 'Send me the big form', next: 'send-big' },
    ],
  },
  'ask-upload': { type: 'question', text: 'Please send the file.', answerFormat: 'attachment', variable: 'doc', next: 'thanks' },
  thanks: { type: 'message', text: 'Thanks, I received {doc}.' },
  'ask-name': { type: 'question', text: 'What is your name?', answerFormat: 'text', variable: 'nick', next: 'greet' },
  greet: { type: 'message', text: 'Hello {nick}!' },
  'send-form': { type: 'action', action: { type: 'sendAttachment', endpoint: `${docsUrl}/forms/claim.pdf`, fileName: 'claim-form.pdf' }, next: 'form-sent' },
  'send-big': { type: 'action', action: { type: 'sendAttachment', endpoint: `${docsUrl}/forms/big.pdf`, fileName: 'big-form.pdf' }, next: 'form-sent' },
  'form-sent': { type: 'message', text: 'There is the form.' },
});

beforeAll(async () => {
  tw = await startTwilioApi({ [ACCOUNT_SID]: AUTH_TOKEN, [OTHER_SID]: OTHER_TOKEN });
  docs = await startFixtureServer((req, res) => {
    const body = req.url === '/forms/claim.pdf' ? FORM : req.url === '/forms/big.pdf' ? BIG_FORM : undefined;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length });
    res.end(body);
  });
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-tw-bots-'));
  const bot = (id: string, accountSid: string, secret: string, phoneNumber: string) => ({
    id,
    name: `SMS ${id}`,
    sessionTimeoutSeconds: 3600,
    attachments: { allowedTypes: ['jpg', 'jpeg', 'png', 'pdf'], sizeLimitBytes: SIZE_LIMIT },
    channels: { twilio: { accountSid, authToken: { secret }, phoneNumber } },
    start: 'welcome',
    interactions: interactions(docs.url),
  });
  writeFileSync(join(botsDir, 'tw-bot.json'), JSON.stringify(bot('tw-bot', ACCOUNT_SID, 'tw-token', BOT_NUMBER)));
  writeFileSync(join(botsDir, 'tw-other.json'), JSON.stringify(bot('tw-other', OTHER_SID, 'tw-other-token', OTHER_NUMBER)));
  rt = await startTestRuntime({
    botsDir,
    secrets: { 'tw-token': AUTH_TOKEN, 'tw-other-token': OTHER_TOKEN },
    twilioApiUrl: tw.url,
    fetchAllowHosts: [tw.hostPort, docs.hostPort].join(','),
  });
});

afterAll(async () => {
  await rt?.stop();
  await Promise.all([tw?.close(), docs?.close()]);
  if (botsDir) rmSync(botsDir, { recursive: true, force: true });
});

// --- helpers -----------------------------------------------------------------------------

type Params = [string, string][];

let phoneCounter = 4_155_550_000;
/** A fresh user number, so tests never share a conversation. */
const newUser = () => `+1${++phoneCounter}`;

/** The documented inbound SMS with a fresh MessageSid, from `user` to the bot, saying `body`. */
function sms(user: string, body: string, fixture = 'inbound-sms.form', to = BOT_NUMBER): Params {
  const sid = newSid(fixture === 'inbound-mms.form' ? 'MM' : 'SM');
  const values: Record<string, string> = { From: user, To: to, Body: body, AccountSid: to === BOT_NUMBER ? ACCOUNT_SID : OTHER_SID, MessageSid: sid, SmsSid: sid, SmsMessageSid: sid };
  return twilioForm(fixture).map(([k, v]) => [k, values[k] ?? v]);
}

/** An MMS carrying `media` (each a MediaUrl and its MediaContentType). */
function mms(user: string, media: { url: string; contentType: string }[], body = ''): Params {
  const base = sms(user, body, 'inbound-mms.form').filter(([k]) => !/^(NumMedia|MediaUrl\d+|MediaContentType\d+)$/.test(k));
  return [...base, ['NumMedia', String(media.length)], ...media.flatMap((m, i): Params => [[`MediaUrl${i}`, m.url], [`MediaContentType${i}`, m.contentType]])];
}

const sidOf = (params: Params) => params.find(([k]) => k === 'MessageSid')![1];
const webhookUrl = () => `${rt.config.PUBLIC_BASE_URL}/channels/twilio`;

async function post(params: Params, opts: { url?: string; token?: string; signature?: string | null; contentType?: string; body?: string } = {}): Promise<Response> {
  const signature = opts.signature === undefined ? twilioSignature(opts.token ?? AUTH_TOKEN, opts.url ?? webhookUrl(), params) : opts.signature;
  return fetch(`${rt.urls.app}/channels/twilio`, {
    method: 'POST',
    headers: { 'content-type': opts.contentType ?? 'application/x-www-form-urlencoded', ...(signature !== null && { 'x-twilio-signature': signature }) },
    body: opts.body ?? new URLSearchParams(params).toString(),
  });
}

/** Posts messages one by one (each answered 200 with empty TwiML) and waits for actions to finish. */
async function userSends(...messages: Params[]): Promise<void> {
  for (const m of messages) {
    const res = await post(m);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await res.text()).toBe('<Response/>');
  }
  await rt.events.drain();
}

const sentTo = (user: string) => tw.messages.filter((m) => m.to === user);
const bodiesSentTo = (user: string) => sentTo(user).map((m) => m.body);

async function sessionOf(user: string, account = BOT_NUMBER) {
  const id = await rt.deps.channels.currentSessionId('twilio', account, user);
  expect(id).toBeDefined();
  return (await rt.deps.sessions.get(id!))!;
}

const transcriptOf = async (user: string) => rt.deps.sessions.listMessages((await sessionOf(user)).id);

async function tableItems(): Promise<Record<string, unknown>[]> {
  const out = await dynamoDocumentClient(rt.config).send(new ScanCommand({ TableName: rt.config.TABLE_NAME }));
  return out.Items ?? [];
}

async function objectsOf(sessionId: string): Promise<string[]> {
  const out = await rt.deps.files.s3.send(new ListObjectsV2Command({ Bucket: rt.deps.files.bucket, Prefix: sessionPrefix(sessionId) }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

/** A user past the greeting who chose "Upload a document": the bot waits for a file. */
async function userAskedForFile(): Promise<string> {
  const user = newUser();
  await userSends(sms(user, 'hello'));
  await userSends(sms(user, '1'));
  expect(bodiesSentTo(user)).toEqual([`${WELCOME}\n\n${OPTIONS}`, 'Please send the file.']);
  return user;
}

// --- tests -------------------------------------------------------------------------------

describe('Twilio webhook verification', () => {
  it('refuses a forged, missing, other-account or other-URL signature with 403 and stores and queues nothing', async () => {
    const before = await tableItems();
    const user = newUser();
    const params = sms(user, 'hello');
    const attempts: { name: string; opts: Parameters<typeof post>[1] }[] = [
      { name: 'forged', opts: { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' } },
      { name: 'missing', opts: { signature: null } },
      { name: 'another account token', opts: { token: OTHER_TOKEN } },
      { name: 'signed over the local URL, not the public one', opts: { url: `${rt.urls.app.replace('localhost', '127.0.0.1')}/channels/twilio` } },
      { name: 'signed over another path', opts: { url: `${rt.config.PUBLIC_BASE_URL}/channels/twilio/x` } },
      { name: 'signed with a query string Twilio did not call', opts: { url: `${webhookUrl()}?bot=tw-bot` } },
    ];
    for (const { name, opts } of attempts) {
      const res = await post(params, opts);
      expect(res.status, name).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code, name).toBe('forbidden');
    }
    // A parameter changed after signing (the body is covered, not just the URL).
    const signature = twilioSignature(AUTH_TOKEN, webhookUrl(), params);
    const tampered = params.map(([k, v]): [string, string] => [k, k === 'Body' ? 'transfer all' : v]);
    expect((await post(tampered, { signature })).status).toBe(403);
    // A parameter added after signing.
    expect((await post([...params, ['Extra', '1']], { signature })).status).toBe(403);
    // Far larger than any Twilio webhook (security review: parsing and hashing a multi-MB form
    // before the check cost seconds of CPU): refused before it is read, even correctly signed.
    const flood: Params = [...params, ...Array.from({ length: 300 }, (_, i): [string, string] => [`P${i}`, 'x'])];
    expect((await post(flood)).status).toBe(403);
    expect((await post([...params, ['Pad', 'x'.repeat(70 * 1024)]])).status).toBe(403);
    expect(rt.events.pending).toBe(0);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(await rt.deps.channels.currentSessionId('twilio', BOT_NUMBER, user)).toBeUndefined();
    expect(sentTo(user)).toEqual([]);
  });

  it('answers 400 to a signed body that is not a message, and stores nothing', async () => {
    const before = await tableItems();
    const user = newUser();
    const good = sms(user, 'hello');
    const without = (name: string) => good.filter(([k]) => k !== name);
    const set = (name: string, value: string) => good.map(([k, v]): [string, string] => [k, k === name ? value : v]);
    const cases: [string, Params][] = [
      ['no MessageSid', without('MessageSid').filter(([k]) => k !== 'SmsMessageSid')],
      ['MessageSid not a SID', set('MessageSid', 'not-a-sid').map(([k, v]): [string, string] => [k, k === 'SmsMessageSid' ? 'x' : v])],
      ['no From', without('From')],
      ['NumMedia not a number', set('NumMedia', 'lots')],
      ['NumMedia over 10', set('NumMedia', '11')],
      ['a media URL missing', set('NumMedia', '1')],
      ['a media URL that is not http', [...set('NumMedia', '1'), ['MediaUrl0', 'file:///etc/passwd']]],
    ];
    for (const [name, params] of cases) {
      const res = await post(params);
      expect(res.status, name).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, name).toBe('invalid_request');
    }
    // Signed, but JSON rather than Twilio's form encoding.
    expect((await post(good, { contentType: 'application/json' })).status).toBe(400);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(sentTo(user)).toEqual([]);
  });

  it('acknowledges status callbacks and messages to numbers no bot has with empty TwiML, and ignores them', async () => {
    const before = await tableItems();
    const user = newUser();
    const status = twilioForm('status-callback.form').map(([k, v]): [string, string] => [k, k === 'To' ? user : v]);
    await userSends(status, sms(user, 'hello', 'inbound-sms.form', '+15005550001'));
    expect(await tableItems()).toEqual(before);
    expect(sentTo(user)).toEqual([]);
  });
});

describe('Twilio conversations', () => {
  it('starts a session on the first SMS and greets with the buttons as numbered options, from the bot number', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'));
    const session = await sessionOf(user);
    expect(session).toMatchObject({ botId: 'tw-bot', channel: 'twilio', userId: user, channelUser: { account: BOT_NUMBER, user } });
    expect(sentTo(user)).toEqual([{ accountSid: ACCOUNT_SID, to: user, from: BOT_NUMBER, body: `${WELCOME}\n\n${OPTIONS}`, mediaUrls: [], media: [] }]);
    const call = tw.calls.find((c) => c.params.To?.[0] === user)!;
    expect(call.credentials).toBe(`${ACCOUNT_SID}:${AUTH_TOKEN}`);
    expect((await transcriptOf(user)).map((m) => [m.from, m.text])).toEqual([
      ['user', 'hello'],
      ['bot', WELCOME],
    ]);
  });

  it('takes a button by its number, then text as an answer', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'), sms(user, ' 2 '), sms(user, 'Ada'));
    expect(bodiesSentTo(user)).toEqual([`${WELCOME}\n\n${OPTIONS}`, 'What is your name?', 'Hello Ada!']);
  });

  it('takes a button by its label, case and spaces aside', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'), sms(user, '  TELL me your name PLEASE '), sms(user, 'Grace'));
    expect(bodiesSentTo(user)).toEqual([`${WELCOME}\n\n${OPTIONS}`, 'What is your name?', 'Hello Grace!']);
  });

  it('gives the default answer to a reply that is neither a number on the list nor a label', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'), sms(user, '9'), sms(user, 'upload'));
    const bodies = bodiesSentTo(user);
    expect(bodies).toHaveLength(3);
    expect(bodies.slice(1).every((b) => b !== 'Please send the file.' && b !== 'What is your name?')).toBe(true);
    // Still waiting for a button: "1" works afterwards.
    await userSends(sms(user, '1'));
    expect(bodiesSentTo(user).at(-1)).toBe('Please send the file.');
  });

  it('answers an answer question literally: "1" is a name there, not a button', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'), sms(user, '2'), sms(user, '1'));
    expect(bodiesSentTo(user).at(-1)).toBe('Hello 1!');
  });

  it('processes a replayed MessageSid once', async () => {
    const user = newUser();
    const first = sms(user, 'hello');
    await userSends(first, first);
    await userSends(first);
    expect(bodiesSentTo(user)).toEqual([`${WELCOME}\n\n${OPTIONS}`]);
    expect((await transcriptOf(user)).filter((m) => m.from === 'user')).toHaveLength(1);
  });

  it('receives an MMS photo with Basic auth, checks it and keeps it under a generated name with its type\'s extension', async () => {
    const user = await userAskedForFile();
    const message = mms(user, []);
    const url = tw.addMedia(ACCOUNT_SID, sidOf(message), { bytes: jpg(), contentType: 'image/jpeg' });
    const withMedia = mms(user, [{ url, contentType: 'image/jpeg' }]).map(([k, v]): [string, string] => [k, k === 'MessageSid' ? sidOf(message) : v]);
    await userSends(withMedia);
    const path = new URL(url).pathname;
    expect(tw.downloads.filter((d) => d.path === path)).toEqual([{ path, authorized: true }]);
    const [file] = (await transcriptOf(user)).flatMap((m) => m.attachments ?? []);
    expect(file).toMatchObject({ contentType: 'image/jpeg', size: jpg().length });
    expect(file!.fileName).toMatch(/^mms-[0-9a-f]{8}-1\.jpg$/);
    expect(bodiesSentTo(user).at(-1)).toBe(`Thanks, I received ${file!.fileName}.`);
    expect(await objectsOf((await sessionOf(user)).id)).toHaveLength(1);
  });

  it('refuses MMS media whose bytes do not match the announced type, keeping nothing', async () => {
    const user = await userAskedForFile();
    const message = mms(user, []);
    const url = tw.addMedia(ACCOUNT_SID, sidOf(message), { bytes: pdf('not a photo'), contentType: 'image/jpeg' });
    await userSends(mms(user, [{ url, contentType: 'image/jpeg' }]));
    const messages = await transcriptOf(user);
    expect(messages.find((m) => m.warning)).toMatchObject({ warning: 'attachment_content_mismatch' });
    expect(messages.flatMap((m) => m.attachments ?? [])).toEqual([]);
    expect(await objectsOf((await sessionOf(user)).id)).toEqual([]);
  });

  it('refuses media whose URL redirects to a private address, keeping nothing', async () => {
    const user = await userAskedForFile();
    const message = mms(user, []);
    const url = tw.addMedia(ACCOUNT_SID, sidOf(message), { bytes: jpg(), contentType: 'image/jpeg', redirectTo: 'http://169.254.169.254/latest/meta-data/' });
    await userSends(mms(user, [{ url, contentType: 'image/jpeg' }]));
    expect(tw.downloads.filter((d) => d.path === new URL(url).pathname)).toHaveLength(1);
    const messages = await transcriptOf(user);
    expect(messages.find((m) => m.warning)).toMatchObject({ warning: 'attachment_upload_failed' });
    expect(messages.flatMap((m) => m.attachments ?? [])).toEqual([]);
    expect(await objectsOf((await sessionOf(user)).id)).toEqual([]);
  });

  it('sends a file within MMS limits as MediaUrl: an absolute /files link on PUBLIC_BASE_URL that serves the same bytes', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'), sms(user, 'Send me the form'));
    const [, file, after] = sentTo(user);
    expect(file!.body).toBe('claim-form.pdf');
    expect(file!.mediaUrls).toHaveLength(1);
    expect(file!.mediaUrls[0]).toMatch(new RegExp(`^${rt.config.PUBLIC_BASE_URL}/files/[\\w.-]+$`));
    expect(file!.media).toEqual([{ status: 200, contentType: 'application/pdf', size: FORM.length, sha256: createHash('sha256').update(FORM).digest('hex') }]);
    expect(after!.body).toBe('There is the form.');
  });

  it('sends a file over MMS limits (a 600 KB PDF) as a link in the text', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'), sms(user, '4'));
    const [, file, after] = sentTo(user);
    expect(file!.mediaUrls).toEqual([]);
    const link = file!.body.match(/^big-form\.pdf: (\S+)$/)?.[1];
    expect(link).toMatch(new RegExp(`^${rt.config.PUBLIC_BASE_URL}/files/[\\w.-]+$`));
    const res = await fetch(link!);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(BIG_FORM)).toBe(true);
    expect(after!.body).toBe('There is the form.');
  });

  it('retries a failed send through the queue without losing or repeating replies, and skips a refused one', async () => {
    const user = newUser();
    tw.failNext(500, 20500);
    await userSends(sms(user, 'hello'));
    expect(tw.calls.filter((c) => c.status === 500 && c.params.To?.[0] === user)).toHaveLength(1);
    expect(bodiesSentTo(user)).toEqual([`${WELCOME}\n\n${OPTIONS}`]);
    // 21610: the user texted STOP. Never accepted; the next reply still goes out.
    tw.failNext(400, 21610);
    await userSends(sms(user, '2'));
    await userSends(sms(user, 'Ada'));
    expect(bodiesSentTo(user)).toEqual([`${WELCOME}\n\n${OPTIONS}`, 'Hello Ada!']);
  });
});

describe('Twilio secrets', () => {
  it('never writes the auth token (or the Basic credentials made from it) into a log line, whatever fails', async () => {
    const user = newUser();
    const logs = await captureLogs(async () => {
      expect((await post(sms(user, 'hello'), { signature: 'forged' })).status).toBe(403);
      tw.failNext(500, 20500);
      await userSends(sms(user, 'hello'));
      await userSends(sms(user, '1'));
      const message = mms(user, []);
      const url = tw.addMedia(ACCOUNT_SID, sidOf(message), { bytes: jpg(), contentType: 'image/jpeg', redirectTo: 'http://10.0.0.1/x' });
      await userSends(mms(user, [{ url, contentType: 'image/jpeg' }]));
      tw.failNext(400, 21610);
      await userSends(sms(user, 'anything'));
    });
    const text = logs.join('\n');
    expect(text).toContain('twilio webhook with an invalid signature refused');
    expect(text).toContain('twilio send failed');
    expect(text).toContain('twilio media not downloaded');
    expect(text).not.toContain(AUTH_TOKEN);
    expect(text).not.toContain(Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64'));
  });
});

describe('Twilio and Live Takeover', () => {
  it('delivers an agent message to the SMS user through the Messages API', async () => {
    const user = newUser();
    await userSends(sms(user, 'hello'));
    const session = await sessionOf(user);
    const { token } = (await (
      await fetch(`${rt.urls.app}/local/agent-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId: 'ann', name: 'Ann' }) })
    ).json()) as { token: string };
    const agent = (path: string, body?: unknown) =>
      fetch(`${rt.urls.app}/agent/conversations/${session.id}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    expect((await agent('/takeover')).status).toBe(200);
    expect((await agent('/messages', { text: 'Hello from Ann' })).status).toBe(202);
    await rt.events.drain();
    const sent = sentTo(user);
    expect(sent[0]!.body).toBe(`${WELCOME}\n\n${OPTIONS}`);
    expect(sent.filter((m) => m.body === 'Hello from Ann')).toHaveLength(1);
    expect(sent.every((m) => m.from === BOT_NUMBER)).toBe(true);
    // While taken over, "1" is words for the agent, not a button for the bot.
    await userSends(sms(user, '1'));
    expect(bodiesSentTo(user)).not.toContain('Please send the file.');
  });
});

describe('Twilio limits in the bot config', () => {
  it('reports MMS limits', async () => {
    const body = (await (await fetch(`${rt.urls.app}/web/bots/tw-bot/config`)).json()) as { channels: Record<string, Record<string, unknown>> };
    expect(body.channels.twilio).toMatchObject({
      receiveMaxBytes: 2 * 1024 * 1024,
      channelReceiveMaxBytes: 5 * 1024 * 1024,
      sendMaxBytes: 500 * 1024,
      sendMaxBytesByType: { 'image/jpeg': 5 * 1024 * 1024, 'image/png': 5 * 1024 * 1024, 'image/gif': 5 * 1024 * 1024 },
      maxTextChars: 1600,
    });
    expect(Object.keys(body.channels)).toEqual(['twilio']);
  });
});
