import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../shared/app/conversation';
import { DEFAULT_ALLOWED_TYPES, DEFAULT_SIZE_LIMIT_BYTES } from '../../shared/bots/schema';
import { sessionPrefix } from '../../shared/adapters/file-store';
import { UploadSweeper } from '../../local/upload-sweeper';
import { startTestRuntime } from '../support/runtime';
import * as samples from '../support/samples';
import { postToS3, WebUser } from '../support/web-user';

/** The `{error: {code, message}}` body of a refused request. */
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

const loop = (answerFormat: 'any' | 'attachment' | 'text') => ({
  start: 'ask',
  interactions: {
    ask: { type: 'question', text: 'Send me something.', answerFormat, variable: 'doc', next: 'got' },
    got: { type: 'message', text: 'Got {doc}.', next: 'ask' },
  },
});

const BOTS = {
  files: { id: 'files', name: 'Files', ...loop('attachment') },
  anything: { id: 'anything', name: 'Anything', ...loop('any') },
  texty: { id: 'texty', name: 'Texty', defaultAnswer: 'Please type your answer.', ...loop('text') },
  strict: {
    id: 'strict',
    name: 'Strict',
    attachments: { allowedTypes: ['pdf', 'txt', 'csv'], sizeLimitBytes: 1024, limitPerConversation: 2 },
    ...loop('any'),
  },
};

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let botsDir: string;

beforeAll(async () => {
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-bots-'));
  for (const bot of Object.values(BOTS)) writeFileSync(join(botsDir, `${bot.id}.json`), JSON.stringify(bot));
  runtime = await startTestRuntime({ botsDir, secrets: {} });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(botsDir, { recursive: true, force: true });
});

const objectsOf = async (sessionId: string) => {
  const out = await runtime.deps.files.s3.send(new ListObjectsV2Command({ Bucket: runtime.deps.files.bucket, Prefix: sessionPrefix(sessionId) }));
  return (out.Contents ?? []).map((o) => o.Key!);
};
const warnings = (ms: MessageView[]) => ms.filter((m) => m.warning).map((m) => m.warning);
const files = (ms: MessageView[]) => ms.filter((m) => m.from === 'user').flatMap((m) => m.attachments ?? []);

describe('GET /web/bots/{botId}/config', () => {
  it('returns the effective rules, defaults filled in', async () => {
    const res = await fetch(`${runtime.urls.app}/web/bots/files/config`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      botId: 'files',
      name: 'Files',
      attachments: { allowedTypes: [...DEFAULT_ALLOWED_TYPES], sizeLimitBytes: DEFAULT_SIZE_LIMIT_BYTES, limitPerConversation: null },
      // SPEC 10: where the page holds its WebSocket, on the host the client used.
      socketUrl: `${runtime.urls.app.replace(/^http/, 'ws')}/socket`,
    });
    const strict = (await (await fetch(`${runtime.urls.app}/web/bots/strict/config`)).json()) as { attachments: unknown };
    expect(strict.attachments).toEqual({ allowedTypes: ['pdf', 'txt', 'csv'], sizeLimitBytes: 1024, limitPerConversation: 2 });
  });

  it('is 404 for an unknown bot', async () => {
    const res = await fetch(`${runtime.urls.app}/web/bots/nope/config`);
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('bot_not_found');
  });
});

