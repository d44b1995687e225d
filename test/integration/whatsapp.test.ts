import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { dynamoDocumentClient } from '../../shared/adapters/clients';
import { sessionPrefix } from '../../shared/adapters/file-store';
import { signatureFor } from '../../shared/channels/whatsapp/signature';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server';
import { captureLogs } from '../support/logs';
import { startTestRuntime } from '../support/runtime';
import { pdf, png } from '../support/samples';
import { startWhatsAppApi, whatsappError, type FakeWhatsAppApi, type WhatsAppCall } from '../support/whatsapp-api';

/**
 * The WhatsApp Cloud API channel end to end on the local runtime: signed webhooks (the
 * documented samples in test/fixtures/whatsapp) into intake, the FIFO queue into actions,
 * media and replies through the local stand-in of the Graph API (test/support/whatsapp-api.ts).
 */

const PN = '106540352242922';
const APP_SECRET = 'wa-app-secret-3c1d';
const VERIFY_TOKEN = 'wa-verify-token-88e0';
const ACCESS_TOKEN = 'EAAwa-access-token-5d6f';
const SIZE_LIMIT = 256 * 1024;

let rt: Awaited<ReturnType<typeof startTestRuntime>>;
let wa: FakeWhatsAppApi;
let docs: FixtureServer;
let redirector: FixtureServer;
let privateHost: FixtureServer;
let botsDir: string;
let clockOffsetMs = 0;

const FORM = pdf('Claim form');
const PHOTO = png();

beforeAll(async () => {
  wa = await startWhatsAppApi({ accessToken: ACCESS_TOKEN, phoneNumberIds: [PN] });
  docs = await startFixtureServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = path === '/form.pdf' ? FORM : path === '/photo.png' ? PHOTO : undefined;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': path.endsWith('.pdf') ? 'application/pdf' : 'image/png', 'content-length': body.length });
    res.end(body);
  });
  privateHost = await startFixtureServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(PHOTO);
  });
  // An allowlisted host whose media URL sends the fetcher on to a private, non-allowlisted one.
  redirector = await startFixtureServer((_req, res) => void res.writeHead(302, { location: `${privateHost.url}/photo.png` }).end());
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-wa-bots-'));
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ label: `Topic ${i + 1}`, next: i === 0 ? 'send-photo' : i === 4 ? 'big-menu' : 'thanks-topic' }));
  writeFileSync(
    join(botsDir, 'wa-bot.json'),
    JSON.stringify({
      id: 'wa-bot',
      name: 'WhatsApp test bot',
      // Longer than the 24-hour window, so a session outlives it.
      sessionTimeoutSeconds: 3 * 86400,
      defaultAnswer: "Sorry, I didn't catch that.",
      attachments: { allowedTypes: ['jpg', 'jpeg', 'png', 'pdf'], sizeLimitBytes: SIZE_LIMIT },
      liveTakeover: { startMessage: 'You are now chatting with {agent.name}.' },
      channels: {
        whatsapp: { phoneNumberId: PN, appSecret: { secret: 'wa-app' }, verifyToken: { secret: 'wa-verify' }, accessToken: { secret: 'wa-access' } },
      },
      start: 'welcome',
      interactions: {
        welcome: {
          type: 'message',
          text: 'Hi! What would you like to do?',
          buttons: [
            { label: 'Upload a document', next: 'ask-upload' },
            { label: 'Browse all the topics we cover', next: 'topics' },
            { label: 'Send me the form', next: 'send-form' },
          ],
        },
        topics: { type: 'message', text: 'Pick a topic', buttons: many(5) },
        'thanks-topic': { type: 'message', text: 'Noted.' },
        'big-menu': {
          type: 'message',
          text: 'Choose one',
          buttons: Array.from({ length: 11 }, (_, i) => ({ label: `Choice ${i + 1}`, next: i === 10 ? 'eleven' : 'thanks-topic' })),
        },
        eleven: { type: 'message', text: 'You chose eleven.' },
        'ask-upload': { type: 'question', text: 'Please send the file.', answerFormat: 'attachment', variable: 'doc', next: 'thanks' },
        thanks: { type: 'message', text: 'Thanks, I received {doc}.' },
        'send-form': {
          type: 'action',
          action: { type: 'sendAttachment', endpoint: `${docs.url}/form.pdf`, fileName: 'claim-form.pdf' },
          next: 'form-sent',
          onError: 'failed',
        },
        'send-photo': {
          type: 'action',
          action: { type: 'sendAttachment', endpoint: `${docs.url}/photo.png`, fileName: 'photo.png' },
          next: 'form-sent',
          onError: 'failed',
        },
        'form-sent': { type: 'message', text: 'There it is.' },
        failed: { type: 'message', text: 'That is unavailable.' },
      },
    }),
  );
  rt = await startTestRuntime({
    botsDir,
    secrets: { 'wa-app': APP_SECRET, 'wa-verify': VERIFY_TOKEN, 'wa-access': ACCESS_TOKEN },
    whatsappApiUrl: wa.url,
    fetchAllowHosts: [wa.hostPort, docs.hostPort, redirector.hostPort].join(','),
    now: () => Date.now() + clockOffsetMs,
  });
});

