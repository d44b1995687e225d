import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailerHandler } from '../../functions/mailer/handler';
import { sessionPrefix } from '../../shared/adapters/file-store';
import type { Deps } from '../support/emulators';
import type { FlowEvent } from '../../shared/app/ports';
import { runFlowEvent } from '../../shared/app/run-flow';
import { acceptUploads, createUploadSlot, UPLOAD_POST_SECONDS } from '../../shared/app/uploads';
import { agentMessageView } from '../../shared/app/agent-conversations';
import { createWebSession, postWebMessage, readWebMessages } from '../../shared/app/web-channel';
import type { Bot } from '../../shared/bots/schema';
import { newSession } from '../../shared/domain/session';
import type { AttachmentMeta, TranscriptMessage } from '../../shared/domain/transcript';
import { freshDeps, startTestEmulators, testBot, type RecordingMailQueue, type TestEmulators } from '../support/emulators';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server';
import { startGraphApi, type FakeGraphApi } from '../support/graph-api';
import { mailTo } from '../support/mailbox';
import * as samples from '../support/samples';
import { postToS3 } from '../support/web-user';
import { sqsRecord } from '../support/sqs';

/**
 * A turn the queue redelivers after it failed part-way converges on the result of one
 * successful run: the same files (same attachment ids, one stored object each), one set of
 * transcript messages, every accepted file handed to `onUserFile` (and so emailed once), and
 * the flow answered once. Each test breaks the first attempt at one point by making one
 * real adapter or port throw once, then runs the same event again.
 */

type TestDeps = Deps & { mailJobs: RecordingMailQueue };
type QueuedEvent = FlowEvent & { eventId: string };

const PAGE = '2002';
const PAGE_TOKEN = 'page-token-retries';

let emu: TestEmulators;
let graph: FakeGraphApi;
let media: FixtureServer;
let docs: FixtureServer;

beforeAll(async () => {
  [emu, graph] = await Promise.all([startTestEmulators({ ses: true }), startGraphApi()]);
  media = await startFixtureServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = path === '/photo.jpg' ? samples.jpg() : path === '/scan.pdf' ? samples.pdf('Scanned letter') : undefined;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': path.endsWith('.pdf') ? 'application/pdf' : 'image/jpeg', 'content-length': body.length });
    res.end(body);
  });
  docs = await startFixtureServer((_req, res) => {
    const body = samples.pdf('Claim form');
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': body.length });
    res.end(body);
  });
});

afterAll(async () => {
  await Promise.all([emu?.close(), graph?.close(), media?.close(), docs?.close()]);
});

// --- helpers -----------------------------------------------------------------------------

/**
 * Makes `obj[method]` throw once, when `when` (given the call's arguments) says so; every
 * other call goes to the real method. `afterReal` lets the real call complete first, as when
 * a process dies right after a write succeeded.
 */
function failOnce<T extends object, K extends keyof T>(
  obj: T,
  method: K,
  opts: { when?: (...args: never[]) => boolean; afterReal?: boolean } = {},
): { fired: () => boolean } {
  const real = (obj[method] as (...args: unknown[]) => Promise<unknown>).bind(obj);
  let fired = false;
  obj[method] = (async (...args: unknown[]) => {
    if (fired || !(opts.when?.(...(args as never[])) ?? true)) return real(...args);
    fired = true;
    if (opts.afterReal) await real(...args);
    throw new Error(`injected failure in ${String(method)}`);
  }) as T[K];
  return { fired: () => fired };
}

/** Runs the event once expecting the injected failure, then again (the queue's redelivery). */
async function failThenRetry(deps: Deps, event: QueuedEvent, inject: () => { fired: () => boolean }): Promise<void> {
  const fault = inject();
  await expect(runFlowEvent(deps, event)).rejects.toThrow(/injected failure/);
  expect(fault.fired()).toBe(true);
  await runFlowEvent(deps, event);
}