describe('POST /web/sessions/{id}/uploads', () => {
  it('presigns a POST for one random upload key outside the session prefix, the size range, the content type and ~5 minutes', async () => {
    const user = await WebUser.start(runtime.urls.app, 'strict');
    const before = Date.now();
    const ticket = await user.ticket({ fileName: 'form.pdf', size: 500, contentType: 'application/pdf' });
    expect(ticket.uploadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ticket.url).toBe(`${runtime.urls.s3}/${runtime.deps.files.bucket}`);
    // Unchecked bytes never sit under the session's prefix (issue 12): uploads have their own.
    expect(ticket.fields.key).toMatch(new RegExp(`^uploads/${user.sessionId}/[0-9a-f-]{36}$`));
    expect(ticket.fields.key!.startsWith(sessionPrefix(user.sessionId))).toBe(false);
    expect(ticket.fields.key).not.toContain('form');
    expect(ticket.fields['Content-Type']).toBe('application/pdf');
    const policy = JSON.parse(Buffer.from(ticket.fields.Policy!, 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { key: ticket.fields.key },
        ['content-length-range', 1, 1024],
        ['eq', '$Content-Type', 'application/pdf'],
      ]),
    );
    const expires = Date.parse(policy.expiration);
    expect(expires - before).toBeGreaterThan(290_000);
    expect(expires - before).toBeLessThan(310_000);
    expect(Math.abs(Date.parse(ticket.expiresAt) - expires)).toBeLessThan(1000);
  });

  it('needs the session token', async () => {
    const user = await WebUser.start(runtime.urls.app, 'strict');
    const res = await fetch(`${runtime.urls.app}/web/sessions/${user.sessionId}/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: 'a.pdf', size: 10, contentType: 'application/pdf' }),
    });
    expect(res.status).toBe(401);
  });

  it('rejects a malformed body with 400 invalid_request', async () => {
    const user = await WebUser.start(runtime.urls.app, 'strict');
    for (const body of [{ fileName: 'a.pdf', size: 0, contentType: 'application/pdf' }, { fileName: 'a.pdf', size: 5, contentType: 'pdf; evil' }, { fileName: 'a.pdf' }]) {
      const res = await user.requestUpload(body as never);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('invalid_request');
    }
  });

  it.each([
    ['a disallowed extension', { fileName: 'setup.exe', size: 100, contentType: 'application/octet-stream' }, 415, 'attachment_type_not_allowed'],
    ['no extension', { fileName: 'README', size: 100, contentType: 'text/plain' }, 415, 'attachment_type_not_allowed'],
    ['a declared size over the limit', { fileName: 'big.pdf', size: 1025, contentType: 'application/pdf' }, 413, 'attachment_too_large'],
  ])('refuses %s with the warning code, and tells the user in the transcript', async (_what, file, status, code) => {
    const user = await WebUser.start(runtime.urls.app, 'strict');
    const res = await user.requestUpload(file);
    expect(res.status).toBe(status);
    const error = await errorOf(res);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/\w/);
    const messages = await user.waitFor((ms) => warnings(ms).includes(code), `warning ${code}`);
    const warning = messages.find((m) => m.warning === code)!;
    expect(warning.from).toBe('bot');
    expect(warning.text).toBe(error.message);
    expect(warning.fileName).toBe(file.fileName);
    expect(await objectsOf(user.sessionId)).toEqual([]);
  });

  it('counts open slots towards the per-conversation limit, so parallel requests cannot pass it', async () => {
    const user = await WebUser.start(runtime.urls.app, 'strict');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => user.requestUpload({ fileName: `f${i}.pdf`, size: 100, contentType: 'application/pdf' })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 409, 409, 409, 409]);
    const refused = results.find((r) => r.status === 409)!;
    expect((await errorOf(refused)).code).toBe('attachment_limit_reached');
    await user.waitFor((ms) => warnings(ms).filter((w) => w === 'attachment_limit_reached').length === 4, 'four limit warnings');
  });
});

describe('files sent with a message', () => {
  it('accepts every valid sample type and hands the flow the file', async () => {
    const user = await WebUser.start(runtime.urls.app, 'files');
    await user.waitFor((ms) => ms.some((m) => m.text === 'Send me something.'), 'the question');
    for (const sample of samples.validSamples()) {
      const ticket = await user.upload(sample);
      await user.send({ uploadIds: [ticket.uploadId] });
      const messages = await user.waitFor((ms) => ms.some((m) => m.text === `Got ${sample.fileName}.`), `the answer for ${sample.fileName}`);
      const sent = files(messages).find((a) => a.fileName === sample.fileName);
      expect(sent, sample.fileName).toMatchObject({ fileName: sample.fileName, size: sample.body.length });
      expect(sent!.url).toMatch(/^\/files\/ft\./);
      expect(warnings(messages)).toEqual([]);
    }
    const messages = await user.messages();
    const types = Object.fromEntries(files(messages).map((a) => [a.fileName, a.contentType]));
    expect(types).toMatchObject({
      'report.pdf': 'application/pdf',
      'photo.jpg': 'image/jpeg',
      'scan.jpeg': 'image/jpeg',
      'sheet.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'notes.txt': 'text/plain; charset=utf-8',
    });
    // One kept object per file, none at the upload keys.
    expect(await objectsOf(user.sessionId)).toHaveLength(samples.validSamples().length);
    const session = await runtime.deps.sessions.get(user.sessionId);
    expect(session!.attachmentCount).toBe(samples.validSamples().length);
  });

  it('acknowledges a file sent to a text question and keeps it; the question still stands (issue 14)', async () => {
    const user = await WebUser.start(runtime.urls.app, 'texty');
    await user.waitFor((ms) => ms.some((m) => m.text === 'Send me something.'), 'the question');
    const ticket = await user.upload({ fileName: 'notes.txt', contentType: 'text/plain', body: samples.txt() });
    await user.send({ uploadIds: [ticket.uploadId] });
    const messages = await user.waitFor((ms) => ms.some((m) => m.text === 'Thanks, we have received notes.txt.'), 'the acknowledgement');
    expect(files(messages).map((a) => a.fileName)).toEqual(['notes.txt']);
    expect(messages.some((m) => m.text?.startsWith('Got') || m.text === 'Please type your answer.')).toBe(false);
    expect((await runtime.deps.sessions.get(user.sessionId))!.flow).toMatchObject({ current: 'ask', defaultAnswers: 0 });
    await user.send({ text: 'words' });
    await user.waitFor((ms) => ms.some((m) => m.text === 'Got words.'), 'the text answer');
  });

  it('takes text or a file for an "any" question', async () => {
    const user = await WebUser.start(runtime.urls.app, 'anything');
    await user.send({ text: 'just words' });
    await user.waitFor((ms) => ms.some((m) => m.text === 'Got just words.'), 'the text answer');
    const ticket = await user.upload({ fileName: 'report.pdf', contentType: 'application/pdf', body: samples.pdf() });
    await user.send({ uploadIds: [ticket.uploadId] });
    await user.waitFor((ms) => ms.some((m) => m.text === 'Got report.pdf.'), 'the file answer');
  });

  it.each([
    ['an ELF executable named .pdf', 'invoice.pdf', 'application/pdf', samples.elf()],
    ['a Windows executable named .pdf', 'invoice.pdf', 'application/pdf', samples.exe()],
    ['a PDF named .txt', 'notes.txt', 'text/plain', samples.pdf()],
    ['invalid UTF-8 named .csv', 'data.csv', 'text/csv', Buffer.from([0x61, 0x2c, 0xff, 0xfe, 0x0a])],
    ['text with NUL bytes named .txt', 'notes.txt', 'text/plain', Buffer.from('abc\0def')],
    ['a zip named .docx', 'letter.docx', 'application/octet-stream', samples.plainZip()],
  ])('refuses %s as attachment_content_mismatch and deletes it', async (_what, fileName, contentType, body) => {
    const user = await WebUser.start(runtime.urls.app, 'anything');
    const ticket = await user.upload({ fileName, contentType, body });
    await user.send({ uploadIds: [ticket.uploadId] });
    const messages = await user.waitFor((ms) => warnings(ms).length > 0, 'a warning');
    expect(warnings(messages)).toEqual(['attachment_content_mismatch']);
    // The warning names the file it is about (SPEC 7), so the page can say which one was refused.
    expect(messages.find((m) => m.warning)).toMatchObject({ from: 'bot', fileName, text: expect.stringMatching(/does not match/) });
    expect(files(messages)).toEqual([]);
    expect(await objectsOf(user.sessionId)).toEqual([]);
    expect((await runtime.deps.sessions.get(user.sessionId))!.attachmentCount).toBe(0);
  });

  it('measures the real size: a file larger than declared is refused (the local S3 ignores the policy)', async () => {
    const user = await WebUser.start(runtime.urls.app, 'strict');
    const body = Buffer.concat([samples.pdf(), Buffer.alloc(2000, 0x20)]);
    const ticket = await user.upload({ fileName: 'report.pdf', contentType: 'application/pdf', body, declaredSize: 100 });
    await user.send({ uploadIds: [ticket.uploadId] });
    const messages = await user.waitFor((ms) => warnings(ms).length > 0, 'a warning');
    expect(warnings(messages)).toEqual(['attachment_too_large']);
    expect(messages.find((m) => m.warning)!.fileName).toBe('report.pdf');
    expect(await objectsOf(user.sessionId)).toEqual([]);
  });

  it('refuses a slot whose file never arrived, and gives its place back', async () => {
    const user = await WebUser.start(runtime.urls.app, 'strict');
    const [a, b] = [await user.ticket({ fileName: 'a.pdf', size: 10, contentType: 'application/pdf' }), await user.ticket({ fileName: 'b.pdf', size: 10, contentType: 'application/pdf' })];
    expect((await user.requestUpload({ fileName: 'c.pdf', size: 10, contentType: 'application/pdf' })).status).toBe(409);
    await user.send({ uploadIds: [a.uploadId] });
    await user.waitFor((ms) => warnings(ms).includes('attachment_upload_failed'), 'upload failed warning');
    // a's place is free again; b still holds the other one.
    expect((await user.requestUpload({ fileName: 'c.pdf', size: 10, contentType: 'application/pdf' })).status).toBe(201);
    expect((await user.requestUpload({ fileName: 'd.pdf', size: 10, contentType: 'application/pdf' })).status).toBe(409);
    expect(b.uploadId).not.toBe(a.uploadId);
  });

  it('uses a slot once: the same uploadId sent again is refused', async () => {
    const user = await WebUser.start(runtime.urls.app, 'anything');
    const ticket = await user.upload({ fileName: 'report.pdf', contentType: 'application/pdf', body: samples.pdf() });
    await user.send({ uploadIds: [ticket.uploadId] });
    await user.waitFor((ms) => ms.some((m) => m.text === 'Got report.pdf.'), 'the first answer');
    await user.send({ uploadIds: [ticket.uploadId] });
    const messages = await user.waitFor((ms) => warnings(ms).length > 0, 'a warning');
    expect(warnings(messages)).toEqual(['attachment_upload_failed']);
    expect(files(messages)).toHaveLength(1);
  });

  it("refuses another session's slot and leaves it usable by its owner", async () => {
    const owner = await WebUser.start(runtime.urls.app, 'anything');
    const thief = await WebUser.start(runtime.urls.app, 'anything');
    const ticket = await owner.upload({ fileName: 'report.pdf', contentType: 'application/pdf', body: samples.pdf() });
    await thief.send({ uploadIds: [ticket.uploadId] });
    const stolen = await thief.waitFor((ms) => warnings(ms).length > 0, 'a warning');
    expect(warnings(stolen)).toEqual(['attachment_upload_failed']);
    expect(files(stolen)).toEqual([]);
    await owner.send({ uploadIds: [ticket.uploadId] });
    await owner.waitFor((ms) => ms.some((m) => m.text === 'Got report.pdf.'), "the owner's answer");
  });

  it('cannot swap a checked file through the still-valid upload form', async () => {
    const user = await WebUser.start(runtime.urls.app, 'anything');
    const ticket = await user.upload({ fileName: 'report.pdf', contentType: 'application/pdf', body: samples.pdf() });
    await user.send({ uploadIds: [ticket.uploadId] });
    const messages = await user.waitFor((ms) => ms.some((m) => m.text === 'Got report.pdf.'), 'the answer');
    const file = files(messages)[0]!;
    // Re-using the form writes to the upload key, never to the kept file.
    await postToS3(ticket, samples.elf(), 'report.pdf');
    const record = await runtime.deps.attachments.get(user.sessionId, file.id);
    expect(record!.key).not.toBe(ticket.fields.key);
    const res = await fetch(`${runtime.urls.app}${file.url}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(samples.pdf())).toBe(true);
  });

  it('keeps nothing unchecked under the session prefix when a used form is posted again, and sweeps the left-over', async () => {
    const user = await WebUser.start(runtime.urls.app, 'anything');
    const ticket = await user.upload({ fileName: 'report.pdf', contentType: 'application/pdf', body: samples.pdf() });
    await user.send({ uploadIds: [ticket.uploadId] });
    const messages = await user.waitFor((ms) => ms.some((m) => m.text === 'Got report.pdf.'), 'the answer');
    const file = files(messages)[0]!;
    const record = await runtime.deps.attachments.get(user.sessionId, file.id);
    expect(await objectsOf(user.sessionId)).toEqual([record!.key]);

    await postToS3(ticket, samples.elf(), 'report.pdf');
    // Only the checked file is under the session's prefix; the re-post sits at the upload key.
    expect(await objectsOf(user.sessionId)).toEqual([record!.key]);
    expect(await runtime.deps.files.size(ticket.fields.key!)).toBe(samples.elf().length);
    // Nothing reads the upload key again: the slot is used up.
    await user.send({ uploadIds: [ticket.uploadId] });
    await user.waitFor((ms) => warnings(ms).includes('attachment_upload_failed'), 'the refusal of the used slot');
    expect(await objectsOf(user.sessionId)).toEqual([record!.key]);

    // The lifecycle rule's local stand-in removes it once no slot can need it, and not before.
    const fresh = await user.upload({ fileName: 'later.pdf', contentType: 'application/pdf', body: samples.pdf() });
    expect(await runtime.uploadSweeper.sweep(Date.now())).toBe(0);
    await runtime.uploadSweeper.sweep(Date.now() + UploadSweeper.MAX_AGE_MS + 60_000);
    expect(await runtime.deps.files.size(ticket.fields.key!)).toBeUndefined();
    expect(await runtime.deps.files.size(fresh.fields.key!)).toBeUndefined();
    // The file the user sent stays intact.
    const res = await fetch(`${runtime.urls.app}${file.url}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(samples.pdf())).toBe(true);
  });

  it('lets a browser POST to the local S3 (CORS)', async () => {
    const user = await WebUser.start(runtime.urls.app, 'anything');
    const ticket = await user.ticket({ fileName: 'report.pdf', size: samples.pdf().length, contentType: 'application/pdf' });
    const preflight = await fetch(ticket.url, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:3000)$/);
    const res = await postToS3(ticket, samples.pdf(), 'report.pdf', 'http://localhost:3000');
    expect(res.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:3000)$/);
  });
});
