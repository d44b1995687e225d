import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailerHandler } from '../../functions/mailer/handler';
import { takeOver, release } from '../../shared/app/agent-takeover';
import { markAgentOnline } from '../../shared/app/presence';
import type { Deps } from '../support/emulators';
import { FILE_TOKEN, type FileClaims } from '../../shared/app/file-links';
import type { MailerOptions } from '../../shared/app/mail-attachment';
import { MailNotSent } from '../../shared/domain/errors';
import type { MailClaims, MailJob, MailSender } from '../../shared/app/ports';
import { runFlowEvent } from '../../shared/app/run-flow';
import { createUploadSlot } from '../../shared/app/uploads';
import { createWebSession, postWebMessage } from '../../shared/app/web-channel';
import type { BotInput } from '../../shared/bots/schema';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import { attachmentBytes, mailTo, parsedMail, waitForMail } from '../support/mailbox';
import * as samples from '../support/samples';
import { postToS3 } from '../support/web-user';
import { sqsRecord } from '../support/sqs';

let emu: TestEmulators;
beforeAll(async () => {
  emu = await startTestEmulators({ ses: true });
});
afterAll(async () => {
  await emu?.close();
});

const SENDER = 'satchel@example.com';
const LEASE_MS = 5 * 60_000;
const never = () => new Promise<never>(() => undefined);


type File = { fileName: string; contentType: string; body: Buffer };
const claimPdf: File = { fileName: 'claim.pdf', contentType: 'application/pdf', body: samples.pdf('My claim') };
const photo: File = { fileName: 'damage.png', contentType: 'image/png', body: samples.png(3, 2) };

/**
 * A web conversation with a bot that asks for a file, driven through the real use cases
 * (upload slot, presigned POST to S3, checks after arrival, flow), with email jobs recorded.
 */
async function conversation(opts: { recipient?: boolean; waitForAgentSeconds?: number; attachments?: BotInput['attachments']; noAgentsInteraction?: boolean } = {}) {
  const recipient = `team-${randomUUID().slice(0, 8)}@example.com`;
  const bot = testBot({
    id: 'claims',
    name: 'Claims <assistant>',
    attachments: { ...(opts.recipient !== false && { recipientEmail: recipient }), ...opts.attachments },
    liveTakeover: { waitForAgentSeconds: opts.waitForAgentSeconds ?? 0, ...(opts.noAgentsInteraction && { noAgentsInteraction: 'no-agents' }) },
    start: 'welcome',
    interactions: {
      welcome: {
        type: 'message',
        text: 'Hi! Send us your form.',
        buttons: [
          { label: 'Upload', next: 'ask' },
          { label: 'Talk to a person', liveAgent: true },
        ],
      },
      ask: { type: 'question', text: 'Please upload the completed form.', answerFormat: 'any', variable: 'doc', next: 'got' },
      got: { type: 'message', text: 'Got {doc}.', next: 'ask' },
      'no-agents': { type: 'message', text: 'Nobody is online; we will email you.', next: 'welcome' },
    },
  });
  const clock = { t: Date.now() };
  const deps = await freshDeps(emu, { bots: [bot], overrides: { now: () => clock.t } });
  const drain = () => deps.queue.drainInto((e) => runFlowEvent(deps, e));
  const { sessionId } = await createWebSession(deps, { botId: bot.id, userName: 'Ann' });
  await drain();
  const session = async () => (await deps.sessions.get(sessionId))!;

  const send = async (message: { text?: string; buttonIndex?: number; files?: File[] }) => {
    const uploadIds: string[] = [];
    for (const f of message.files ?? []) {
      const slot = await createUploadSlot(deps, { session: await session(), bot, sender: 'user', fileName: f.fileName, size: f.body.length, contentType: f.contentType });
      if (!slot.ok) throw new Error(`upload refused: ${slot.warning}`);
      await postToS3(slot.upload, f.body, f.fileName);
      uploadIds.push(slot.upload.uploadId);
    }
    await postWebMessage(deps, await session(), {
      ...(message.text !== undefined && { text: message.text }),
      ...(message.buttonIndex !== undefined && { buttonIndex: message.buttonIndex }),
      ...(uploadIds.length && { uploadIds }),
    });
    await drain();
  };

  /** The recorded jobs as SQS records, taken off the recording queue. */
  const takeJobs = () => deps.mailJobs.sent.splice(0).map((s) => sqsRecord(s.job));
  const mailer = (d: Deps = deps, options: Partial<MailerOptions> = {}) => createMailerHandler(async () => d, { claimLeaseMs: LEASE_MS, ...options });
  const userFiles = async () => (await deps.sessions.listMessages(sessionId)).filter((m) => m.from === 'user').flatMap((m) => m.attachments ?? []);
  return { bot, deps, clock, recipient, sessionId, session, send, takeJobs, mailer, userFiles, inbox: () => mailTo(emu.ses.url, recipient) };
}