/** Records the files handed to the `onUserFile` port, then lets the real port (email job) run. */
function spyOnUserFile(deps: Deps): AttachmentMeta[] {
  const seen: AttachmentMeta[] = [];
  const real = deps.ports.onUserFile!;
  deps.ports.onUserFile = async (session, file) => {
    seen.push(file);
    await real(session, file);
  };
  return seen;
}

const attachmentIdsIn = (messages: TranscriptMessage[]) => messages.flatMap((m) => m.attachments ?? []).map((a) => a.id);

async function storedState(deps: Deps, sessionId: string) {
  const keys = await deps.sessions.listKeys(sessionId);
  const objects = await deps.files.s3.send(new ListObjectsV2Command({ Bucket: deps.files.bucket, Prefix: sessionPrefix(sessionId) }));
  return {
    transcript: await deps.sessions.listMessages(sessionId),
    records: keys.filter((k) => k.sk.startsWith('ATT#')).map((k) => k.sk.slice('ATT#'.length)),
    objects: (objects.Contents ?? []).map((o) => o.Key!),
    session: (await deps.sessions.get(sessionId))!,
  };
}


/** Runs the real mailer over every recorded email job; returns what reached the team's inbox. */
async function mailAll(deps: TestDeps, recipient: string) {
  const records = deps.mailJobs.sent.map((s) => sqsRecord(s.job));
  expect(await createMailerHandler(async () => deps, { claimLeaseMs: 60_000 })({ Records: records })).toEqual({ batchItemFailures: [] });
  return mailTo(emu.ses.url, recipient);
}

// --- web uploads -------------------------------------------------------------------------

type File = { fileName: string; contentType: string; body: Buffer };
const claimPdf: File = { fileName: 'claim.pdf', contentType: 'application/pdf', body: samples.pdf('My claim') };
const photo: File = { fileName: 'damage.png', contentType: 'image/png', body: samples.png(3, 2) };
const fakePdf: File = { fileName: 'invoice.pdf', contentType: 'application/pdf', body: samples.elf() };

async function webConversation(opts: { limitPerConversation?: number } = {}) {
  const recipient = `team-${randomUUID().slice(0, 8)}@example.com`;
  const bot = testBot({
    id: 'claims',
    attachments: { recipientEmail: recipient, limitPerConversation: opts.limitPerConversation ?? null },
    start: 'ask',
    interactions: {
      ask: { type: 'question', text: 'Please upload your documents.', answerFormat: 'any', variable: 'doc', next: 'got' },
      got: { type: 'message', text: 'Got {doc}, thank you.' },
    },
  });
  const clock = { t: Date.now() };
  const deps = await freshDeps(emu, { bots: [bot], overrides: { now: () => clock.t } });
  const { sessionId } = await createWebSession(deps, { botId: bot.id });
  await deps.queue.drainInto((e) => runFlowEvent(deps, e));
  const session = async () => (await deps.sessions.get(sessionId))!;

  /** Uploads the files and posts the message; returns the queued turn without running it. */
  const sendFiles = async (files: File[]): Promise<QueuedEvent> => {
    const uploadIds: string[] = [];
    for (const f of files) {
      const slot = await createUploadSlot(deps, { session: await session(), bot, sender: 'user', fileName: f.fileName, size: f.body.length, contentType: f.contentType });
      if (!slot.ok) throw new Error(`upload refused: ${slot.warning}`);
      await postToS3(slot.upload, f.body, f.fileName);
      uploadIds.push(slot.upload.uploadId);
    }
    await postWebMessage(deps, await session(), { uploadIds });
    const queued = deps.queue.sent.splice(0);
    expect(queued).toHaveLength(1);
    return { ...queued[0]!.event, eventId: queued[0]!.dedupId };
  };
  return { bot, deps, clock, recipient, sessionId, session, sendFiles };
}

