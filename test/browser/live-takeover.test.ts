import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchTestBrowser, type TestBrowser } from '../support/browser';
import { startTestRuntime } from '../support/runtime';
import * as samples from '../support/samples';

/**
 * The whole Live Takeover story in Chromium, on the real local runtime: a user uploads a
 * file, an agent sees it without taking over, downloads it byte-identical, takes over, the
 * user sees the start message and the agent's file, the agent releases. Screenshots of each
 * step land in test-artifacts/.
 */
const menu = [
  { label: 'Send a document', next: 'ask-doc' },
  { label: 'Talk to a person', liveAgent: true },
];
const SUPPORT_BOT = {
  id: 'support',
  name: 'Acme support',
  liveTakeover: {
    startMessage: 'You are now chatting with {agent.name}.',
    confirmationMessage: 'Finding someone for you...',
    noAgentsInteraction: 'no-agents',
  },
  start: 'welcome',
  interactions: {
    welcome: { type: 'message', text: 'Hi {user.name}! How can we help?', buttons: menu },
    'ask-doc': { type: 'question', text: 'Please upload your document.', answerFormat: 'attachment', variable: 'doc', next: 'thanks' },
    thanks: { type: 'message', text: 'Thanks, I received {doc}.', next: 'menu' },
    menu: { type: 'message', text: 'Anything else?', buttons: menu },
    'no-agents': { type: 'message', text: 'Nobody is online right now.', next: 'menu' },
  },
};
const OTHER_BOT = { id: 'other', name: 'Other bot', start: 'hi', interactions: { hi: { type: 'message', text: 'Hello from the other bot.' } } };

/** The pages poll every 1.5 s (chat) and 3 s (console); allow several rounds. */
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let browser: TestBrowser & { errors: string[] };
let botsDir: string;
let downloads: string;

beforeAll(async () => {
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-browser-bots-'));
  downloads = mkdtempSync(join(tmpdir(), 'satchel-downloads-'));
  writeFileSync(join(botsDir, 'support.json'), JSON.stringify(SUPPORT_BOT));
  writeFileSync(join(botsDir, 'other.json'), JSON.stringify(OTHER_BOT));
  runtime = await startTestRuntime({ botsDir, secrets: {} });
  browser = await launchTestBrowser();
});

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  rmSync(botsDir, { recursive: true, force: true });
  rmSync(downloads, { recursive: true, force: true });
});

/** Clicks a download link and returns the bytes the browser saved. */
async function download(page: Page, link: ReturnType<Page['locator']>): Promise<{ name: string; body: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const path = join(downloads, dl.suggestedFilename());
  await dl.saveAs(path);
  return { name: dl.suggestedFilename(), body: readFileSync(path) };
}

/**
 * Drops a file on the page the way a browser delivers a drag from the desktop. (This runs in
 * the page; the project's TypeScript has no DOM types, hence the untyped window.)
 */
async function dropFile(page: Page, file: { name: string; mimeType: string; buffer: Buffer }) {
  await page.evaluate(
    ({ name, mimeType, b64 }) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const w = globalThis as any;
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new w.DataTransfer();
      data.items.add(new File([bytes], name, { type: mimeType }));
      const target = w.document.querySelector('main');
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new w.DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
    },
    { name: file.name, mimeType: file.mimeType, b64: file.buffer.toString('base64') },
  );
}