/** Deps whose claims or sender misbehave as told, the rest real. */
const withMail = (deps: Deps, mail: { claims?: Partial<MailClaims>; sender?: Partial<MailSender> }): Deps => {
  const real = deps.mail;
  const claims: MailClaims = {
    claim: (...a) => real.claims.claim(...a),
    markSending: (...a) => real.claims.markSending(...a),
    markSent: (...a) => real.claims.markSent(...a),
    release: (...a) => real.claims.release(...a),
    ...mail.claims,
  };
  const sender: MailSender = { encode: (m) => real.sender.encode(m), send: (e, r) => real.sender.send(e, r), ...mail.sender };
  return { ...deps, mail: { claims, sender } };
};

describe('attachment email', () => {
  it('sends an accepted file to recipientEmail with the conversation before it and the file byte-identical', async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    await c.send({ text: 'Hello <b>team</b> & co' });
    await c.send({ files: [claimPdf] });

    const jobs = c.deps.mailJobs.sent.map((s) => s.delaySeconds);
    expect(jobs).toEqual([0]);
    expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });

    const [mail, ...more] = await c.inbox();
    expect(more).toHaveLength(0);
    expect(mail!.destination.to).toEqual([c.recipient]);
    expect(mail!.from).toBe(SENDER);

    const parsed = await parsedMail(emu.ses.url, mail!);
    expect(parsed.subject).toContain('Claims <assistant>');
    expect(parsed.subject).toContain('claim.pdf');
    expect(parsed.from?.value[0]?.address).toBe(SENDER);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((a) => a.address) : []).toEqual([c.recipient]);

    // Who said what, when, up to and including the file; nothing said after it.
    const text = parsed.text ?? '';
    expect(text).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {2}Claims <assistant>: Please upload the completed form\./);
    expect(text).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {2}Ann: Hello <b>team<\/b> & co/);
    expect(text).toMatch(/Ann: \[file\] claim\.pdf \(application\/pdf, /);
    expect(text.indexOf('Hello <b>team</b>')).toBeLessThan(text.indexOf('[file] claim.pdf'));
    expect(text).not.toContain('Got claim.pdf');
    expect(text).toContain('The file is attached to this email.');

    // The HTML body shows the same conversation, escaped.
    const html = typeof parsed.html === 'string' ? parsed.html : '';
    expect(html).toContain('Hello &lt;b&gt;team&lt;/b&gt; &amp; co');
    expect(html).toContain('Claims &lt;assistant&gt;');
    expect(html).not.toContain('<b>team</b>');
    expect(html).toContain('Please upload the completed form.');

    expect(mail!.attachments).toHaveLength(1);
    const [att] = mail!.attachments;
    expect(att!.filename).toBe('claim.pdf');
    expect(att!.contentType).toBe('application/pdf');
    expect(attachmentBytes(att!).equals(claimPdf.body)).toBe(true);
  });

  it('sends two files of one message as two emails, each with its own file', async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    await c.send({ files: [claimPdf, photo] });
    expect(c.deps.mailJobs.sent).toHaveLength(2);
    expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });

    const mail = await c.inbox();
    expect(mail).toHaveLength(2);
    const byName = new Map(mail.map((m) => [m.attachments[0]?.filename, m]));
    expect(attachmentBytes(byName.get('claim.pdf')!.attachments[0]!).equals(claimPdf.body)).toBe(true);
    expect(attachmentBytes(byName.get('damage.png')!.attachments[0]!).equals(photo.body)).toBe(true);
    expect(byName.get('damage.png')!.attachments[0]!.contentType).toBe('image/png');
    expect(byName.get('damage.png')!.subject).toContain('damage.png');
    for (const m of mail) expect(m.attachments).toHaveLength(1);
  });

  it('acknowledges a file sent at the menu instead of the default answer, keeps it and emails it (issue 14)', async () => {
    const c = await conversation();
    await c.send({ files: [claimPdf] });
    const messages = await c.deps.sessions.listMessages(c.sessionId);
    expect(messages.slice(1).map((m) => [m.from, m.text, m.attachments?.map((a) => a.fileName)])).toEqual([
      ['user', undefined, ['claim.pdf']],
      ['bot', 'Thanks, we have received claim.pdf.', undefined],
    ]);
    expect((await c.session()).flow).toMatchObject({ current: 'welcome', awaiting: 'buttons', defaultAnswers: 0 });
    expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });
    const mail = await c.inbox();
    expect(mail).toHaveLength(1);
    expect(attachmentBytes(mail[0]!.attachments[0]!).equals(claimPdf.body)).toBe(true);
  });

  it('queues nothing for a bot without recipientEmail', async () => {
    const c = await conversation({ recipient: false });
    await c.send({ buttonIndex: 0 });
    await c.send({ files: [claimPdf] });
    expect((await c.userFiles()).map((f) => f.fileName)).toEqual(['claim.pdf']);
    expect(c.deps.mailJobs.sent).toEqual([]);
  });

  it('emails nothing while the conversation is taken over', async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    await takeOver(c.deps, c.sessionId, { agentId: 'agent-1', name: 'Agnes' });
    await c.send({ files: [claimPdf] });
    expect((await c.userFiles()).map((f) => f.fileName)).toEqual(['claim.pdf']);
    expect(c.deps.mailJobs.sent).toEqual([]);
  });

  it('drops a queued email when an agent took over before the mailer ran', async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    await c.send({ files: [claimPdf] });
    await takeOver(c.deps, c.sessionId, { agentId: 'agent-1', name: 'Agnes' });
    expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });
    expect(await c.inbox()).toEqual([]);
  });

  describe('while the user waits for an agent', () => {
    const waitingWithFile = async (waitForAgentSeconds: number) => {
      const c = await conversation({ waitForAgentSeconds });
      await c.send({ buttonIndex: 1 }); // Talk to a person
      const since = (await c.session()).waitingForAgentSince;
      expect(since).toBeTypeOf('number');
      await c.send({ files: [claimPdf] });
      return { ...c, since: since! };
    };

    it('holds the email for waitForAgentSeconds and drops it if an agent took over meanwhile, even after releasing', async () => {
      const c = await waitingWithFile(120);
      expect(c.deps.mailJobs.sent).toEqual([
        { job: { sessionId: c.sessionId, attachmentId: expect.any(String), heldForAgentSince: c.since }, delaySeconds: 120 },
      ]);
      await takeOver(c.deps, c.sessionId, { agentId: 'agent-1', name: 'Agnes' });
      await release(c.deps, c.sessionId, { agentId: 'agent-1', name: 'Agnes' });
      expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });
      expect(await c.inbox()).toEqual([]);
    });

    it('sends the held email when no agent took over', async () => {
      const c = await waitingWithFile(120);
      expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });
      const mail = await c.inbox();
      expect(mail).toHaveLength(1);
      expect(attachmentBytes(mail[0]!.attachments[0]!).equals(claimPdf.body)).toBe(true);
    });

    it('sends the held email when the wait ended without a takeover (nobody online when the user asked again)', async () => {
      const c = await conversation({ waitForAgentSeconds: 120, noAgentsInteraction: true });
      await markAgentOnline(c.deps, { agentId: 'agent-1', name: 'Agnes' });
      await c.send({ buttonIndex: 1 }); // an agent is online: the user waits
      const since = (await c.session()).waitingForAgentSince;
      expect(since).toBeTypeOf('number');
      await c.send({ files: [claimPdf] });
      expect(c.deps.mailJobs.sent.map((s) => [s.delaySeconds, s.job.heldForAgentSince])).toEqual([[120, since]]);
      c.clock.t += 61_000; // Agnes closed her console
      await c.send({ buttonIndex: 1 }); // nobody online: the no-agents interaction runs and the wait ends
      expect((await c.session()).waitingForAgentSince).toBeUndefined();
      expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });
      const mail = await c.inbox();
      expect(mail).toHaveLength(1);
      expect(attachmentBytes(mail[0]!.attachments[0]!).equals(claimPdf.body)).toBe(true);
    });

    it('does not hold the email when waitForAgentSeconds is 0', async () => {
      const c = await waitingWithFile(0);
      expect(c.deps.mailJobs.sent.map((s) => [s.delaySeconds, s.job.heldForAgentSince])).toEqual([[0, undefined]]);
    });
  });

  it('carries an absolute /files link instead of the file when the message would pass the size limit', async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    const big: File = { fileName: 'ledger.csv', contentType: 'text/csv', body: Buffer.from('day,amount\n' + '2026-11-25,12.50\n'.repeat(2000)) };
    await c.send({ files: [big] });
    expect(big.body.length).toBeGreaterThan(30_000);
    expect(await c.mailer(c.deps, { maxMessageBytes: 20_000 })({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });

    const [mail] = await c.inbox();
    expect(mail!.attachments).toEqual([]);
    const parsed = await parsedMail(emu.ses.url, mail!);
    expect(parsed.text).toContain('too large to attach');
    const url = parsed.text?.match(/http:\/\/localhost:3000\/files\/(\S+)/);
    expect(url).not.toBeNull();
    const [file] = await c.userFiles();
    expect(c.deps.tokens.verify<FileClaims>(FILE_TOKEN, url![1])).toEqual({ sid: c.sessionId, aid: file!.id });
    expect(parsed.html).toContain(`href="${url![0]}"`);
  });

  it('attaches the same file when the limit leaves room', async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    await c.send({ files: [claimPdf] });
    expect(await c.mailer(c.deps, { maxMessageBytes: 200_000 })({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });
    const [mail] = await c.inbox();
    expect(attachmentBytes(mail!.attachments[0]!).equals(claimPdf.body)).toBe(true);
  });

  it('drops the job of a session that expired before the mailer ran', async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    await c.send({ files: [claimPdf] });
    c.clock.t = (await c.session()).expiresAt * 1000;
    expect(await c.mailer()({ Records: c.takeJobs() })).toEqual({ batchItemFailures: [] });
    expect(await c.inbox()).toEqual([]);
  });

  it('acknowledges a malformed job instead of retrying it', async () => {
    const c = await conversation();
    const record = { ...sqsRecord({ sessionId: 'x', attachmentId: 'y' }), body: '{"nope":1}' };
    expect(await c.mailer()({ Records: [record] })).toEqual({ batchItemFailures: [] });
  });
});

