import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { LocalSocketFunctions } from '../../local/socket-gateway';
import { launchTestBrowser, type TestBrowser } from '../support/browser';
import { startTestRuntime } from '../support/runtime';

/**
 * SPEC 10 in Chromium on the local runtime: the pages hold a socket, render pushes, drop
 * duplicates by message id, fall back to polling when the socket is refused, and reconnect.
 * Counts and behaviour only: how many polls, how many messages, never how long.
 */
const ECHO_BOT = {
  id: 'echo',
  name: 'Echo bot',
  defaultAnswer: 'I only know how to answer this.',
  start: 'hi',
  interactions: { hi: { type: 'message', text: 'Hello! Say anything.' } },
};

const wait = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let browser: TestBrowser & { errors: string[] };
let botsDir: string;

beforeAll(async () => {
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-socket-bots-'));
  writeFileSync(join(botsDir, 'echo.json'), JSON.stringify(ECHO_BOT));
  runtime = await startTestRuntime({ botsDir, secrets: {} });
  browser = await launchTestBrowser();
});

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  rmSync(botsDir, { recursive: true, force: true });
});

/** Counts the page's transcript reads (GET /web/sessions/{id}/messages). */
function countPolls(page: Page): { count: number } {
  const counter = { count: 0 };
  page.on('request', (req) => {
    if (req.method() === 'GET' && /\/web\/sessions\/[^/]+\/messages/.test(req.url())) counter.count++;
  });
  return counter;
}

async function startChat(page: Page, name: string): Promise<string> {
  await page.goto(`${runtime.urls.app}/?bot=echo`);
  await page.getByLabel('Your name (optional)').fill(name);
  await page.getByRole('button', { name: 'Start chatting' }).click();
  await page.getByText('Hello! Say anything.').waitFor();
  const kept = await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('satchel.chat.echo'));
  return (JSON.parse(kept ?? '{}') as { sessionId: string }).sessionId;
}

async function say(page: Page, text: string) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
}