describe('Live Takeover in Chromium', () => {
  it('user uploads, agent watches and downloads, takes over, sends a file, releases', { timeout: 180_000 }, async () => {
    const photo = samples.png(160, 96);
    const agentPdf = samples.pdf('From your agent');

    // --- The user starts a chat, drops a photo, and tries two files that are refused.
    const user = await browser.newPage();
    await user.goto(`${runtime.urls.app}/?bot=support`);
    await poll(() => user.locator('#bot-name').textContent()).toBe('Acme support');
    expect(await user.locator('#bot-picker option').allTextContents()).toEqual(['Acme support', 'Other bot']);
    await browser.screenshot(user, '00-chat-start');
    await user.getByLabel('Your name (optional)').fill('Zoë Example');
    await user.getByRole('button', { name: 'Start chatting' }).click();
    await user.getByText('Hi Zoë Example! How can we help?').waitFor();
    await user.getByRole('button', { name: 'Send a document' }).click();
    await user.getByText('Please upload your document.').waitFor();
    await dropFile(user, { name: 'photo.png', mimeType: 'image/png', buffer: photo });
    await user.getByText('Thanks, I received photo.png.').waitFor();
    await user.locator('.msg.from-user a', { hasText: 'photo.png' }).waitFor();

    // Refused before upload (type), and after upload (content does not match .pdf): plain words.
    await user.setInputFiles('#file-input', { name: 'tool.exe', mimeType: 'application/octet-stream', buffer: samples.exe() });
    await user.getByText('tool.exe was refused: this type of file is not accepted.', { exact: false }).waitFor();
    await user.setInputFiles('#file-input', { name: 'fake.pdf', mimeType: 'application/pdf', buffer: Buffer.from('not really a pdf') });
    await user.locator('.msg.warning', { hasText: "content does not match its file type" }).waitFor();
    await browser.screenshot(user, '01-chat-user-uploaded');

    // --- The agent signs in, finds the conversation and reads it without taking over.
    const agent = await browser.newPage();
    await agent.goto(`${runtime.urls.app}/agent`);
    await agent.getByLabel('Your name').waitFor();
    await browser.screenshot(agent, '00-agent-sign-in');
    await agent.getByLabel('Your name').fill('Ann Agent');
    await agent.getByRole('button', { name: 'Sign in' }).click();
    await agent.getByText('Signed in as Ann Agent').waitFor();
    await agent.getByLabel('Search names and messages').fill('Zoë');
    const row = agent.locator('.conv', { hasText: 'Zoë Example' });
    await row.waitFor();
    await poll(() => agent.locator('.conv').count()).toBe(1);
    await row.click();
    const image = agent.locator('#transcript img[alt="photo.png"]');
    await image.waitFor();
    await poll(() => image.evaluate((node) => {
      const img = node as unknown as { complete: boolean; naturalWidth: number };
      return img.complete ? img.naturalWidth : 0;
    })).toBe(160);
    expect(await agent.locator('#pane-status').textContent()).toBe('Live');
    expect(await agent.getByRole('button', { name: 'Take over' }).isEnabled()).toBe(true);
    expect(await agent.locator('#agent-text').isDisabled()).toBe(true);
    const seenByAgent = await download(agent, agent.locator('#transcript a.file-name', { hasText: 'photo.png' }));
    expect(seenByAgent.name).toBe('photo.png');
    expect(seenByAgent.body.equals(photo)).toBe(true);
    await browser.screenshot(agent, '02-agent-reads-without-taking-over');

    // --- The user asks for a person; the agent is online, so the bot confirms and waits.
    await user.getByRole('button', { name: 'Talk to a person' }).last().click();
    await user.getByText('Finding someone for you...').waitFor();
    await user.getByText('Waiting for someone from our team').waitFor();
    await agent.locator('#pane-status', { hasText: 'Waiting for agent' }).waitFor();
    await browser.screenshot(user, '03-chat-waiting-for-agent');

    // --- The agent takes over and sends a message and a file.
    await agent.getByRole('button', { name: 'Take over' }).click();
    await agent.locator('#pane-status', { hasText: 'Taken over' }).waitFor();
    await agent.getByRole('button', { name: 'Release to bot' }).waitFor();
    await agent.getByLabel('Message to the user').fill('Hello Zoë, I can see your photo.');
    await agent.getByRole('button', { name: 'Send', exact: true }).click();
    await agent.setInputFiles('#agent-file', { name: 'answer.pdf', mimeType: 'application/pdf', buffer: agentPdf });
    await agent.locator('#transcript .msg.from-agent a', { hasText: 'answer.pdf' }).waitFor();
    await browser.screenshot(agent, '04-agent-took-over');

    // --- The user sees the start message, the agent's words and file, and downloads it.
    await user.getByText('You are now chatting with Ann Agent.').waitFor();
    await user.getByText('You are chatting with a person from our team.').waitFor();
    await user.locator('.msg.from-agent', { hasText: 'Hello Zoë, I can see your photo.' }).waitFor();
    expect(await user.locator('.msg.from-agent .who').first().textContent()).toBe('Ann Agent');
    const fromAgent = await download(user, user.locator('.msg.from-agent a.file-name', { hasText: 'answer.pdf' }));
    expect(fromAgent.name).toBe('answer.pdf');
    expect(fromAgent.body.equals(agentPdf)).toBe(true);
    // The bot stays silent while an agent holds the conversation: once the turn has run,
    // the user's message is still the last one.
    const botMessages = await user.locator('.msg.from-bot').count();
    await user.getByLabel('Message', { exact: true }).fill('Thank you!');
    await user.getByRole('button', { name: 'Send', exact: true }).click();
    await agent.locator('#transcript .msg.from-user', { hasText: 'Thank you!' }).waitFor();
    await runtime.events.drain();
    const kept = await user.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('satchel.chat.support'));
    const { sessionId } = JSON.parse(kept ?? '{}') as { sessionId: string };
    const stored = await runtime.deps.sessions.listMessages(sessionId);
    expect([stored.at(-1)?.from, stored.at(-1)?.text]).toEqual(['user', 'Thank you!']);
    expect(await user.locator('.msg.from-bot').count()).toBe(botMessages);
    await browser.screenshot(user, '05-chat-with-agent');

    // The conversation is kept in localStorage: a reload picks it up again.
    await user.reload();
    await user.getByText('Hello Zoë, I can see your photo.').waitFor();
    await user.getByText('You are chatting with a person from our team.').waitFor();

    // --- The agent releases; the bot answers the user again.
    await agent.getByRole('button', { name: 'Release to bot' }).click();
    await agent.getByRole('button', { name: 'Take over' }).waitFor();
    await poll(() => agent.locator('#pane-status').textContent()).not.toBe('Taken over');
    await poll(() => user.locator('#banner').isHidden()).toBe(true);
    await user.getByLabel('Message', { exact: true }).fill('One more question');
    await user.getByRole('button', { name: 'Send', exact: true }).click();
    await poll(() => user.locator('.msg.from-bot').count()).toBeGreaterThan(botMessages);
    await browser.screenshot(agent, '06-agent-released');

    expect(browser.errors).toEqual([]);
  });
  it('sends an agent message once when its answer is lost, and sends files one message at a time', { timeout: 120_000 }, async () => {
    const agent = await browser.newPerson();
    await agent.goto(`${runtime.urls.app}/agent`);
    await agent.getByLabel('Your name').fill('Kim Agent');
    await agent.getByRole('button', { name: 'Sign in' }).click();
    await agent.getByText('Signed in as Kim Agent').waitFor();

    const user = await browser.newPerson();
    await user.goto(`${runtime.urls.app}/?bot=support`);
    await user.getByLabel('Your name (optional)').fill('Lou Lost');
    await user.getByRole('button', { name: 'Start chatting' }).click();
    await user.getByRole('button', { name: 'Talk to a person' }).click();
    await user.getByText('Waiting for someone from our team').waitFor();

    await agent.getByLabel('Search names and messages').fill('Lou Lost');
    await agent.locator('.conv', { hasText: 'Lou Lost' }).click();
    await agent.getByRole('button', { name: 'Take over' }).click();
    await agent.getByRole('button', { name: 'Release to bot' }).waitFor();

    const keys: string[] = [];
    const statuses: number[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    let releaseRetry!: () => void;
    const retryHeld = new Promise<void>((r) => (releaseRetry = r));
    await agent.route('**/agent/conversations/*/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        // The retry waits until the test has tried to send again meanwhile.
        if (keys.length === 2) await retryHeld;
        // The server takes the message and answers, but the first answer never reaches the console.
        const response = await route.fetch();
        statuses.push(response.status());
        if (keys.length === 1) return await route.abort('connectionreset');
        return await route.fulfill({ response });
      } finally {
        inFlight--;
      }
    });
    await agent.getByLabel('Message to the user').fill('Only once, promise.');
    await agent.getByRole('button', { name: 'Send', exact: true }).click();
    // The first try's message reaches the console (pushed) while the retry is still out: Send
    // stays off and Enter sends nothing more.
    await agent.locator('#transcript .msg.from-agent', { hasText: 'Only once, promise.' }).waitFor();
    await poll(async () => keys.length).toBe(2);
    expect(await agent.getByRole('button', { name: 'Send', exact: true }).isDisabled()).toBe(true);
    await agent.getByLabel('Message to the user').press('Enter');
    releaseRetry();
    await poll(() => agent.getByLabel('Message to the user').inputValue()).toBe('');
    expect(keys).toHaveLength(2);
    await user.locator('.msg.from-agent', { hasText: 'Only once, promise.' }).waitFor();
    expect(statuses).toEqual([202, 202]);
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(keys[1]).toBe(keys[0]);
    const kept = await user.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('satchel.chat.support'));
    const { sessionId } = JSON.parse(kept ?? '{}') as { sessionId: string };
    const texts = async () => (await runtime.deps.sessions.listMessages(sessionId)).filter((m) => m.from === 'agent').map((m) => m.text ?? m.attachments?.map((a) => a.fileName).join());
    expect(await texts()).toEqual(['Only once, promise.']);
    expect(await user.locator('.msg.from-agent', { hasText: 'Only once, promise.' }).count()).toBe(1);
    await poll(() => agent.locator('#transcript .msg.from-agent', { hasText: 'Only once, promise.' }).count()).toBe(1);

    // Three files chosen at once upload side by side, but their messages go one at a time
    // (the server keeps the newest key only), each with its own key.
    await agent.setInputFiles('#agent-file', [1, 2, 3].map((n) => ({ name: `part-${n}.pdf`, mimeType: 'application/pdf', buffer: samples.pdf(`Part ${n}`) })));
    await poll(async () => (await texts()).length).toBe(4);
    expect((await texts()).slice(1).sort()).toEqual(['part-1.pdf', 'part-2.pdf', 'part-3.pdf']);
    expect(mostInFlight).toBe(1);
    expect(new Set(keys.slice(2)).size).toBe(3);

    // Release while a message is still being sent: the message goes out first, then the release.
    // The last file's answer may still be on its way through the handler: let it finish first.
    await agent.unrouteAll({ behavior: 'wait' });
    const order: string[] = [];
    let letGo!: () => void;
    const messageHeld = new Promise<void>((r) => (letGo = r));
    await agent.route('**/agent/conversations/*/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      order.push('message');
      await messageHeld;
      const response = await route.fetch();
      order.push(`message ${response.status()}`);
      return route.fulfill({ response });
    });
    await agent.route('**/agent/conversations/*/release', async (route) => {
      order.push('release');
      return route.fallback();
    });
    await agent.getByLabel('Message to the user').fill('Bye for now.');
    await agent.getByRole('button', { name: 'Send', exact: true }).click();
    await poll(async () => order.length).toBe(1);
    await agent.getByRole('button', { name: 'Release to bot' }).click();
    // Meanwhile the console says why it waits, and nothing new can be written.
    await agent.getByText('Sending your last message first…').waitFor();
    expect(await agent.getByLabel('Message to the user').isDisabled()).toBe(true);
    letGo();
    await agent.getByRole('button', { name: 'Take over' }).waitFor();
    expect(order).toEqual(['message', 'message 202', 'release']);
    expect((await texts()).at(-1)).toBe('Bye for now.');
    expect(browser.errors.filter((e) => !/Failed to fetch|ERR_CONNECTION_RESET|net::ERR_FAILED/.test(e))).toEqual([]);
    browser.errors.length = 0;
    await Promise.all([agent.context().close(), user.context().close()]);
  });
});