afterAll(async () => {
  await rt?.stop();
  await Promise.all([wa?.close(), docs?.close(), redirector?.close(), privateHost?.close()]);
  if (botsDir) rmSync(botsDir, { recursive: true, force: true });
});

afterEach(() => {
  wa.reply = undefined;
  clockOffsetMs = 0;
});

// --- helpers -----------------------------------------------------------------------------

type Body = { entry: { changes: { value: { metadata: { phone_number_id: string }; contacts?: { wa_id: string }[]; messages?: Record<string, unknown>[] } }[] }[] };

const sample = (name: string): Body => JSON.parse(readFileSync(resolve('test/fixtures/whatsapp', `${name}.json`), 'utf8')) as Body;

let idCounter = 0;
const newId = () => `wamid.TEST${process.pid}x${++idCounter}`;

/** A documented sample, sent by `user` with a fresh message id and `edit` applied to its message. */
function delivery(name: string, user: string, edit: (m: Record<string, unknown>) => void = () => undefined, id = newId()): Body {
  const body = sample(name);
  const value = body.entry[0]!.changes[0]!.value;
  for (const c of value.contacts ?? []) c.wa_id = user;
  for (const m of value.messages ?? []) {
    m.from = user;
    m.id = id;
    m.timestamp = String(Math.floor((Date.now() + clockOffsetMs) / 1000));
    edit(m);
  }
  return body;
}

const textFrom = (user: string, body: string, id?: string) => delivery('text', user, (m) => (m.text = { body }), id);
const buttonFrom = (user: string, index: number, title: string) =>
  delivery('interactive-button-reply', user, (m) => (m.interactive = { type: 'button_reply', button_reply: { id: `SATCHEL_BUTTON:${index}`, title } }));
const listRowFrom = (user: string, index: number, title: string) =>
  delivery('interactive-list-reply', user, (m) => (m.interactive = { type: 'list_reply', list_reply: { id: `SATCHEL_BUTTON:${index}`, title } }));

const b64 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');
const mediaFrom = (user: string, kind: 'document' | 'image', mediaId: string, extra: Record<string, unknown> = {}) =>
  delivery(kind, user, (m) => {
    const media = m[kind] as Record<string, unknown>;
    media.id = mediaId;
    Object.assign(media, extra);
  });