describe('Real-time delivery in Chromium', () => {
  it('chat: pushes replace polling, and a message pushed twice is shown once', { timeout: 120_000 }, async () => {
    const user = await browser.newPerson();
    const polls = countPolls(user);
    const sessionId = await startChat(user, 'Sam Socket');
    await wait(async () => runtime.sockets.openConnectionIds().length).toBe(1);
    const pollsWhileOpen = polls.count;

    await say(user, 'first');
    await user.locator('.msg.from-user', { hasText: 'first' }).waitFor();
    await wait(() => user.locator('.msg.from-bot', { hasText: 'I only know how to answer this.' }).count()).toBe(1);
    await say(user, 'second');
    await wait(() => user.locator('.msg.from-bot', { hasText: 'I only know how to answer this.' }).count()).toBe(2);
    // Both replies came over the socket: the page did not read the transcript again.
    expect(polls.count).toBe(pollsWhileOpen);

    // At-least-once delivery: the whole transcript pushed again changes nothing on screen.
    const shown = await user.locator('#messages .msg').count();
    const stored = await runtime.deps.sessions.listMessages(sessionId);
    expect(shown).toBe(stored.length);
    const res = await fetch(`${runtime.urls.app}/web/sessions/${sessionId}/messages`, {
      headers: { authorization: `Bearer ${runtime.deps.tokens.sign('st', { sid: sessionId })}` },
    });
    const page = (await res.json()) as { messages: unknown[]; cursor: string; status: string };
    const [connectionId] = runtime.sockets.openConnectionIds();
    const posted = await fetch(`${runtime.urls.app.replace('localhost', '127.0.0.1')}/@connections/${encodeURIComponent(connectionId!)}`, {
      method: 'POST',
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=local/test', 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'messages', sessionId, ...page }),
    });
    expect(posted.status).toBe(200);
    await say(user, 'third');
    await wait(() => user.locator('.msg.from-bot', { hasText: 'I only know how to answer this.' }).count()).toBe(3);
    expect(await user.locator('#messages .msg').count()).toBe((await runtime.deps.sessions.listMessages(sessionId)).length);
    // In id order, each once.
    const ids = await user.locator('#messages .msg').evaluateAll((nodes) => nodes.map((n) => Number((n as unknown as { getAttribute(a: string): string }).getAttribute('data-id'))));
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(browser.errors).toEqual([]);
    await user.close();
  });

  it('console: the list updates live (new conversation, takeover by someone else)', { timeout: 120_000 }, async () => {
    const agent = await browser.newPage();
    const reads = { count: 0 };
    agent.on('requestfinished', (req) => {
      if (req.method() === 'GET' && /\/agent\/conversations(\?|$)/.test(req.url())) reads.count++;
    });
    await agent.goto(`${runtime.urls.app}/agent`);
    await agent.getByLabel('Your name').fill('Ann Agent');
    await agent.getByRole('button', { name: 'Sign in' }).click();
    await agent.getByText('Signed in as Ann Agent').waitFor();
    await wait(async () => runtime.sockets.openConnectionIds().length).toBe(1);
    // The console reads the list once on sign-in and catches up once when its socket opens;
    // count only after both (however slowly a loaded machine gets there).
    await wait(async () => reads.count).toBe(2);
    const before = reads.count;
    const lists = {
      get count() {
        return reads.count - before;
      },
    };

    // A new conversation appears without the console asking for the list.
    const user = await browser.newPerson();
    const sessionId = await startChat(user, 'Nina New');
    const row = agent.locator('.conv', { hasText: 'Nina New' });
    await row.waitFor();
    // Someone else takes it over: the row says so.
    const other = await fetch(`${runtime.urls.app}/local/agent-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId: 'bob', name: 'Bob Other' }) });
    const { token } = (await other.json()) as { token: string };
    expect((await fetch(`${runtime.urls.app}/agent/conversations/${sessionId}/takeover`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await agent.locator('.conv', { hasText: 'with Bob Other' }).waitFor();
    await row.locator('.badge', { hasText: 'Taken over' }).waitFor();
    expect(lists.count).toBe(0);
    // The user sees the start message pushed to the chat.
    await user.getByText('You are chatting with a person from our team.').waitFor();
    expect(browser.errors).toEqual([]);
    await agent.close();
    await user.close();
  });

  it('falls back to polling when the socket is refused, and reconnects when it is back', { timeout: 120_000 }, async () => {
    // The pages of the previous test have closed their sockets.
    await wait(async () => runtime.sockets.openConnectionIds().length).toBe(0);
    const real = (runtime.sockets as unknown as { functions: LocalSocketFunctions }).functions;
    // The $connect authorizer refuses every credential (the upgrade gets 401).
    runtime.sockets.attach({ ...real, authorizer: async () => Promise.reject(new Error('Unauthorized')) });
    try {
      const user = await browser.newPerson();
      const polls = countPolls(user);
      await startChat(user, 'Polly Fallback');
      expect(runtime.sockets.openConnectionIds()).toEqual([]);
      await say(user, 'anyone there?');
      await wait(() => user.locator('.msg.from-bot', { hasText: 'I only know how to answer this.' }).count()).toBe(1);
      expect(polls.count).toBeGreaterThanOrEqual(2);
      expect(await user.locator('.msg.from-user', { hasText: 'anyone there?' }).count()).toBe(1);

      // The socket works again: the page connects on its next attempt and stops polling.
      runtime.sockets.attach(real);
      await expect.poll(async () => runtime.sockets.openConnectionIds().length, { timeout: 60_000, interval: 200 }).toBe(1);
      await say(user, 'back?');
      await wait(() => user.locator('.msg.from-bot', { hasText: 'I only know how to answer this.' }).count()).toBe(2);
      // Only the refused upgrades were errors.
      expect(browser.errors.filter((e) => !/WebSocket/.test(e))).toEqual([]);
      await user.close();
    } finally {
      runtime.sockets.attach(real);
    }
  });
});
