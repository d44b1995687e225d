import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { axeAudit, seriousViolations } from '../support/axe';
import { launchTestBrowser, type TestBrowser } from '../support/browser';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server';
import { startTestRuntime } from '../support/runtime';
import * as samples from '../support/samples';
import { postToS3 } from '../support/web-user';

/**
 * The web chat page of issue 14 in Chromium on the real local runtime: hand-offs that make
 * sense (no waiting banner with nobody online, the menu again after a release, files at a
 * menu acknowledged, only the newest buttons live), inline images, named refusals that stay
 * until dismissed, a connection banner that clears, a conversation that survives reloads and
 * closed tabs, a New conversation that asks first, keyboard use, 375 px and an axe audit.
 * Behaviour and counts only, never timings. Screenshots land in test-artifacts/screenshots/.
 */
const menu = [
  { label: 'Send a document', next: 'ask-doc' },
  { label: 'Talk to a person', liveAgent: true },
];
const DESK_BOT = {
  id: 'desk',
  name: 'Help desk',
  defaultAnswer: 'Please use the buttons.',
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

const wait = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

/** A bot that sends a picture with the Send Attachment action. */
const galleryBot = (endpoint: string) => ({
  id: 'gallery',
  name: 'Gallery',
  start: 'send',
  interactions: {
    send: { type: 'action', action: { type: 'sendAttachment', endpoint, fileName: 'picture.png', contentType: 'image/png' }, next: 'sent' },
    sent: { type: 'message', text: 'Here is the picture.' },
  },
});

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let browser: TestBrowser & { errors: string[] };
let botsDir: string;
let pictures: FixtureServer;

beforeAll(async () => {
  pictures = await startFixtureServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(samples.png(140, 70)));
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-chat-page-bots-'));
  writeFileSync(join(botsDir, 'desk.json'), JSON.stringify(DESK_BOT));
  writeFileSync(join(botsDir, 'gallery.json'), JSON.stringify(galleryBot(`${pictures.url}/picture.png`)));
  runtime = await startTestRuntime({ botsDir, secrets: {}, fetchAllowHosts: pictures.hostPort });
  browser = await launchTestBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  await pictures?.close();
  rmSync(botsDir, { recursive: true, force: true });
});

const shot = (page: Page, name: string) => browser.screenshot(page, `screenshots/chat-page-${name}`);

async function startChat(page: Page, name: string): Promise<void> {
  await page.goto(`${runtime.urls.app}/?bot=desk`);
  await page.getByLabel('Your name (optional)').fill(name);
  await page.getByRole('button', { name: 'Start chatting' }).click();
  await page.getByText(`Hi ${name}! How can we help?`).waitFor();
}

/** What the page keeps in localStorage for the bot (null when nothing). */
const kept = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('satchel.chat.desk'));
const sessionIdOf = async (page: Page) => (JSON.parse((await kept(page)) ?? '{}') as { sessionId: string }).sessionId;

/** Button sets on screen, and the enabled buttons in them. */
const visibleButtonSets = (page: Page) => page.locator('#messages .buttons:visible').count();
const liveButtons = (page: Page) => page.locator('#messages .buttons:visible button:enabled').allTextContents();

/** The id of the focused element (or its tag). */
const focused = (page: Page) =>
  page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const a = (globalThis as any).document.activeElement;
    return a ? a.id || `${a.tagName.toLowerCase()}:${(a.textContent ?? '').trim()}` : '';
  });

/** The natural width of an image once loaded (0 until then). */
const loadedWidth = (page: Page, selector: string) =>
  page.locator(selector).evaluate((node) => {
    const img = node as unknown as { complete: boolean; naturalWidth: number };
    return img.complete ? img.naturalWidth : 0;
  });