async function post(body: unknown, opts: { secret?: string; signature?: string | null } = {}): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const signature = opts.signature === undefined ? signatureFor(raw, opts.secret ?? APP_SECRET) : opts.signature;
  return fetch(`${rt.urls.app}/channels/whatsapp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature !== null && { 'x-hub-signature-256': signature }) },
    body: raw,
  });
}

/** One signed delivery; resolves once actions are done. */
async function userSends(body: Body): Promise<void> {
  const res = await post(body);
  expect(res.status).toBe(200);
  await rt.events.drain();
}

const sentTo = (user: string): WhatsAppCall[] => wa.delivered(user);
const describeSend = (c: WhatsAppCall): string =>
  c.body?.text?.body ?? (c.body?.interactive ? `[${c.body.interactive.type}] ${c.body.interactive.body.text}` : `[${c.body?.type}]`);
const textsSentTo = (user: string) => sentTo(user).map(describeSend);

async function sessionOf(user: string) {
  const id = await rt.deps.channels.currentSessionId('whatsapp', PN, user);
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

async function storedBytes(sessionId: string, attachmentId: string): Promise<Buffer> {
  const record = (await rt.deps.attachments.get(sessionId, attachmentId))!;
  const chunks: Buffer[] = [];
  for await (const c of await rt.deps.files.open(record.key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const api = (method: string, path: string, body?: unknown, token?: string) =>
  fetch(`${rt.urls.app}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function agentToken(agentId: string, name: string): Promise<string> {
  const res = await api('POST', '/local/agent-token', { agentId, name });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

const WELCOME = 'Hi! What would you like to do?';

// --- tests -------------------------------------------------------------------------------

describe('WhatsApp subscription handshake', () => {
  const handshake = (query: Record<string, string>) => fetch(`${rt.urls.app}/channels/whatsapp?${new URLSearchParams(query)}`);

  it('answers hub.challenge as text when the verify token matches', async () => {
    const res = await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('1158201444');
  });

  it('answers 403 to a wrong verify token, a prefix of it, or another mode', async () => {
    for (const query of <Record<string, string>[]>[
      { 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '1' },
      { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN.slice(0, -1), 'hub.challenge': '1' },
      { 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1' },
      { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN },
    ]) {
      const res = await handshake(query);
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain('1158201444');
    }
  });
});

describe('WhatsApp webhook verification', () => {
  it('refuses a forged, missing or foreign-secret signature with 401 and stores and queues nothing', async () => {
    const before = await tableItems();
    const calls = wa.calls.length;
    const body = textFrom('15550000001', 'hello');
    const raw = JSON.stringify(body);
    const attempts: { signature?: string | null; secret?: string; body?: string }[] = [
      { signature: `sha256=${'0'.repeat(64)}` },
      { signature: null },
      { secret: 'another-apps-secret' },
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
    expect(await rt.deps.channels.currentSessionId('whatsapp', PN, '15550000001')).toBeUndefined();
    expect(wa.calls.length).toBe(calls);
  });

  it('answers 400 to a correctly signed body that is not JSON or not a webhook event', async () => {
    const noFrom = textFrom('15550000002', 'x');
    delete noFrom.entry[0]!.changes[0]!.value.messages![0]!.from;
    for (const raw of ['{"object":"whatsapp_business_account","entry":[', '[1,2,3]', '{"object":"whatsapp_business_account"}', JSON.stringify(noFrom)]) {
      expect((await post(raw)).status, raw).toBe(400);
    }
    expect(await rt.deps.channels.currentSessionId('whatsapp', PN, '15550000002')).toBeUndefined();
    // Forged, the same bodies are 401: nothing is said about them before verification.
    expect((await post('{"object":"whatsapp_business_account","entry":[', { secret: 'forged' })).status).toBe(401);
  });

  it('acknowledges delivery statuses, stickers and other numbers with 200 and ignores them', async () => {
    const before = await tableItems();
    const calls = wa.calls.length;
    const statuses = sample('statuses');
    expect((await post(statuses)).status).toBe(200);
    expect((await post(delivery('sticker', '15550000003'))).status).toBe(200);
    const otherNumber = textFrom('15550000003', 'hello');
    otherNumber.entry[0]!.changes[0]!.value.metadata.phone_number_id = '999999';
    expect((await post(otherNumber)).status).toBe(200);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(wa.calls.length).toBe(calls);
  });
});

describe('WhatsApp conversations', () => {
  it('greets with reply buttons and follows a button press', async () => {
    const user = '15551110001';
    await userSends(textFrom(user, 'Hello'));
    const greeting = sentTo(user);
    expect(greeting).toHaveLength(1);
    expect(greeting[0]!.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(greeting[0]!.path).toBe(`/v21.0/${PN}/messages`);
    const interactive = greeting[0]!.body!.interactive!;
    expect(interactive.type).toBe('button');
    expect(interactive.body.text).toBe(WELCOME);
    expect(interactive.action.buttons!.map((b) => b.reply)).toEqual([
      { id: 'SATCHEL_BUTTON:0', title: 'Upload a document' },
      { id: 'SATCHEL_BUTTON:1', title: 'Browse all the topi…' },
      { id: 'SATCHEL_BUTTON:2', title: 'Send me the form' },
    ]);
    const session = await sessionOf(user);
    expect([session.channel, session.userName, session.channelUser]).toEqual(['whatsapp', 'Sheena Nelson', { account: PN, user }]);

    await userSends(buttonFrom(user, 0, 'Upload a document'));
    expect(textsSentTo(user).at(-1)).toBe('Please send the file.');
    expect((await transcriptOf(user)).filter((m) => m.from === 'user').map((m) => m.text)).toEqual(['Hello', 'Upload a document']);
  });

  it('offers 4 to 10 buttons as a list and follows the row chosen', async () => {
    const user = '15551110002';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 1, 'Browse all the topi…'));
    const list = sentTo(user).at(-1)!.body!.interactive!;
    expect(list.type).toBe('list');
    expect(list.body.text).toBe('Pick a topic');
    expect(list.action.sections!.flatMap((s) => s.rows).map((r) => [r.id, r.title])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [`SATCHEL_BUTTON:${n - 1}`, `Topic ${n}`]),
    );
    await userSends(listRowFrom(user, 3, 'Topic 4'));
    expect(textsSentTo(user).at(-1)).toBe('Noted.');
  });

  it('offers more than 10 buttons as numbered text, and a reply of the number picks one', async () => {
    const user = '15551110004';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 1, 'Browse'));
    await userSends(listRowFrom(user, 4, 'Topic 5'));
    const menu = sentTo(user).at(-1)!.body!;
    expect(menu.type).toBe('text');
    expect(menu.text!.body).toBe(`Choose one\n\n${Array.from({ length: 11 }, (_, i) => `${i + 1}. Choice ${i + 1}`).join('\n')}`);
    await userSends(textFrom(user, '11'));
    expect(textsSentTo(user).at(-1)).toBe('You chose eleven.');
  });

  it('processes a message id once when Meta delivers it three times, at once or one after another', async () => {
    const user = '15551110003';
    const first = textFrom(user, 'only once', 'wamid.DUP-1');
    expect((await Promise.all([post(first), post(first), post(first)])).map((r) => r.status)).toEqual([200, 200, 200]);
    await rt.events.drain();
    for (let i = 0; i < 3; i++) await userSends(textFrom(user, 'again', 'wamid.DUP-2'));
    const userTexts = (await transcriptOf(user)).filter((m) => m.from === 'user').map((m) => m.text);
    expect(userTexts).toEqual(['only once', 'again']);
    // The greeting, then one default answer to "again".
    expect(textsSentTo(user)).toEqual([`[button] ${WELCOME}`, "Sorry, I didn't catch that."]);
  });
});

