import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDocumentClient } from '../../shared/adapters/clients';
import { sessionPrefix } from '../../shared/adapters/file-store';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server';
import { captureLogs } from '../support/logs';
import { startTestRuntime } from '../support/runtime';
import { jpg, pdf } from '../support/samples';
import { startTelegramApi, telegramFixture, type FakeTelegramApi, type TelegramCall } from '../support/telegram-api';

/**
 * The Telegram channel end to end on the local runtime: updates posted to the intake with the
 * secret token, the FIFO queue into actions, files through the stand-in's getFile and file
 * download (via the SSRF-safe fetcher), replies out through sendMessage / sendDocument.
 */

const BOT_TOKEN = '123456789:AAH-secret-bot-token_XyZ';
const SECRET_TOKEN = 'tg-secret_Token-42';
const BIG_SECRET_TOKEN = 'tg-big-bot-secret';
const SIZE_LIMIT = 64 * 1024;
const WELCOME = 'Hi! What would you like to do?';

let rt: Awaited<ReturnType<typeof startTestRuntime>>;
let tg: FakeTelegramApi;
let docs: FixtureServer;
let botsDir: string;

const interactions = (docsUrl: string) => ({
  welcome: {
    type: 'message',
    text: WELCOME,
    buttons: [
      { label: 'Upload a document', next: 'ask-upload' },
      { label: 'Tell me your name please', next: 'ask-name' },
      { label: 'Send me the form', next: 'send-form' },
    ],
  },
  'ask-upload': { type: 'question', text: 'Please send the file.', answerFormat: 'attachment', variable: 'doc', next: 'thanks' },
  thanks: { type: 'message', text: 'Thanks, I received {doc}.' },
  'ask-name': { type: 'question', text: 'What is your name?', answerFormat: 'text', variable: 'nick', next: 'greet' },
  greet: { type: 'message', text: 'Hello {nick}!' },
  'send-form': {
    type: 'action',
    action: { type: 'sendAttachment', endpoint: `${docsUrl}/forms/claim.pdf`, fileName: 'claim-form.pdf' },
    next: 'form-sent',
    onError: 'form-failed',
  },
  'form-sent': { type: 'message', text: 'There is the form.' },
  'form-failed': { type: 'message', text: 'The form is unavailable.' },
});

const FORM = pdf('Claim form for Telegram');

beforeAll(async () => {
  tg = await startTelegramApi(BOT_TOKEN);
  docs = await startFixtureServer((req, res) => {
    if (req.url === '/forms/claim.pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': FORM.length });
      return void res.end(FORM);
    }
    res.writeHead(404).end();
  });
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-tg-bots-'));
  const bot = (id: string, secretToken: string, sizeLimitBytes: number) => ({
    id,
    name: `Telegram ${id}`,
    sessionTimeoutSeconds: 3600,
    attachments: { allowedTypes: ['jpg', 'jpeg', 'png', 'pdf'], sizeLimitBytes },
    channels: { telegram: { botToken: { secret: 'tg-token' }, secretToken: { secret: secretToken } } },
    start: 'welcome',
    interactions: interactions(docs.url),
  });
  writeFileSync(join(botsDir, 'tg-bot.json'), JSON.stringify(bot('tg-bot', 'tg-secret', SIZE_LIMIT)));
  // Accepts files up to 60 MB, more than Telegram serves bots (20 MB) or lets them upload (50 MB).
  writeFileSync(join(botsDir, 'tg-big.json'), JSON.stringify(bot('tg-big', 'tg-big-secret', 60 * 1024 * 1024)));
  rt = await startTestRuntime({
    botsDir,
    secrets: { 'tg-token': BOT_TOKEN, 'tg-secret': SECRET_TOKEN, 'tg-big-secret': BIG_SECRET_TOKEN },
    telegramApiUrl: tg.url,
    fetchAllowHosts: [tg.hostPort, docs.hostPort].join(','),
  });
});