/** One run's result for a message carrying claim.pdf and damage.png. */
async function expectTwoFilesOnce(c: Awaited<ReturnType<typeof webConversation>>, event: QueuedEvent, onUserFile: AttachmentMeta[], retryFrom: number) {
  const { transcript, records, objects, session } = await storedState(c.deps, c.sessionId);
  const fileMessages = transcript.filter((m) => m.attachments?.length);
  expect(fileMessages).toHaveLength(1);
  expect(fileMessages[0]).toMatchObject({ from: 'user', attachments: [{ fileName: 'claim.pdf' }, { fileName: 'damage.png' }] });
  const ids = attachmentIdsIn(fileMessages);
  expect(transcript.filter((m) => m.warning)).toEqual([]);
  expect(transcript.filter((m) => m.from === 'bot').map((m) => m.text)).toEqual(['Please upload your documents.', 'Got claim.pdf, thank you.']);
  // Stored with the turn's origin, which no API response shows.
  expect(fileMessages[0]!.origin).toBe(`${event.eventId}#0`);
  const web = await readWebMessages(c.deps, session, undefined, () => '/files/x');
  const agent = transcript.map((m) => agentMessageView(c.deps, m, session));
  expect(web.messages).toHaveLength(transcript.length);
  expect([...web.messages, ...agent].filter((m) => 'origin' in m)).toEqual([]);
  // Exactly the two files are kept: two records, two objects (the upload keys are gone).
  expect(records.sort()).toEqual([...ids].sort());
  expect(objects).toHaveLength(2);
  expect(session.attachmentCount).toBe(2);
  expect(session.flow.lastEventId).toBe(event.eventId);
  // The retry handed both files to onUserFile, and every email job names one of them.
  expect(onUserFile.slice(retryFrom).map((f) => f.id)).toEqual(ids);
  expect(new Set(c.deps.mailJobs.sent.map((s) => s.job.attachmentId))).toEqual(new Set(ids));
  // The mailer sends one email per file, whatever the number of jobs.
  const inbox = await mailAll(c.deps, c.recipient);
  expect(inbox.map((m) => m.attachments.map((a) => a.filename)).flat().sort()).toEqual(['claim.pdf', 'damage.png']);
  return ids;
}