describe('WhatsApp media from users', () => {
  it('keeps a document under its filename when its bytes match the digest (webhook base64, endpoint hex)', async () => {
    const user = '15552220001';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 0, 'Upload a document'));
    const bytes = pdf('Signed claim');
    const mediaId = wa.addMedia({ bytes, mimeType: 'application/pdf' });
    const before = wa.calls.length;
    await userSends(mediaFrom(user, 'document', mediaId, { sha256: b64(bytes), filename: 'signed-claim.pdf' }));

    const fetched = wa.calls.slice(before).filter((c) => c.method === 'GET');
    expect(fetched.map((c) => [c.path, c.authorization])).toEqual([
      [`/v21.0/${mediaId}`, `Bearer ${ACCESS_TOKEN}`],
      [`/lookaside/${mediaId}`, `Bearer ${ACCESS_TOKEN}`],
    ]);
    const session = await sessionOf(user);
    const kept = (await transcriptOf(user)).find((m) => m.from === 'user' && m.attachments?.length)!;
    expect(kept.attachments!.map((a) => [a.fileName, a.contentType, a.size])).toEqual([['signed-claim.pdf', 'application/pdf', bytes.length]]);
    expect((await storedBytes(session.id, kept.attachments![0]!.id)).equals(bytes)).toBe(true);
    expect(textsSentTo(user).at(-1)).toBe('Thanks, I received signed-claim.pdf.');
  });

  it('names an image without a filename after its media id and type', async () => {
    const user = '15552220002';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 0, 'Upload a document'));
    const mediaId = wa.addMedia({ bytes: PHOTO, mimeType: 'image/png' });
    await userSends(mediaFrom(user, 'image', mediaId, { sha256: b64(PHOTO), mime_type: 'image/png' }));
    const kept = (await transcriptOf(user)).find((m) => m.attachments?.length)!;
    expect(kept.attachments![0]!.fileName).toBe(`${mediaId}.png`);
    expect(textsSentTo(user).at(-1)).toBe(`Thanks, I received ${mediaId}.png.`);
  });

  it('refuses media whose bytes do not match the digest, or whose webhook digest differs: a warning, nothing kept', async () => {
    const user = '15552220003';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 0, 'Upload a document'));
    const bytes = pdf('Tampered');
    // The media endpoint's digest is of other bytes.
    const wrongEndpoint = wa.addMedia({ bytes, mimeType: 'application/pdf', sha256: createHash('sha256').update('other').digest('hex') });
    await userSends(mediaFrom(user, 'document', wrongEndpoint, { sha256: undefined, filename: 'a.pdf' }));
    // The endpoint is right, but the webhook announced other bytes.
    const wrongWebhook = wa.addMedia({ bytes, mimeType: 'application/pdf' });
    await userSends(mediaFrom(user, 'document', wrongWebhook, { sha256: b64(Buffer.from('other')), filename: 'b.pdf' }));

    // The first was downloaded and failed its digest; the second was refused before any download.
    const downloads = wa.calls.filter((c) => c.path.startsWith('/lookaside/')).map((c) => c.path);
    expect(downloads).toContain(`/lookaside/${wrongEndpoint}`);
    expect(downloads).not.toContain(`/lookaside/${wrongWebhook}`);
    const transcript = await transcriptOf(user);
    const warnings = transcript.filter((m) => m.warning);
    expect(warnings.map((w) => w.warning)).toEqual(['attachment_upload_failed', 'attachment_upload_failed']);
    expect(transcript.some((m) => m.attachments?.length)).toBe(false);
    expect(await objectsOf((await sessionOf(user)).id)).toEqual([]);
    // Each warning reaches the user naming the file it is about (the channel has no other place for the name).
    expect(warnings.map((w) => w.fileName)).toEqual(['a.pdf', 'b.pdf']);
    for (const w of warnings) expect(textsSentTo(user)).toContain(`${w.fileName}: ${w.text}`);
  });

  it('refuses a media URL that redirects to a private address, without contacting it', async () => {
    const user = '15552220004';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 0, 'Upload a document'));
    const mediaId = wa.addMedia({ bytes: PHOTO, mimeType: 'image/png', url: `${redirector.url}/media/1` });
    await userSends(mediaFrom(user, 'image', mediaId, { sha256: b64(PHOTO), mime_type: 'image/png' }));
    // The media URL was asked (with the bearer token, it is the URL Meta gave), its redirect was not followed.
    expect(redirector.received).toHaveLength(1);
    expect(redirector.received[0]!.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(privateHost.received).toEqual([]);
    const warning = (await transcriptOf(user)).find((m) => m.warning);
    expect(warning).toMatchObject({ from: 'bot', warning: 'attachment_upload_failed' });
    expect(await objectsOf((await sessionOf(user)).id)).toEqual([]);
  });

  it('warns when the media endpoint refuses (unknown media id)', async () => {
    const user = '15552220005';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 0, 'Upload a document'));
    await userSends(mediaFrom(user, 'document', '424242424242', { filename: 'gone.pdf' }));
    expect((await transcriptOf(user)).find((m) => m.warning)).toMatchObject({ from: 'bot', warning: 'attachment_upload_failed' });
  });

  it('refuses media over the bot\'s size limit with attachment_too_large, nothing kept', async () => {
    const user = '15552220006';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 0, 'Upload a document'));
    const big = Buffer.concat([pdf('Big'), Buffer.alloc(SIZE_LIMIT * 2, 0x20)]);
    const mediaId = wa.addMedia({ bytes: big, mimeType: 'application/pdf' });
    await userSends(mediaFrom(user, 'document', mediaId, { sha256: b64(big), filename: 'big.pdf' }));
    expect((await transcriptOf(user)).filter((m) => m.warning).map((m) => m.warning)).toEqual(['attachment_too_large']);
    expect(await objectsOf((await sessionOf(user)).id)).toEqual([]);
  });
});