describe('exactly one email per attachment', () => {
  const withQueuedFile = async () => {
    const c = await conversation();
    await c.send({ buttonIndex: 0 });
    await c.send({ files: [claimPdf] });
    const [record] = c.takeJobs();
    return { ...c, record: record! };
  };

  it('sends once when the same record is handled twice, or the job was queued twice', async () => {
    const c = await withQueuedFile();
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [] });
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [] });
    const again = sqsRecord(JSON.parse(c.record.body) as MailJob);
    expect(await c.mailer()({ Records: [again, sqsRecord(JSON.parse(c.record.body) as MailJob)] })).toEqual({ batchItemFailures: [] });
    expect(await c.inbox()).toHaveLength(1);
  });

  it('sends once when two deliveries of the job run at the same time', async () => {
    const c = await withQueuedFile();
    const results = await Promise.all([c.mailer()({ Records: [c.record] }), c.mailer()({ Records: [sqsRecord(JSON.parse(c.record.body) as MailJob)] })]);
    expect(results.flatMap((r) => r.batchItemFailures).length).toBeLessThanOrEqual(1);
    expect(await c.inbox()).toHaveLength(1);
  });

  it('sends once when an attempt crashed between SES accepting and the mark: the retry within the lease does not send', async () => {
    const c = await withQueuedFile();
    // The first attempt dies right after SES took the message (the mark never happens).
    const crashing = withMail(c.deps, { claims: { markSent: never } });
    void c.mailer(crashing)({ Records: [c.record] });
    await waitForMail(emu.ses.url, c.recipient, 1);

    c.clock.t += LEASE_MS - 1000;
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [{ itemIdentifier: c.record.messageId }] });
    expect(await c.inbox()).toHaveLength(1);
  });

  it('takes over the claim of an attempt that crashed before sending once its lease ran out, and sends once', async () => {
    const c = await withQueuedFile();
    // The first attempt dies after claiming and building, before SES is called.
    let reached!: () => void;
    const atSend = new Promise<void>((r) => (reached = r));
    const crashing = withMail(c.deps, { claims: { markSending: () => (reached(), never()) } });
    void c.mailer(crashing)({ Records: [c.record] });
    await atSend;

    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [{ itemIdentifier: c.record.messageId }] });
    expect(await c.inbox()).toEqual([]);

    c.clock.t += LEASE_MS + 1;
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [] });
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [] });
    expect(await c.inbox()).toHaveLength(1);
  });

  it('releases the claim when SES certainly did not send, so the next delivery sends at once', async () => {
    const c = await withQueuedFile();
    const refusing = withMail(c.deps, { sender: { send: async () => Promise.reject(new MailNotSent('throttled')) } });
    expect(await c.mailer(refusing)({ Records: [c.record] })).toEqual({ batchItemFailures: [{ itemIdentifier: c.record.messageId }] });
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [] });
    expect(await c.inbox()).toHaveLength(1);
  });

  it('keeps the claim when the outcome of the SES call is unknown, and retries only after the lease', async () => {
    const c = await withQueuedFile();
    const unknown = withMail(c.deps, { sender: { send: async () => Promise.reject(new Error('socket hang up')) } });
    expect(await c.mailer(unknown)({ Records: [c.record] })).toEqual({ batchItemFailures: [{ itemIdentifier: c.record.messageId }] });
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [{ itemIdentifier: c.record.messageId }] });
    expect(await c.inbox()).toEqual([]);
    c.clock.t += LEASE_MS + 1;
    expect(await c.mailer()({ Records: [c.record] })).toEqual({ batchItemFailures: [] });
    expect(await c.inbox()).toHaveLength(1);
  });
});