describe('a retried web turn with two uploads', () => {
  it('converges when the first attempt dies after using the slots, before the transcript write', async () => {
    const c = await webConversation();
    const event = await c.sendFiles([claimPdf, photo]);
    const calls = spyOnUserFile(c.deps);
    await failThenRetry(c.deps, event, () => failOnce(c.deps.sessions, 'appendMessages'));
    expect(calls).toHaveLength(2); // only the retry got that far
    await expectTwoFilesOnce(c, event, calls, 0);
  });

  it('converges when the first attempt dies after the transcript write, before onUserFile', async () => {
    const c = await webConversation();
    const event = await c.sendFiles([claimPdf, photo]);
    const calls = spyOnUserFile(c.deps);
    failOnce(c.deps.ports, 'onUserFile');
    await expect(runFlowEvent(c.deps, event)).rejects.toThrow(/injected failure/);
    const firstIds = attachmentIdsIn(await c.deps.sessions.listMessages(c.sessionId));
    expect(firstIds).toHaveLength(2);
    await runFlowEvent(c.deps, event);
    expect(await expectTwoFilesOnce(c, event, calls, 0)).toEqual(firstIds);
  });

  it('converges when the first attempt dies after onUserFile, before the flow state save', async () => {
    const c = await webConversation();
    const event = await c.sendFiles([claimPdf, photo]);
    const calls = spyOnUserFile(c.deps);
    await failThenRetry(c.deps, event, () =>
      failOnce(c.deps.sessions, 'update', { when: (_id: string, changes: { flow?: unknown }) => changes.flow !== undefined }),
    );
    // Both attempts handed both files over, with the same ids; the mailer's claim makes it one email each.
    expect(calls).toHaveLength(4);
    expect(calls.slice(0, 2).map((f) => f.id)).toEqual(calls.slice(2).map((f) => f.id));
    expect(c.deps.mailJobs.sent).toHaveLength(4);
    await expectTwoFilesOnce(c, event, calls, 2);
  });

  it('converges when the first attempt dies after keeping a file, before recording the slot outcome', async () => {
    const c = await webConversation();
    const event = await c.sendFiles([claimPdf, photo]);
    const calls = spyOnUserFile(c.deps);
    // The second file's record is written, then the attempt dies: the retry finds it by its id.
    let outcomes = 0;
    await failThenRetry(c.deps, event, () => failOnce(c.deps.uploads, 'recordOutcome', { when: () => ++outcomes === 2 }));
    await expectTwoFilesOnce(c, event, calls, 0);
  });

  it('keeps a refusal and its reason, and gives the place back once', async () => {
    const c = await webConversation({ limitPerConversation: 3 });
    const event = await c.sendFiles([claimPdf, fakePdf]);
    // Dies while recording the refusal, before the refused copy is deleted and its place given back.
    await failThenRetry(c.deps, event, () =>
      failOnce(c.deps.uploads, 'recordOutcome', { when: (_s: string, _u: string, _b: string, outcome: { ok: boolean }) => !outcome.ok }),
    );
    // A second redelivery after the turn was saved changes nothing.
    await runFlowEvent(c.deps, event);
    const { transcript, records, objects, session } = await storedState(c.deps, c.sessionId);
    expect(transcript.filter((m) => m.attachments?.length).map((m) => m.attachments!.map((a) => a.fileName))).toEqual([['claim.pdf']]);
    expect(transcript.filter((m) => m.warning).map((m) => m.warning)).toEqual(['attachment_content_mismatch']);
    expect(records).toHaveLength(1);
    expect(objects).toHaveLength(1);
    expect(session.attachmentCount).toBe(1);
    // Two places taken by the slots, one given back by the refusal: one left for the accepted file.
    expect((session as unknown as { fileReservations: number }).fileReservations).toBe(1);
  });
});

describe('upload slots used by a flow event', () => {
  it('give the same files back to a retry of that event, and refuse them to any other', async () => {
    const c = await webConversation({ limitPerConversation: 2 });
    const session = await c.session();
    const slot = await createUploadSlot(c.deps, { session, bot: c.bot, sender: 'user', fileName: 'claim.pdf', size: claimPdf.body.length, contentType: 'application/pdf' });
    if (!slot.ok) throw new Error('slot refused');
    await postToS3(slot.upload, claimPdf.body, 'claim.pdf');
    const ids = [slot.upload.uploadId];

    // Event A dies before the outcome is recorded; event B may not take the slot meanwhile.
    failOnce(c.deps.uploads, 'recordOutcome');
    await expect(acceptUploads(c.deps, session, ids, 'event-A')).rejects.toThrow(/injected failure/);
    expect(await acceptUploads(c.deps, session, ids, 'event-B')).toEqual({ accepted: [], warnings: [{ warning: 'attachment_upload_failed' }] });
    const first = await acceptUploads(c.deps, session, ids, 'event-A');
    expect(first.accepted).toEqual([expect.objectContaining({ fileName: 'claim.pdf' })]);
    expect(await acceptUploads(c.deps, session, ids, 'event-A')).toEqual(first);
    expect(await acceptUploads(c.deps, session, ids, 'event-B')).toEqual({ accepted: [], warnings: [{ warning: 'attachment_upload_failed' }] });

    // Past its deadline, a used slot is not reclaimed: its place stays with the accepted file.
    c.clock.t += (UPLOAD_POST_SECONDS + 3600) * 1000;
    const other = await createUploadSlot(c.deps, { session, bot: c.bot, sender: 'user', fileName: 'b.pdf', size: 10, contentType: 'application/pdf' });
    expect(other.ok).toBe(true);
    expect(await createUploadSlot(c.deps, { session, bot: c.bot, sender: 'user', fileName: 'c.pdf', size: 10, contentType: 'application/pdf' })).toEqual({
      ok: false,
      warning: 'attachment_limit_reached',
    });
    expect(await acceptUploads(c.deps, session, ids, 'event-A')).toEqual(first);
    const meta = (await c.deps.sessions.get(c.sessionId)) as unknown as { fileReservations: number; attachmentCount: number };
    expect(meta).toMatchObject({ fileReservations: 2, attachmentCount: 1 });
  });
});