afterAll(async () => {
  await rt?.stop();
  await Promise.all([tg?.close(), docs?.close()]);
  if (botsDir) rmSync(botsDir, { recursive: true, force: true });
});

// --- helpers -----------------------------------------------------------------------------

let updateCounter = 900_000_000;
let chatCounter = 5_000_000;
/** A fresh chat (Telegram user) id, so tests never share a conversation. */
const newChat = () => ++chatCounter;

type Update = Record<string, unknown> & { update_id: number };

/** A fixture update with a fresh update_id, in `chat`. */
function update(fixture: string, chat: number, change: (u: Record<string, any>) => void = () => undefined): Update { // eslint-disable-line @typescript-eslint/no-explicit-any
  const u = telegramFixture<Record<string, any>>(fixture); // eslint-disable-line @typescript-eslint/no-explicit-any
  u.update_id = ++updateCounter;
  for (const m of [u.message, u.edited_message, u.callback_query?.message, u.my_chat_member]) if (m?.chat) m.chat.id = chat;
  if (u.message?.from) u.message.from.id = chat;
  if (u.callback_query) u.callback_query.from.id = chat;
  change(u);
  return u as Update;
}

async function post(body: unknown, opts: { botId?: string; secret?: string | null } = {}): Promise<Response> {
  const secret = opts.secret === undefined ? SECRET_TOKEN : opts.secret;
  return fetch(`${rt.urls.app}/channels/telegram/${opts.botId ?? 'tg-bot'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret !== null && { 'x-telegram-bot-api-secret-token': secret }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Posts updates one by one (each answered 200) and waits for actions to finish. */
async function userSends(...updates: Update[]): Promise<void> {
  for (const u of updates) expect((await post(u)).status).toBe(200);
  await rt.events.drain();
}

const sentTo = (chat: number, method?: string): TelegramCall[] => tg.sent(method).filter((c) => String(c.params.chat_id) === String(chat));
const textsSentTo = (chat: number) => sentTo(chat).map((c) => (c.method === 'sendMessage' ? String(c.params.text) : `[${c.method}]`));

async function sessionOf(chat: number, account = 'tg-bot') {
  const id = await rt.deps.channels.currentSessionId('telegram', account, String(chat));
  expect(id).toBeDefined();
  return (await rt.deps.sessions.get(id!))!;
}

const transcriptOf = async (chat: number) => rt.deps.sessions.listMessages((await sessionOf(chat)).id);

async function tableItems(): Promise<Record<string, unknown>[]> {
  const out = await dynamoDocumentClient(rt.config).send(new ScanCommand({ TableName: rt.config.TABLE_NAME }));
  return out.Items ?? [];
}

async function objectsOf(sessionId: string): Promise<string[]> {
  const out = await rt.deps.files.s3.send(new ListObjectsV2Command({ Bucket: rt.deps.files.bucket, Prefix: sessionPrefix(sessionId) }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

/** A chat past the greeting and the "Upload a document" button: the bot waits for a file. */
async function chatAskingForFile(): Promise<number> {
  const chat = newChat();
  await userSends(update('update-text.json', chat));
  await userSends(update('update-callback-query.json', chat, (u) => (u.callback_query.data = 'b:0')));
  expect(textsSentTo(chat)).toEqual([WELCOME, 'Please send the file.']);
  return chat;
}

let fileCounter = 0;
function storeFile(bytes: Buffer, ext: string, opts: { fileSize?: number; redirectTo?: string; chunked?: boolean } = {}): string {
  const fileId = `BQACAgQAAxkBAAI-test-${++fileCounter}`;
  tg.addFile(fileId, { bytes, filePath: `documents/file_${fileCounter}.${ext}`, ...opts });
  return fileId;
}

// --- tests -------------------------------------------------------------------------------

describe('Telegram webhook verification', () => {
  it('refuses a wrong, missing or other-bot secret token with 401, an unknown bot with 404, and stores and queues nothing', async () => {
    const before = await tableItems();
    const chat = newChat();
    const body = update('update-text.json', chat);
    const attempts: { botId?: string; secret?: string | null }[] = [
      { secret: 'wrong' },
      { secret: SECRET_TOKEN.slice(0, -1) },
      { secret: null },
      { secret: BIG_SECRET_TOKEN },
    ];
    for (const opts of attempts) {
      const res = await post(body, opts);
      expect(res.status, JSON.stringify(opts)).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
    }
    const unknown = await post(body, { botId: 'no-such-bot' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('bot_not_found');
    // Checked before the body is read: a malformed body with a wrong token is a 401 too.
    expect((await post('{"update_id":', { secret: 'wrong' })).status).toBe(401);
    expect(rt.events.pending).toBe(0);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(await rt.deps.channels.currentSessionId('telegram', 'tg-bot', String(chat))).toBeUndefined();
    expect(sentTo(chat)).toEqual([]);
  });

  it('answers 400 to a body with the right token that is not JSON or not an update, and stores nothing', async () => {
    const before = await tableItems();
    for (const raw of ['{"update_id":', '[1,2,3]', '{"message":{"text":"no update id"}}', '{"update_id":"seven"}']) {
      const res = await post(raw);
      expect(res.status, raw).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
  });

  it('acknowledges updates the flow does not use (edits, membership changes) with 200 and ignores them', async () => {
    const before = await tableItems();
    const chat = newChat();
    for (const fixture of ['update-edited-message.json', 'update-member.json']) expect((await post(update(fixture, chat))).status).toBe(200);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(sentTo(chat)).toEqual([]);
  });

  it('serves private chats only: a group message is acknowledged and ignored (members would share one session)', async () => {
    const before = await tableItems();
    const group = -newChat();
    const inGroup = update('update-text.json', group, (u) => {
      u.message.chat.type = 'group';
      u.message.from.id = newChat();
    });
    expect((await post(inGroup)).status).toBe(200);
    await rt.events.drain();
    expect(await tableItems()).toEqual(before);
    expect(sentTo(group)).toEqual([]);
  });
});

describe('Telegram conversations', () => {
  it('starts a session on the first message and greets with an inline keyboard carrying button indexes', async () => {
    const chat = newChat();
    await userSends(update('update-text.json', chat));
    const session = await sessionOf(chat);
    expect(session).toMatchObject({ botId: 'tg-bot', channel: 'telegram', userId: String(chat), userName: 'Grace Hopper', channelUser: { account: 'tg-bot', user: String(chat) } });
    const [welcome, ...rest] = sentTo(chat);
    expect(rest).toEqual([]);
    expect(welcome).toMatchObject({ method: 'sendMessage', token: BOT_TOKEN, params: { chat_id: chat, text: WELCOME } });
    expect(welcome!.params.reply_markup).toEqual({
      inline_keyboard: [
        [{ text: 'Upload a document', callback_data: 'b:0' }],
        [{ text: 'Tell me your name please', callback_data: 'b:1' }],
        [{ text: 'Send me the form', callback_data: 'b:2' }],
      ],
    });
    expect((await transcriptOf(chat)).map((m) => [m.from, m.text])).toEqual([
      ['user', 'hello'],
      ['bot', WELCOME],
    ]);
  });

  it('follows a button press (callback_query), answers it with answerCallbackQuery, then takes text', async () => {
    const chat = newChat();
    await userSends(update('update-text.json', chat));
    const press = update('update-callback-query.json', chat, (u) => (u.callback_query.data = 'b:1'));
    await userSends(press);
    const answered = tg.sent('answerCallbackQuery').filter((c) => c.params.callback_query_id === (press.callback_query as { id: string }).id);
    expect(answered).toHaveLength(1);
    await userSends(update('update-text.json', chat, (u) => (u.message.text = 'Ada')));
    expect(textsSentTo(chat)).toEqual([WELCOME, 'What is your name?', 'Hello Ada!']);
    expect((await transcriptOf(chat)).map((m) => [m.from, m.text])).toEqual([
      ['user', 'hello'],
      ['bot', WELCOME],
      ['user', 'Tell me your name please'],
      ['bot', 'What is your name?'],
      ['user', 'Ada'],
      ['bot', 'Hello Ada!'],
    ]);
  });

  it('processes a replayed update_id once', async () => {
    const chat = newChat();
    const first = update('update-text.json', chat);
    await userSends(first, first);
    await userSends(first);
    expect(textsSentTo(chat)).toEqual([WELCOME]);
    expect((await transcriptOf(chat)).filter((m) => m.from === 'user')).toHaveLength(1);
  });

  it('receives a document through getFile and the file URL, checks it and keeps it', async () => {
    const chat = await chatAskingForFile();
    const bytes = pdf('Completed claim');
    const fileId = storeFile(bytes, 'pdf');
    await userSends(update('update-document.json', chat, (u) => Object.assign(u.message.document, { file_id: fileId, file_size: bytes.length })));
    expect(tg.sent('getFile').filter((c) => c.params.file_id === fileId)).toHaveLength(1);
    expect(textsSentTo(chat)).toEqual([WELCOME, 'Please send the file.', 'Thanks, I received claim.pdf.']);
    const session = await sessionOf(chat);
    const files = (await transcriptOf(chat)).flatMap((m) => m.attachments ?? []);
    expect(files).toMatchObject([{ fileName: 'claim.pdf', contentType: 'application/pdf', size: bytes.length }]);
    expect(await objectsOf(session.id)).toHaveLength(1);
  });

  it('receives a photo: the largest size, named with its checked type', async () => {
    const chat = await chatAskingForFile();
    const small = storeFile(Buffer.from('not this one'), 'jpg');
    const large = storeFile(jpg(), 'jpg');
    await userSends(
      update('update-photo.json', chat, (u) => {
        u.message.photo[0].file_id = small;
        u.message.photo[2].file_id = large;
        u.message.photo[2].file_size = jpg().length;
      }),
    );
    expect(tg.sent('getFile').map((c) => c.params.file_id)).toContain(large);
    expect(tg.sent('getFile').map((c) => c.params.file_id)).not.toContain(small);
    const [file] = (await transcriptOf(chat)).flatMap((m) => m.attachments ?? []);
    expect(file!.fileName).toMatch(/^photo-[A-Za-z0-9_-]+\.jpg$/);
    expect(file!.contentType).toBe('image/jpeg');
  });

  it('refuses a document over Telegram\'s 20 MB bot download limit before fetching it, naming that limit', async () => {
    const chat = newChat();
    const big = (u: Record<string, any>) => u; // eslint-disable-line @typescript-eslint/no-explicit-any
    const postBig = (u: Update) => post(u, { botId: 'tg-big', secret: BIG_SECRET_TOKEN });
    expect((await postBig(update('update-text.json', chat, big))).status).toBe(200);
    expect((await postBig(update('update-callback-query.json', chat, (u) => (u.callback_query.data = 'b:0')))).status).toBe(200);
    await rt.events.drain();
    const fileId = storeFile(pdf('huge'), 'pdf');
    const downloadsBefore = tg.downloads.length;
    const getFilesBefore = tg.sent('getFile').length;
    const doc = update('update-document.json', chat, (u) => Object.assign(u.message.document, { file_id: fileId, file_size: 25 * 1024 * 1024 }));
    expect((await postBig(doc)).status).toBe(200);
    await rt.events.drain();
    expect(tg.downloads.length).toBe(downloadsBefore);
    expect(tg.sent('getFile').length).toBe(getFilesBefore);
    const session = await sessionOf(chat, 'tg-big');
    const warning = (await rt.deps.sessions.listMessages(session.id)).find((m) => m.warning);
    expect(warning).toMatchObject({ warning: 'attachment_too_large', text: 'That file is too large. Files sent on Telegram can be up to 20 MB.' });
    expect(await objectsOf(session.id)).toEqual([]);
    expect((await rt.deps.sessions.listMessages(session.id)).flatMap((m) => m.attachments ?? [])).toEqual([]);
  });

  it('stops a file whose bytes pass the limit while streaming, even when its announced size was small', async () => {
    const chat = await chatAskingForFile();
    const fileId = storeFile(Buffer.concat([pdf('big'), Buffer.alloc(SIZE_LIMIT * 2, 32)]), 'pdf', { fileSize: 1000, chunked: true });
    await userSends(update('update-document.json', chat, (u) => Object.assign(u.message.document, { file_id: fileId, file_size: 1000 })));
    const messages = await transcriptOf(chat);
    expect(messages.find((m) => m.warning)).toMatchObject({ warning: 'attachment_too_large' });
    expect(messages.flatMap((m) => m.attachments ?? [])).toEqual([]);
    expect(await objectsOf((await sessionOf(chat)).id)).toEqual([]);
  });

  it('refuses media whose file URL redirects to a private address, keeping nothing', async () => {
    const chat = await chatAskingForFile();
    const fileId = storeFile(pdf('x'), 'pdf', { redirectTo: 'http://169.254.169.254/latest/meta-data/' });
    await userSends(update('update-document.json', chat, (u) => Object.assign(u.message.document, { file_id: fileId, file_size: 100 })));
    const messages = await transcriptOf(chat);
    expect(messages.find((m) => m.warning)).toMatchObject({ warning: 'attachment_upload_failed' });
    expect(messages.flatMap((m) => m.attachments ?? [])).toEqual([]);
    expect(await objectsOf((await sessionOf(chat)).id)).toEqual([]);
  });

  it('sends a Send Attachment file as a multipart sendDocument upload with the same bytes', async () => {
    const chat = newChat();
    await userSends(update('update-text.json', chat));
    await userSends(update('update-callback-query.json', chat, (u) => (u.callback_query.data = 'b:2')));
    expect(textsSentTo(chat)).toEqual([WELCOME, '[sendDocument]', 'There is the form.']);
    const [upload] = sentTo(chat, 'sendDocument');
    expect(upload!.files.document).toEqual({
      fileName: 'claim-form.pdf',
      contentType: 'application/pdf',
      size: FORM.length,
      sha256: createHash('sha256').update(FORM).digest('hex'),
    });
  });

  it('retries a failed send through the queue without losing or repeating replies', async () => {
    const chat = newChat();
    tg.failNext('sendMessage', 500);
    await userSends(update('update-text.json', chat));
    expect(tg.calls.filter((c) => c.status === 500 && String(c.params.chat_id) === String(chat))).toHaveLength(1);
    expect(textsSentTo(chat)).toEqual([WELCOME]);
    expect((await transcriptOf(chat)).filter((m) => m.from === 'bot')).toHaveLength(1);
  });

  it('never writes the bot token into a log line, whatever fails', async () => {
    const chat = newChat();
    const logs = await captureLogs(async () => {
      tg.failNext('sendMessage', 500);
      await userSends(update('update-text.json', chat));
      await userSends(update('update-callback-query.json', chat, (u) => (u.callback_query.data = 'b:0')));
      // getFile refuses an unknown file id; the download of a known one redirects to a private address.
      await userSends(update('update-document.json', chat, (u) => (u.message.document.file_id = 'unknown-file-id')));
      const fileId = storeFile(pdf('x'), 'pdf', { redirectTo: 'http://10.0.0.1/x' });
      await userSends(update('update-document.json', chat, (u) => Object.assign(u.message.document, { file_id: fileId, file_size: 10 })));
      tg.failNext('sendMessage', 403);
      await userSends(update('update-text.json', chat, (u) => (u.message.text = 'anything')));
    });
    const text = logs.join('\n');
    expect(logs.length).toBeGreaterThan(3);
    expect(text).toContain('telegram send failed');
    expect(text).toContain('telegram media not downloaded');
    expect(text).not.toContain(BOT_TOKEN);
    expect(text).not.toContain(BOT_TOKEN.split(':')[1]);
  });
});

describe('Telegram and Live Takeover', () => {
  const agentOn = async (sessionId: string) => {
    const { token } = (await (
      await fetch(`${rt.urls.app}/local/agent-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId: 'ann', name: 'Ann' }) })
    ).json()) as { token: string };
    return (path: string, body?: unknown) =>
      fetch(`${rt.urls.app}/agent/conversations/${sessionId}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
  };

  it('refuses an agent file larger than Telegram lets bots upload, naming that limit', async () => {
    const chat = newChat();
    expect((await post(update('update-text.json', chat), { botId: 'tg-big', secret: BIG_SECRET_TOKEN })).status).toBe(200);
    await rt.events.drain();
    const agent = await agentOn((await sessionOf(chat, 'tg-big')).id);
    expect((await agent('/takeover')).status).toBe(200);
    const res = await agent('/uploads', { fileName: 'scan.pdf', size: 55 * 1024 * 1024, contentType: 'application/pdf' });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toEqual({ code: 'attachment_too_large', message: 'That file is too large. Files sent on Telegram can be up to 50 MB.' });
    // Within the channel's limit the slot opens as usual.
    expect((await agent('/uploads', { fileName: 'scan.pdf', size: 1024, contentType: 'application/pdf' })).status).toBe(201);
  });

  it('delivers an agent message to the Telegram user through sendMessage', async () => {
    const chat = newChat();
    await userSends(update('update-text.json', chat));
    const session = await sessionOf(chat);
    const agent = await agentOn(session.id);
    expect((await agent('/takeover')).status).toBe(200);
    expect((await agent('/messages', { text: 'Hello from Ann' })).status).toBe(202);
    await rt.events.drain();
    const texts = textsSentTo(chat);
    expect(texts[0]).toBe(WELCOME);
    expect(texts).toContain('Hello from Ann');
    expect(texts.filter((t) => t === 'Hello from Ann')).toHaveLength(1);
  });
});

describe('PUBLIC_BASE_URL', () => {
  it('defaults to the local origin http://localhost:<PORT>', async () => {
    expect(rt.config.PUBLIC_BASE_URL).toBe(rt.urls.app);
  });

  it('is what a runtime started with PUBLIC_BASE_URL (a tunnel) gives its functions', async () => {
    const tunnel = await startTestRuntime({ botsDir, secrets: { 'tg-token': BOT_TOKEN, 'tg-secret': SECRET_TOKEN, 'tg-big-secret': BIG_SECRET_TOKEN }, publicBaseUrl: 'https://satchel-test.trycloudflare.com' });
    try {
      expect(tunnel.config.PUBLIC_BASE_URL).toBe('https://satchel-test.trycloudflare.com');
    } finally {
      await tunnel.stop();
    }
  });
});

describe('Telegram limits in the bot config', () => {
  it('reports the channel limits of each enabled channel', async () => {
    const res = await fetch(`${rt.urls.app}/web/bots/tg-big/config`);
    const body = (await res.json()) as { channels: Record<string, Record<string, unknown>> };
    expect(body.channels.telegram).toMatchObject({
      receiveMaxBytes: 20 * 1024 * 1024,
      channelReceiveMaxBytes: 20 * 1024 * 1024,
      sendMaxBytes: 50 * 1024 * 1024,
      maxTextChars: 4096,
    });
    expect(Object.keys(body.channels)).toEqual(['telegram']);
    const small = (await (await fetch(`${rt.urls.app}/web/bots/tg-bot/config`)).json()) as { channels: Record<string, { receiveMaxBytes: number }> };
    expect(small.channels.telegram!.receiveMaxBytes).toBe(SIZE_LIMIT);
  });
});