async function agentToken(agentId: string, name: string): Promise<string> {
  const res = await fetch(`${runtime.urls.app}/local/agent-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId, name }) });
  return ((await res.json()) as { token: string }).token;
}
const asAgent = (token: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
  fetch(`${runtime.urls.app}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

describe('the web chat page (issue 14)', () => {
  // First in this file: no agent has called the API yet, so nobody is online.
  it('with nobody online, "Talk to a person" runs the no-agents interaction and shows no waiting banner', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await startChat(user, 'Nia Nobody');
    await user.getByRole('button', { name: 'Talk to a person' }).click();
    await user.getByText('Nobody is online right now.').waitFor();
    await user.getByText('Anything else?').waitFor();
    expect(await user.locator('#banner').isHidden()).toBe(true);
    expect(await user.getByText('Waiting for someone from our team').count()).toBe(0);
    const session = await runtime.deps.sessions.get(await sessionIdOf(user));
    expect(session?.waitingForAgentSince).toBeUndefined();
    // The menu that was answered collapsed; the new one is the only one that can be pressed.
    expect(await visibleButtonSets(user)).toBe(1);
    expect(await liveButtons(user)).toEqual(['Send a document', 'Talk to a person']);
    expect(await user.locator('#messages .buttons').count()).toBe(2);
    await shot(user, 'no-agents');
    expect(browser.errors).toEqual([]);
    await user.context().close();
  });

  it('shows images inline, acknowledges a file at the menu, names refusals and keeps them until dismissed', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await startChat(user, 'Fay Files');
    const photo = samples.png(160, 96);

    // A file sent at the menu: kept, shown inline, acknowledged (not the default answer).
    await user.setInputFiles('#file-input', { name: 'photo.png', mimeType: 'image/png', buffer: photo });
    await user.getByText('Thanks, we have received photo.png.').waitFor();
    const img = '.msg.from-user img[alt="photo.png"]';
    await wait(() => loadedWidth(user, img)).toBe(160);
    expect(await user.getByText('Please use the buttons.').count()).toBe(0);
    await wait(() => user.locator('#uploads li').count()).toBe(0);
    // The menu is still what the bot waits for.
    expect(await liveButtons(user)).toEqual(['Send a document', 'Talk to a person']);

    // Refused after upload: the row names the file and the reason, and stays.
    await user.setInputFiles('#file-input', { name: 'fake.pdf', mimeType: 'application/pdf', buffer: Buffer.from('not really a pdf') });
    const refusal = user.locator('#uploads li', { hasText: "fake.pdf was refused: That file's content does not match its file type" });
    await refusal.waitFor();
    await user.locator('.msg.warning', { hasText: 'fake.pdf was refused:' }).waitFor();
    // Refused before upload: named the same way.
    await user.setInputFiles('#file-input', { name: 'tool.exe', mimeType: 'application/octet-stream', buffer: samples.exe() });
    const early = user.locator('#uploads li', { hasText: 'tool.exe was refused: this type of file is not accepted.' });
    await early.waitFor();
    // Both stay while the conversation goes on.
    await user.getByLabel('Message', { exact: true }).fill('hello?');
    await user.getByRole('button', { name: 'Send', exact: true }).click();
    await user.getByText('Please use the buttons.').waitFor();
    expect(await refusal.count()).toBe(1);
    expect(await early.count()).toBe(1);

    // No button stretches across the page.
    const widths = await user.locator('button:visible').evaluateAll((nodes) => nodes.map((n) => (n as unknown as { getBoundingClientRect(): { width: number } }).getBoundingClientRect().width));
    expect(widths.length).toBeGreaterThan(4);
    expect(Math.max(...widths)).toBeLessThan(300);
    expect(seriousViolations(await axeAudit(user))).toEqual([]);
    await shot(user, 'refusals');

    // Dismissed one by one; the focus moves on instead of getting lost.
    await refusal.getByRole('button', { name: 'Dismiss: fake.pdf' }).click();
    expect(await refusal.count()).toBe(0);
    expect(await early.count()).toBe(1);
    await early.getByRole('button', { name: /Dismiss/ }).focus();
    await user.keyboard.press('Enter');
    expect(await user.locator('#uploads li').count()).toBe(0);
    expect(await focused(user)).toBe('text');
    expect(browser.errors).toEqual([]);
    await user.context().close();
  });

  it("shows the bot's pictures inline, named by their file name", { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await user.goto(`${runtime.urls.app}/?bot=gallery`);
    await user.getByRole('button', { name: 'Start chatting' }).click();
    await user.getByText('Here is the picture.').waitFor();
    await wait(() => loadedWidth(user, '.msg.from-bot img[alt="picture.png"]')).toBe(140);
    expect(await user.locator('.msg.from-bot a.file-name', { hasText: 'picture.png' }).count()).toBe(1);
    expect(browser.errors).toEqual([]);
    await user.context().close();
  });

  it('after an agent releases, the bot asks its menu again with live buttons; agent images show inline', { timeout: 120_000 }, async () => {
    const token = await agentToken('ann', 'Ann Agent');
    expect((await asAgent(token, 'GET', '/agent/conversations')).status).toBe(200); // Ann is online
    const user = await browser.newPerson();
    await startChat(user, 'Rae Release');
    const sessionId = await sessionIdOf(user);

    await user.getByRole('button', { name: 'Talk to a person' }).click();
    await user.getByText('Finding someone for you...').waitFor();
    await user.getByText('Waiting for someone from our team…').waitFor();
    // The pressed menu collapsed: nothing left to press while waiting.
    expect(await visibleButtonSets(user)).toBe(0);

    expect((await asAgent(token, 'POST', `/agent/conversations/${sessionId}/takeover`)).status).toBe(200);
    await user.getByText('You are now chatting with Ann Agent.').waitFor();
    await user.getByText('You are chatting with a person from our team.').waitFor();
    const diagram = samples.png(120, 80);
    const slot = await asAgent(token, 'POST', `/agent/conversations/${sessionId}/uploads`, { fileName: 'diagram.png', size: diagram.length, contentType: 'image/png' });
    expect(slot.status).toBe(201);
    const form = (await slot.json()) as { uploadId: string; url: string; fields: Record<string, string> };
    await postToS3(form, diagram, 'diagram.png');
    const said = await asAgent(token, 'POST', `/agent/conversations/${sessionId}/messages`, { text: 'Here is how it works.', uploadIds: [form.uploadId] });
    expect(said.status).toBe(202);
    await wait(() => loadedWidth(user, '.msg.from-agent img[alt="diagram.png"]')).toBe(120);
    await shot(user, 'taken-over');

    expect((await asAgent(token, 'POST', `/agent/conversations/${sessionId}/release`)).status).toBe(200);
    await wait(() => user.locator('#banner').isHidden()).toBe(true);
    await wait(() => liveButtons(user)).toEqual(['Send a document', 'Talk to a person']);
    expect(await visibleButtonSets(user)).toBe(1);
    expect(await user.locator('.msg.from-bot', { hasText: 'Hi Rae Release! How can we help?' }).count()).toBe(2);
    await shot(user, 'released');
    // The buttons work: the bot answers them, not "Please use the buttons".
    await user.getByRole('button', { name: 'Send a document' }).click();
    await user.getByText('Please upload your document.').waitFor();
    expect(await user.getByText('Please use the buttons.').count()).toBe(0);
    expect(await visibleButtonSets(user)).toBe(0);
    expect(browser.errors).toEqual([]);
    await user.context().close();
  });
  it('keeps the conversation across a reload and a closed tab; New conversation asks first (keyboard only)', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await user.goto(`${runtime.urls.app}/?bot=desk`);
    // Keyboard only: the name field has the focus, Enter starts.
    await user.getByRole('button', { name: 'Start chatting' }).waitFor();
    expect(await focused(user)).toBe('user-name');
    await user.keyboard.type('Kit Keys');
    await user.keyboard.press('Enter');
    await user.getByText('Hi Kit Keys! How can we help?').waitFor();
    expect(await focused(user)).toBe('text');
    // Shift+Tab from the message box reaches the newest buttons; Enter presses one.
    await user.keyboard.press('Shift+Tab');
    expect(await focused(user)).toBe('button:Talk to a person');
    await user.keyboard.press('Shift+Tab');
    expect(await focused(user)).toBe('button:Send a document');
    await user.keyboard.press('Enter');
    await user.getByText('Please upload your document.').waitFor();
    expect(await focused(user)).toBe('text'); // the pressed set collapsed; typing goes on
    await user.keyboard.type('a question');
    await user.keyboard.press('Enter');
    await user.getByText('Please use the buttons.').waitFor();
    const sessionId = await sessionIdOf(user);
    const shown = await user.locator('#messages .msg').allTextContents();
    expect(shown.length).toBe((await runtime.deps.sessions.listMessages(sessionId)).length);

    // A reload reads the transcript again: the same messages, the same live buttons (none).
    await user.reload();
    await user.getByText('Please use the buttons.').waitFor();
    await wait(() => user.locator('#messages .msg').allTextContents()).toEqual(shown);
    expect(await visibleButtonSets(user)).toBe(0);
    expect(await user.locator('#start').isHidden()).toBe(true);

    // The tab closed and another opened: the same conversation.
    const tab = await user.context().newPage();
    await user.close();
    await tab.goto(`${runtime.urls.app}/?bot=desk`);
    await wait(() => tab.locator('#messages .msg').allTextContents()).toEqual(shown);
    expect(await sessionIdOf(tab)).toBe(sessionId);
    await shot(tab, 'restored');

    // New conversation asks first, in a modal dialog: Escape keeps the conversation.
    await tab.getByRole('button', { name: 'New conversation' }).focus();
    await tab.keyboard.press('Enter');
    const dialog = tab.getByRole('dialog', { name: 'Start a new conversation?' });
    await dialog.waitFor();
    expect(await focused(tab)).toBe('button:Keep this conversation');
    expect(seriousViolations(await axeAudit(tab))).toEqual([]);
    await shot(tab, 'new-conversation-dialog');
    await tab.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focused(tab)).toBe('restart');
    expect(await sessionIdOf(tab)).toBe(sessionId);
    expect(await tab.locator('#messages .msg').count()).toBe(shown.length);
    // "Keep this conversation" keeps it too.
    await tab.keyboard.press('Enter');
    await dialog.getByRole('button', { name: 'Keep this conversation' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await kept(tab)).not.toBeNull();
    // "Start a new one" forgets it and offers the start form.
    await tab.getByRole('button', { name: 'New conversation' }).click();
    await dialog.waitFor();
    await tab.keyboard.press('Tab');
    expect(await focused(tab)).toBe('restart-confirm');
    await tab.keyboard.press('Enter');
    await tab.getByRole('button', { name: 'Start chatting' }).waitFor();
    expect(await tab.locator('#messages .msg').count()).toBe(0);
    expect(await kept(tab)).toBeNull();
    expect(await focused(tab)).toBe('user-name');
    // A new one starts.
    await tab.keyboard.type('Kit Again');
    await tab.keyboard.press('Enter');
    await tab.getByText('Hi Kit Again! How can we help?').waitFor();
    expect(await sessionIdOf(tab)).not.toBe(sessionId);
    expect(browser.errors).toEqual([]);
    await tab.context().close();
  });

  it('forgets a kept conversation that expired and offers a new one', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await startChat(user, 'Eli Expired');
    const sessionId = await sessionIdOf(user);
    await runtime.deps.sessions.update(sessionId, { expiresAt: Math.floor(Date.now() / 1000) - 1 });
    await user.reload();
    await user.getByRole('button', { name: 'Start chatting' }).waitFor();
    await user.getByText('Your previous conversation has ended. You can start a new one.').waitFor();
    expect(await kept(user)).toBeNull();
    expect(await user.locator('#messages .msg').count()).toBe(0);
    // Only the refused socket (410 at connect) and the 410 read were errors.
    expect(browser.errors.filter((e) => !/WebSocket|410/.test(e))).toEqual([]);
    browser.errors.length = 0;
    await user.context().close();
  });

  it('clears "Cannot reach the server" once the connection is back, and loses nothing', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await startChat(user, 'Con Nection');
    await user.context().setOffline(true);
    await user.getByLabel('Message', { exact: true }).fill('are you there?');
    await user.getByRole('button', { name: 'Send', exact: true }).click();
    await user.locator('#banner', { hasText: 'Cannot reach the server' }).waitFor();
    // The words are still in the box.
    expect(await user.getByLabel('Message', { exact: true }).inputValue()).toBe('are you there?');
    await shot(user, 'offline');
    await user.context().setOffline(false);
    await wait(() => user.locator('#banner').isHidden()).toBe(true);
    await user.getByRole('button', { name: 'Send', exact: true }).click();
    await user.locator('.msg.from-user', { hasText: 'are you there?' }).waitFor();
    await user.getByText('Please use the buttons.').waitFor();
    expect(await user.locator('.msg.from-user', { hasText: 'are you there?' }).count()).toBe(1);
    // Only the failed requests while offline were errors.
    expect(browser.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch|WebSocket/.test(e))).toEqual([]);
    browser.errors.length = 0;
    await user.context().close();
  });

  it('posts a message once when its answer is lost: the page tries again with the same Idempotency-Key', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await startChat(user, 'Lou Stanswer');
    const keys: string[] = [];
    const statuses: number[] = [];
    await user.route('**/web/sessions/*/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      // The server takes the message and answers...
      const response = await route.fetch();
      statuses.push(response.status());
      // ...but the first answer never reaches the page (the connection drops on the way back).
      if (keys.length === 1) return route.abort('connectionreset');
      return route.fulfill({ response });
    });
    await user.getByLabel('Message', { exact: true }).fill('only once please');
    await user.getByRole('button', { name: 'Send', exact: true }).click();
    // The page tries again by itself; the words leave the box once the server has confirmed them.
    await wait(() => user.getByLabel('Message', { exact: true }).inputValue()).toBe('');
    await user.getByText('Please use the buttons.').waitFor();
    await runtime.events.drain(15_000);
    expect(statuses).toEqual([202, 202]);
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(keys[1]).toBe(keys[0]);
    // Once in the server's transcript, once on the page, and the bot answered once.
    const transcript = await runtime.deps.sessions.listMessages(await sessionIdOf(user));
    expect(transcript.filter((m) => m.text === 'only once please')).toHaveLength(1);
    expect(transcript.filter((m) => m.text === 'Please use the buttons.')).toHaveLength(1);
    expect(await user.locator('.msg.from-user', { hasText: 'only once please' }).count()).toBe(1);
    await wait(() => user.locator('#banner').isHidden()).toBe(true);
    expect(browser.errors.filter((e) => !/Failed to fetch|ERR_CONNECTION_RESET|net::ERR_FAILED/.test(e))).toEqual([]);
    browser.errors.length = 0;
    await user.context().close();
  });

  it('gives up a request that is never answered and tries again with the same Idempotency-Key', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    await startChat(user, 'Hal Hung');
    // The page waits 35 s for an answer; a shorter limit keeps the test short.
    await user.evaluate(() => ((globalThis as unknown as { Satchel: { limits: { apiTimeoutMs: number } } }).Satchel.limits.apiTimeoutMs = 1500));
    const keys: string[] = [];
    let answerFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (answerFirst = r));
    await user.route('**/web/sessions/*/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      // The first request reaches the server, whose answer never comes back (the page gives up on it).
      if (keys.length === 1) {
        const response = await route.fetch();
        await firstHeld;
        return route.fulfill({ response }).catch(() => undefined);
      }
      return route.fallback();
    });
    await user.getByLabel('Message', { exact: true }).fill('hung once');
    await user.getByRole('button', { name: 'Send', exact: true }).click();
    await wait(() => user.getByLabel('Message', { exact: true }).inputValue()).toBe('');
    answerFirst();
    await user.getByText('Please use the buttons.').waitFor();
    await runtime.events.drain(15_000);
    // Tried again with the same key (a slow retry may itself be tried again: still the same key).
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(keys)).toEqual(new Set([keys[0]]));
    const transcript = await runtime.deps.sessions.listMessages(await sessionIdOf(user));
    expect(transcript.filter((m) => m.text === 'hung once')).toHaveLength(1);
    expect(await user.locator('.msg.from-user', { hasText: 'hung once' }).count()).toBe(1);
    expect(browser.errors.filter((e) => !/Failed to fetch|ERR_CONNECTION_RESET|net::ERR_FAILED|aborted|timed out|TimeoutError/i.test(e))).toEqual([]);
    browser.errors.length = 0;
    await user.context().close();
  });

  it('works at 375 px: a wide message box, nothing wider than the screen, no serious axe violations', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson({ viewport: { width: 375, height: 740 } });
    await user.goto(`${runtime.urls.app}/?bot=desk`);
    await user.getByRole('button', { name: 'Start chatting' }).waitFor();
    expect(seriousViolations(await axeAudit(user))).toEqual([]);
    const startWidth = (await user.getByRole('button', { name: 'Start chatting' }).boundingBox())!.width;
    expect(startWidth).toBeLessThan(250);
    await shot(user, 'narrow-start');
    await user.getByLabel('Your name (optional)').fill('Nora Narrow');
    await user.getByRole('button', { name: 'Start chatting' }).click();
    await user.getByText('Hi Nora Narrow! How can we help?').waitFor();
    await user.setInputFiles('#file-input', { name: 'photo.png', mimeType: 'image/png', buffer: samples.png(600, 300) });
    await user.getByText('Thanks, we have received photo.png.').waitFor();
    await wait(() => loadedWidth(user, '.msg.from-user img[alt="photo.png"]')).toBe(600);

    const box = await user.getByLabel('Message', { exact: true }).boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    const overflow = await user.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const d = (globalThis as any).document.documentElement;
      return d.scrollWidth - d.clientWidth;
    });
    expect(overflow).toBe(0);
    for (const name of ['Attach file', 'Send', 'New conversation']) {
      const b = await user.getByRole('button', { name, exact: true }).boundingBox();
      expect(b!.x).toBeGreaterThanOrEqual(0);
      expect(b!.x + b!.width).toBeLessThanOrEqual(375);
    }
    expect(seriousViolations(await axeAudit(user))).toEqual([]);
    await shot(user, 'narrow-chat');

    // Tab order: the visible Attach button is a stop, the hidden file input never is.
    const stops: string[] = [];
    await user.getByRole('button', { name: 'New conversation' }).focus();
    for (let i = 0; i < 12; i++) {
      await user.keyboard.press('Tab');
      stops.push(await focused(user));
    }
    expect(stops).toContain('attach');
    expect(stops).toContain('send');
    expect(stops).toContain('text');
    expect(stops).not.toContain('file-input');
    expect(stops.indexOf('attach')).toBe(stops.indexOf('text') + 1);
    expect(browser.errors).toEqual([]);
    await user.context().close();
  });
});