// --- Messenger media ---------------------------------------------------------------------

async function messengerConversation() {
  const recipient = `team-${randomUUID().slice(0, 8)}@example.com`;
  const bot: Bot = testBot({
    id: 'fb-retries',
    attachments: { recipientEmail: recipient, allowedTypes: ['jpg', 'pdf'] },
    channels: {
      messenger: { pageId: PAGE, appSecret: { secret: 'fb-app' }, verifyToken: { secret: 'fb-verify' }, pageAccessToken: { secret: 'fb-page' } },
    },
    start: 'ask',
    interactions: {
      ask: { type: 'question', text: 'Please send the files.', answerFormat: 'attachment', variable: 'doc', next: 'thanks' },
      thanks: { type: 'message', text: 'Thanks, I received {doc}.' },
    },
  });
  const deps = await freshDeps(emu, {
    bots: [bot],
    secrets: { 'fb-app': 'app-secret', 'fb-verify': 'verify', 'fb-page': PAGE_TOKEN },
    config: { MESSENGER_API_URL: graph.url, FETCH_ALLOW_HOSTS: media.hostPort },
  });
  const psid = `psid-${randomUUID().slice(0, 8)}`;
  const session = newSession({ id: deps.newId(), bot, channel: 'messenger', userId: psid, now: Date.now(), messenger: { pageId: PAGE, psid } });
  await deps.sessions.create(session);
  // The first message gets the greeting (the question).
  await runFlowEvent(deps, { type: 'messenger_message', sessionId: session.id, mid: `m_${psid}_hi`, text: 'hi', eventId: `fb-${psid}-hi` });
  const mid = `m_${psid}_files`;
  const event: QueuedEvent = {
    type: 'messenger_message',
    sessionId: session.id,
    mid,
    media: [
      { type: 'image', url: `${media.url}/photo.jpg?oh=signed` },
      { type: 'file', url: `${media.url}/scan.pdf?oh=signed` },
    ],
    eventId: `fb-${psid}-files`,
  };
  const sentTexts = () => graph.delivered().filter((c) => c.body.recipient?.id === psid).map((c) => c.body.message?.text);
  const before = media.received.length;
  /** Media downloads since this conversation started (the media server is shared). */
  const downloads = () => media.received.length - before;
  return { deps, recipient, sessionId: session.id, event, sentTexts, downloads };
}

async function expectTwoMediaOnce(c: Awaited<ReturnType<typeof messengerConversation>>, onUserFile: AttachmentMeta[]) {
  const { transcript, records, objects, session } = await storedState(c.deps, c.sessionId);
  const fileMessages = transcript.filter((m) => m.attachments?.length);
  expect(fileMessages).toHaveLength(1);
  expect(fileMessages[0]).toMatchObject({ from: 'user', attachments: [{ fileName: 'photo.jpg' }, { fileName: 'scan.pdf' }] });
  const ids = attachmentIdsIn(fileMessages);
  expect(transcript.filter((m) => m.warning)).toEqual([]);
  expect(transcript.filter((m) => m.from === 'bot').map((m) => m.text)).toEqual(['Please send the files.', 'Thanks, I received photo.jpg.']);
  // One stored object and one record per media item.
  expect(records.sort()).toEqual([...ids].sort());
  expect(objects).toHaveLength(2);
  expect(session.attachmentCount).toBe(2);
  expect((session as unknown as { fileReservations: number }).fileReservations).toBe(2);
  // Every attempt handed over the same two ids; the user was answered once.
  expect(new Set(onUserFile.map((f) => f.id))).toEqual(new Set(ids));
  expect(new Set(c.deps.mailJobs.sent.map((s) => s.job.attachmentId))).toEqual(new Set(ids));
  expect(c.sentTexts()).toEqual(['Please send the files.', 'Thanks, I received photo.jpg.']);
  const inbox = await mailAll(c.deps, c.recipient);
  expect(inbox.map((m) => m.attachments.map((a) => a.filename)).flat().sort()).toEqual(['photo.jpg', 'scan.pdf']);
}