describe('WhatsApp files to users', () => {
  it('uploads a document to /media and sends it by id with its filename', async () => {
    const user = '15553330001';
    await userSends(textFrom(user, 'Hi'));
    const before = wa.calls.length;
    await userSends(buttonFrom(user, 2, 'Send me the form'));
    const calls = wa.calls.slice(before);
    const upload = calls.find((c) => c.path === `/v21.0/${PN}/media`)!;
    expect(upload.status).toBe(200);
    expect(upload.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(upload.form!.fields).toEqual({ messaging_product: 'whatsapp', type: 'application/pdf' });
    expect(upload.form!.file!.name).toBe('claim-form.pdf');
    expect(upload.form!.file!.bytes.equals(FORM)).toBe(true);
    const uploadedId = [...wa.media.entries()].find(([, m]) => m.bytes.equals(FORM))![0];
    const sends = calls.filter((c) => c.path.endsWith('/messages')).map((c) => c.body);
    expect(sends.map((b) => b!.type)).toEqual(['document', 'text']);
    expect(sends[0]!.document).toEqual({ id: uploadedId, filename: 'claim-form.pdf' });
    expect(sends[1]!.text!.body).toBe('There it is.');
  });

  it('sends a small png as an image by id', async () => {
    const user = '15553330002';
    await userSends(textFrom(user, 'Hi'));
    await userSends(buttonFrom(user, 1, 'Browse'));
    await userSends(listRowFrom(user, 0, 'Topic 1'));
    const image = sentTo(user).find((c) => c.body?.type === 'image')!;
    expect(wa.media.get(image.body!.image!.id)!.bytes.equals(PHOTO)).toBe(true);
  });

  it('retries a send the Cloud API fails for a while, without repeating what went out', async () => {
    const user = '15553330003';
    let failures = 0;
    wa.reply = (call) => (call.body?.to === user && failures++ < 2 ? { status: 503, body: whatsappError(131000, 'Something went wrong') } : undefined);
    const logs = (await captureLogs(() => userSends(textFrom(user, 'Hi')))).join('\n');
    expect(failures).toBe(3);
    expect(textsSentTo(user)).toEqual([`[button] ${WELCOME}`]);
    expect(logs).toContain('whatsapp send failed');
    // Neither the access token nor the app secret is ever logged.
    expect(logs).not.toContain(ACCESS_TOKEN);
    expect(logs).not.toContain(APP_SECRET);
  });
});

describe('WhatsApp 24-hour customer-service window', () => {
  it('delivers agent messages inside the window and refuses them with 409 outside, until the user writes again', async () => {
    const user = '15554440001';
    await userSends(textFrom(user, 'I need a person'));
    const session = await sessionOf(user);
    const token = await agentToken('ann', 'Ann');
    expect((await api('POST', `/agent/conversations/${session.id}/takeover`, undefined, token)).status).toBe(200);
    expect((await api('POST', `/agent/conversations/${session.id}/messages`, { text: 'Hello from Ann' }, token)).status).toBe(202);
    expect(textsSentTo(user).at(-1)).toBe('Hello from Ann');

    clockOffsetMs = 24 * 3600 * 1000 + 60_000;
    const sentBefore = sentTo(user).length;
    const messagesBefore = (await transcriptOf(user)).length;
    const refused = await api('POST', `/agent/conversations/${session.id}/messages`, { text: 'Still there?' }, token);
    expect(refused.status).toBe(409);
    const refusal = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(refusal.code).toBe('channel_window_closed');
    expect(refusal.message).toMatch(/WhatsApp only delivers agent messages within 24 hours/);
    expect(sentTo(user)).toHaveLength(sentBefore);
    expect(await transcriptOf(user)).toHaveLength(messagesBefore);

    // The user writes: the window opens again.
    await userSends(textFrom(user, 'Yes, back'));
    expect((await api('POST', `/agent/conversations/${session.id}/messages`, { text: 'Welcome back' }, token)).status).toBe(202);
    expect(textsSentTo(user).at(-1)).toBe('Welcome back');
  });
});
