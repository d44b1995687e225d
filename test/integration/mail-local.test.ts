import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachmentBytes, mailTo, waitForMail } from '../support/mailbox';
import { eventually, startTestRuntime } from '../support/runtime';
import * as samples from '../support/samples';
import { WebUser } from '../support/web-user';

/**
 * The email fallback in the local runtime, as `npm start` runs it: HTTP API → events queue →
 * actions → mail queue (with its delay) → mailer → aws-ses-v2-local.
 */
const recipient = (bot: string) => `${bot}-${RUN}@example.com`;
const RUN = randomUUID().slice(0, 8);
const HOLD_SECONDS = 2;
const flow = {
  start: 'welcome',
  interactions: {
    welcome: {
      type: 'message',
      text: 'Hello! Upload your form, or ask for a person.',
      buttons: [
        { label: 'Upload', next: 'ask' },
        { label: 'Talk to a person', liveAgent: true },
      ],
    },
    ask: { type: 'question', text: 'Your form, please.', answerFormat: 'any', variable: 'doc', next: 'got' },
    got: { type: 'message', text: 'Got {doc}.', next: 'ask' },
  },
};
const BOTS = [
  { id: 'mailing', name: 'Mailing bot', attachments: { recipientEmail: recipient('mailing') }, ...flow },
  { id: 'holding', name: 'Holding bot', attachments: { recipientEmail: recipient('holding') }, liveTakeover: { waitForAgentSeconds: HOLD_SECONDS }, ...flow },
];

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let botsDir: string;

beforeAll(async () => {
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-mail-bots-'));
  for (const bot of BOTS) writeFileSync(join(botsDir, `${bot.id}.json`), JSON.stringify(bot));
  runtime = await startTestRuntime({ botsDir, secrets: {} });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(botsDir, { recursive: true, force: true });
});

const sendFiles = async (user: WebUser, files: { fileName: string; contentType: string; body: Buffer }[]) => {
  const tickets = [];
  for (const f of files) tickets.push(await user.upload(f));
  await user.send({ uploadIds: tickets.map((t) => t.uploadId) });
};

/** A user who has seen the bot's first message (its buttons are on offer). */
async function startUser(botId: string, name: string): Promise<WebUser> {
  const user = await WebUser.start(runtime.urls.app, botId, name);
  await user.waitFor((ms) => ms.some((m) => m.buttons?.length), 'the welcome buttons');
  return user;
}

async function agentCall(path: string, agentId: string) {
  const tokenRes = await fetch(`${runtime.urls.app}/local/agent-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agentId, name: 'Agnes' }),
  });
  const { token } = (await tokenRes.json()) as { token: string };
  return fetch(`${runtime.urls.app}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
}

describe('email fallback in the local runtime', () => {
  it("delivers each file of a message to the team's mailbox as its own email", async () => {
    const user = await startUser('mailing', 'Mo');
    await user.send({ buttonIndex: 0 });
    const files = [
      { fileName: 'form.pdf', contentType: 'application/pdf', body: samples.pdf('local') },
      { fileName: 'notes.txt', contentType: 'text/plain', body: samples.txt() },
    ];
    await sendFiles(user, files);
    const mail = await waitForMail(runtime.urls.ses, recipient('mailing'), 2);
    await runtime.mail.drain();
    expect(await mailTo(runtime.urls.ses, recipient('mailing'))).toHaveLength(2);
    for (const f of files) {
      const email = mail.find((m) => m.attachments[0]?.filename === f.fileName)!;
      expect(email.subject).toContain('Mailing bot');
      expect(email.body.text).toContain('Your form, please.');
      expect(attachmentBytes(email.attachments[0]!).equals(f.body)).toBe(true);
    }
    expect(runtime.mail.deadLetters).toEqual([]);
  });

  it('holds the email of a user waiting for an agent, and sends it after waitForAgentSeconds', async () => {
    const user = await startUser('holding', 'Hal');
    await user.send({ buttonIndex: 1 });
    await user.waitFor((ms) => ms.some((m) => m.text === 'Finding someone for you...'), 'the live agent confirmation');
    const sentAt = Date.now();
    await sendFiles(user, [{ fileName: 'wait.pdf', contentType: 'application/pdf', body: samples.pdf('held') }]);
    await user.waitFor((ms) => ms.some((m) => m.attachments?.some((a) => a.fileName === 'wait.pdf')), 'the file accepted');
    expect(await mailTo(runtime.urls.ses, recipient('holding'))).toEqual([]);

    const [mail] = await waitForMail(runtime.urls.ses, recipient('holding'), 1, 10_000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(HOLD_SECONDS * 1000);
    expect(mail!.attachments[0]!.filename).toBe('wait.pdf');
  });

  it('drops the held email when an agent takes over meanwhile', async () => {
    const user = await startUser('holding', 'Ida');
    await user.send({ buttonIndex: 1 });
    await user.waitFor((ms) => ms.some((m) => m.text === 'Finding someone for you...'), 'the live agent confirmation');
    await sendFiles(user, [{ fileName: 'dropped.pdf', contentType: 'application/pdf', body: samples.pdf('dropped') }]);
    await user.waitFor((ms) => ms.some((m) => m.attachments?.some((a) => a.fileName === 'dropped.pdf')), 'the file accepted');
    // The job is queued (held) just after the file joins the transcript.
    await eventually(async () => (runtime.mail.pending > 0 ? true : undefined), 5000, 'the held mail job');

    const takeover = await agentCall(`/agent/conversations/${user.sessionId}/takeover`, 'agent-ida');
    expect(takeover.status).toBe(200);
    await runtime.mail.drain(HOLD_SECONDS * 1000 + 5000);
    expect((await mailTo(runtime.urls.ses, recipient('holding'))).filter((m) => m.attachments[0]?.filename === 'dropped.pdf')).toEqual([]);
    expect(runtime.mail.deadLetters).toEqual([]);
  });
});