describe('a retried Messenger turn with two media', () => {
  it('converges when the first attempt dies after storing the media, before the transcript write', async () => {
    const c = await messengerConversation();
    const calls = spyOnUserFile(c.deps);
    await failThenRetry(c.deps, c.event, () => failOnce(c.deps.sessions, 'appendMessages'));
    // The retry found the kept files instead of downloading them again.
    expect(c.downloads()).toBe(2);
    await expectTwoMediaOnce(c, calls);
  });

  it('converges when the first attempt dies after onUserFile, before the flow state save', async () => {
    const c = await messengerConversation();
    const calls = spyOnUserFile(c.deps);
    await failThenRetry(c.deps, c.event, () =>
      failOnce(c.deps.sessions, 'update', { when: (_id: string, changes: { flow?: unknown }) => changes.flow !== undefined }),
    );
    expect(calls).toHaveLength(4);
    expect(c.downloads()).toBe(2);
    await expectTwoMediaOnce(c, calls);
  });

  it('converges when the first attempt dies between storing a file and keeping its record', async () => {
    const c = await messengerConversation();
    const calls = spyOnUserFile(c.deps);
    // The second file is stored and counted, then its record write fails.
    let puts = 0;
    await failThenRetry(c.deps, c.event, () => failOnce(c.deps.attachments, 'put', { when: () => ++puts === 2 }));
    // Only the file without a record is downloaded again, onto the same key.
    expect(c.downloads()).toBe(3);
    await expectTwoMediaOnce(c, calls);
  });
});

// --- Send Attachment action ---------------------------------------------------------------

describe('a retried turn with a Send Attachment action', () => {
  it('does not fetch and store the file again once its message is written', async () => {
    const bot = testBot({
      id: 'forms',
      start: 'send',
      interactions: {
        send: { type: 'action', action: { type: 'sendAttachment', endpoint: `${docs.url}/form.pdf`, fileName: 'form.pdf' }, next: 'sent', onError: 'sorry' },
        sent: { type: 'message', text: 'There is the form.' },
        sorry: { type: 'message', text: 'The form is unavailable.' },
      },
    });
    const deps = await freshDeps(emu, { bots: [bot], config: { FETCH_ALLOW_HOSTS: docs.hostPort } });
    const { sessionId } = await createWebSession(deps, { botId: bot.id });
    const [queued] = deps.queue.sent.splice(0);
    const event: QueuedEvent = { ...queued!.event, eventId: queued!.dedupId };
    const fetchesBefore = docs.received.length;
    await failThenRetry(deps, event, () =>
      failOnce(deps.sessions, 'update', { when: (_id: string, changes: { flow?: unknown }) => changes.flow !== undefined }),
    );
    expect(docs.received.length - fetchesBefore).toBe(1);
    const { transcript, records, objects } = await storedState(deps, sessionId);
    expect(transcript.map((m) => m.text ?? m.attachments?.map((a) => a.fileName).join())).toEqual(['form.pdf', 'There is the form.']);
    expect(records).toEqual(attachmentIdsIn(transcript));
    expect(objects).toHaveLength(1);
  });
});
