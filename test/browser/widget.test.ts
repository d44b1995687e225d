import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, Page } from 'playwright-core';
import { startDemoSite, type DemoSite } from '../../local/demo-site';
import { axeAudit, describeViolations, seriousViolations } from '../support/axe';
import { launchTestBrowser, type TestBrowser } from '../support/browser';
import { startTestRuntime } from '../support/runtime';

/**
 * The embeddable widget (SPEC 11) in Chromium, on the real local runtime: a site on a second
 * origin loads /widget.js with the README's snippet, the launcher opens the chat in an iframe
 * panel, a conversation runs in it; a site the bot does not allow gets a refused frame;
 * keyboard, a 375 px screen and an axe-core audit. The host sites are the runtime's own demo
 * site server (strict CSP of their own), on random ports. Screenshots go to test-artifacts/.
 */
const YELLOW = '#ffd400';
const HELPDESK = {
  id: 'helpdesk',
  name: 'Helpdesk bot',
  start: 'ask-name',
  interactions: {
    'ask-name': { type: 'question', text: 'What should I call you?', answerFormat: 'text', variable: 'name', next: 'hello' },
    hello: { type: 'message', text: 'Nice to meet you, {name}!' },
  },
};

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let browser: TestBrowser & { errors: string[] };
let botsDir: string;
/** A site the bot allows, and one it does not. */
let allowed: DemoSite;
let stranger: DemoSite;

beforeAll(async () => {
  // The sites need the API's address, the API's bot file needs the sites' origins.
  let appUrl = '';
  allowed = await startDemoSite(0, () => ({ appUrl, botId: 'helpdesk' }));
  stranger = await startDemoSite(0, () => ({ appUrl, botId: 'helpdesk' }));
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-widget-bots-'));
  const web = { allowedOrigins: [allowed.origin], theme: { title: 'Acme help', color: YELLOW, greeting: 'Hello from Acme! Ask us anything.' } };
  writeFileSync(join(botsDir, 'helpdesk.json'), JSON.stringify({ ...HELPDESK, channels: { web } }));
  runtime = await startTestRuntime({ botsDir, secrets: {} });
  appUrl = runtime.urls.app;
  browser = await launchTestBrowser();
});

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  await allowed?.close();
  await stranger?.close();
  rmSync(botsDir, { recursive: true, force: true });
});

const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

const launcherOf = (page: Page) => page.locator('satchel-chat-widget button.launcher');
const panelOf = (page: Page) => page.locator('satchel-chat-widget [role="dialog"]');
/** The chat's frame, once the panel has made it. */
async function chatFrame(page: Page): Promise<Frame> {
  const handle = await page.locator('satchel-chat-widget iframe').elementHandle();
  return (await handle!.contentFrame())!;
}
/** What has focus inside the widget's shadow root (the document only sees its host). */
const focusedInWidget = (page: Page) =>
  page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const d = (globalThis as any).document;
    const host = d.querySelector('satchel-chat-widget');
    if (d.activeElement !== host) return d.activeElement ? d.activeElement.tagName.toLowerCase() : null;
    const active = host.shadowRoot.activeElement;
    return active ? `${active.tagName.toLowerCase()}${active.className ? `.${active.className}` : ''}` : 'host';
  });
/** The id of what has focus inside the chat's document. */
const focusedInChat = (frame: Frame) => frame.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id ?? null);
/** Presses Tab (or Shift+Tab) until focus leaves the chat's frame; returns where it went. */
async function tabOutOfChat(page: Page, key: 'Tab' | 'Shift+Tab'): Promise<string | null> {
  for (let i = 0; i < 15; i++) {
    await page.keyboard.press(key);
    const at = await focusedInWidget(page);
    if (at !== 'iframe') return at;
  }
  return 'iframe';
}
const errorsOf = (page: Page) => browser.errors.filter((e) => e.startsWith(page.url()) || e.includes(new URL(page.url()).origin));

describe('embeddable widget in Chromium', () => {
  it('opens the chat from a site the bot allows, holds a conversation in it, and keeps it over a reload', { timeout: 120_000 }, async () => {
    const page = await browser.newPerson();
    await page.goto(allowed.url);
    const launcher = launcherOf(page);
    await launcher.waitFor();
    // The bot's look: its title and colour, with black text, which reads on yellow.
    expect(await launcher.textContent()).toBe('Acme help');
    expect(await launcher.getAttribute('aria-expanded')).toBe('false');
    expect(await launcher.evaluate((n) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const s = (globalThis as any).getComputedStyle(n);
      return [s.backgroundColor, s.color];
    })).toEqual(['rgb(255, 212, 0)', 'rgb(0, 0, 0)']);
    // Nothing is framed until the launcher is used.
    expect(page.frames()).toHaveLength(1);
    await browser.screenshot(page, 'widget-00-host-page');

    const chatPage = page.waitForResponse((r) => r.url().startsWith(`${runtime.urls.app}/?`));
    await launcher.click();
    const response = await chatPage;
    expect(new URL(response.url()).searchParams.get('bot')).toBe('helpdesk');
    expect(new URL(response.url()).searchParams.get('embed')).toBe('1');
    expect(response.headers()['content-security-policy']).toContain(`frame-ancestors ${allowed.origin};`);
    expect(response.headers()['x-frame-options']).toBeUndefined();
    expect(await launcher.getAttribute('aria-expanded')).toBe('true');
    await panelOf(page).waitFor();
    expect(await page.locator('satchel-chat-widget iframe').getAttribute('title')).toBe('Acme help chat');

    // Inside the frame: the chat page with the bot's title and greeting, then a round trip.
    const frame = await chatFrame(page);
    await frame.getByText('Hello from Acme! Ask us anything.').waitFor();
    expect(await frame.locator('#bot-name').textContent()).toBe('Acme help');
    await frame.getByLabel('Your name (optional)').fill('Ann');
    await frame.getByRole('button', { name: 'Start chatting' }).click();
    await frame.getByText('What should I call you?').waitFor();
    await frame.getByLabel('Message', { exact: true }).fill('Annie');
    await frame.getByRole('button', { name: 'Send', exact: true }).click();
    await frame.getByText('Nice to meet you, Annie!').waitFor();
    expect(await frame.locator('.msg.from-user .bubble').allTextContents()).toEqual(['Annie']);
    // The user's bubble takes the theme colour with readable text.
    expect(await frame.locator('.msg.from-user .bubble').evaluate((n) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const s = (globalThis as any).getComputedStyle(n);
      return [s.backgroundColor, s.color];
    })).toEqual(['rgb(255, 212, 0)', 'rgb(0, 0, 0)']);
    await browser.screenshot(page, 'widget-01-conversation');

    // The widget drew one element into the host page and touched none of its styles.
    expect(await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const d = (globalThis as any).document;
      return [d.querySelectorAll('satchel-chat-widget').length, d.adoptedStyleSheets.length, d.querySelectorAll('style').length];
    })).toEqual([1, 0, 1]);

    // A reload of the site keeps the conversation (the chat keeps it in its own origin's storage).
    await page.reload();
    await launcherOf(page).click();
    const again = await chatFrame(page);
    await again.getByText('Nice to meet you, Annie!').waitFor();
    expect(await again.locator('#start').isHidden()).toBe(true);

    expect(errorsOf(page)).toEqual([]);
  });

  it('is refused by the chat page when the site is not in allowedOrigins', async () => {
    const page = await browser.newPerson();
    const before = browser.errors.length;
    await page.goto(stranger.url);
    const chatPage = page.waitForResponse((r) => r.url().startsWith(`${runtime.urls.app}/?`));
    await launcherOf(page).click();
    const response = await chatPage;
    const csp = response.headers()['content-security-policy']!;
    expect(csp).toContain(`frame-ancestors ${allowed.origin};`);
    expect(csp).not.toContain(stranger.origin);
    // Chromium blocks the frame: an error page with none of the chat in it, and it says why.
    const frame = await chatFrame(page);
    await poll(() => Promise.resolve(frame.url())).not.toContain(runtime.urls.app);
    expect(await frame.locator('#messages').count()).toBe(0);
    await poll(async () => browser.errors.slice(before).some((e) => e.includes(`violates the following Content Security Policy directive: "frame-ancestors ${allowed.origin}"`))).toBe(true);
    await browser.screenshot(page, 'widget-02-refused');
    // The launcher and panel still behave: the close button closes.
    await page.locator('satchel-chat-widget button.close').click();
    expect(await panelOf(page).isHidden()).toBe(true);
  });

  it('works by keyboard: Tab to the launcher, Enter opens with focus in the chat, Escape closes and focus returns', { timeout: 60_000 }, async () => {
    const page = await browser.newPerson();
    await page.goto(allowed.url);
    await launcherOf(page).waitFor();
    // The site's link, then the launcher.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focusedInWidget(page)).toBe('button.launcher');

    await page.keyboard.press('Enter');
    await panelOf(page).waitFor();
    expect(await launcherOf(page).getAttribute('aria-expanded')).toBe('true');
    expect(await launcherOf(page).getAttribute('aria-controls')).toBe(await panelOf(page).getAttribute('id'));
    const frame = await chatFrame(page);
    await frame.getByLabel('Your name (optional)').waitFor();
    // Focus is in the chat: typing goes into its first field.
    await poll(() => focusedInWidget(page)).toBe('iframe');
    await poll(() => focusedInChat(frame)).toBe('user-name');
    await poll(() => frame.evaluate(() => (globalThis as unknown as { document: { hasFocus(): boolean } }).document.hasFocus())).toBe(true);
    await page.keyboard.type('Kim');
    await poll(() => frame.getByLabel('Your name (optional)').inputValue()).toBe('Kim');

    // Escape inside the chat (another origin) closes the panel and gives focus back.
    await page.keyboard.press('Escape');
    await poll(() => panelOf(page).isHidden()).toBe(true);
    expect(await launcherOf(page).getAttribute('aria-expanded')).toBe('false');
    expect(await focusedInWidget(page)).toBe('button.launcher');

    // Again, leaving by the close button (Shift+Tab from the chat reaches it).
    await page.keyboard.press('Enter');
    await poll(() => focusedInWidget(page)).toBe('iframe');
    await poll(() => focusedInChat(frame)).toBe('user-name');
    expect(await tabOutOfChat(page, 'Shift+Tab')).toBe('button.close');
    expect(await page.locator('satchel-chat-widget button.close').getAttribute('aria-label')).toBe('Close chat');
    await page.keyboard.press('Enter');
    await poll(() => panelOf(page).isHidden()).toBe(true);
    expect(await focusedInWidget(page)).toBe('button.launcher');

    // Escape on the panel's own controls closes it too.
    await page.keyboard.press('Enter');
    await poll(() => focusedInWidget(page)).toBe('iframe');
    await poll(() => focusedInChat(frame)).toBe('user-name');
    expect(await tabOutOfChat(page, 'Shift+Tab')).toBe('button.close');
    await page.keyboard.press('Escape');
    await poll(() => panelOf(page).isHidden()).toBe(true);
    expect(await focusedInWidget(page)).toBe('button.launcher');
  });

  it('takes the whole screen on a 375 px phone, and the chat in it fits', { timeout: 60_000 }, async () => {
    const page = await browser.newPerson();
    await page.setViewportSize({ width: 375, height: 720 });
    await page.goto(allowed.url);
    const launcher = launcherOf(page);
    await launcher.waitFor();
    const box = (await launcher.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(375);
    expect(box.width).toBeGreaterThanOrEqual(44);
    expect(box.height).toBeGreaterThanOrEqual(44);
    await browser.screenshot(page, 'widget-03-phone-closed');

    await launcher.click();
    await panelOf(page).waitFor();
    expect(await panelOf(page).boundingBox()).toEqual({ x: 0, y: 0, width: 375, height: 720 });
    expect(await launcher.isVisible()).toBe(false);
    const frame = await chatFrame(page);
    await frame.getByLabel('Your name (optional)').fill('Pat');
    await frame.getByRole('button', { name: 'Start chatting' }).click();
    await frame.getByText('What should I call you?').waitFor();
    const layout = await frame.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const d = (globalThis as any).document;
      return { scroll: d.documentElement.scrollWidth, width: d.documentElement.clientWidth, send: d.getElementById('send').getBoundingClientRect().right };
    });
    expect(layout.width).toBe(375);
    expect(layout.scroll).toBeLessThanOrEqual(layout.width);
    expect(layout.send).toBeLessThanOrEqual(layout.width);
    const close = page.locator('satchel-chat-widget button.close');
    const closeBox = (await close.boundingBox())!;
    expect(closeBox.width).toBeGreaterThanOrEqual(44);
    // The panel covers the page, so it is modal and Tab stays in it: from the close button
    // backwards into the chat, and from the chat's last control forwards to the close button.
    expect(await panelOf(page).getAttribute('aria-modal')).toBe('true');
    await frame.getByLabel('Message', { exact: true }).focus();
    await poll(() => focusedInChat(frame)).toBe('text');
    expect(await tabOutOfChat(page, 'Shift+Tab')).toBe('button.close');
    await page.keyboard.press('Shift+Tab'); // not the page behind: round into the chat's last control
    await poll(() => focusedInWidget(page)).toBe('iframe');
    await poll(() => focusedInChat(frame)).toBe('send');
    await page.keyboard.press('Tab'); // and forwards out of it: round to the close button
    await poll(() => focusedInWidget(page)).toBe('button.close');
    await frame.getByLabel('Message', { exact: true }).focus();
    expect(await tabOutOfChat(page, 'Tab')).toBe('button.close');
    await browser.screenshot(page, 'widget-04-phone-open');

    await close.click();
    await poll(() => launcher.isVisible()).toBe(true);
  });

  it('passes axe-core with the widget open: the host page and the chat in the panel', { timeout: 60_000 }, async () => {
    for (const width of [1200, 375]) {
      const page = await browser.newPerson();
      await page.setViewportSize({ width, height: 760 });
      await page.goto(allowed.url);
      await launcherOf(page).click();
      const frame = await chatFrame(page);
      await frame.getByLabel('Your name (optional)').fill('Axe');
      await frame.getByRole('button', { name: 'Start chatting' }).click();
      await frame.getByText('What should I call you?').waitFor();
      // Enough of a conversation that the transcript scrolls, with no button left in it.
      for (let i = 1; i <= 5; i++) {
        await frame.getByLabel('Message', { exact: true }).fill(`Message ${i}`);
        await frame.getByRole('button', { name: 'Send', exact: true }).click();
        await poll(() => frame.locator('.msg.from-bot').count()).toBe(i + 1);
      }
      expect(await frame.locator('#main').evaluate((n) => (n as unknown as { scrollHeight: number; clientHeight: number }).scrollHeight > (n as unknown as { clientHeight: number }).clientHeight)).toBe(true);
      for (const [name, target] of [['host page', page], ['chat in the panel', frame]] as const) {
        const serious = seriousViolations(await axeAudit(target));
        expect(serious, `${name} at ${width} px:\n${describeViolations(serious)}`).toEqual([]);
      }
    }
  });

  it("keeps the host page's CSS out and the theme's text readable for any colour", async () => {
    const page = await browser.newPerson();
    await page.goto(allowed.url);
    await launcherOf(page).waitFor();
    // A site with careless global CSS (added through the CSSOM: the site's CSP forbids inline styles).
    await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const w = globalThis as any;
      const sheet = new w.CSSStyleSheet();
      sheet.replaceSync('* { font-size: 40px !important; color: red !important; } button { background: blue !important; display: none !important; } iframe { display: none !important; }');
      w.document.adoptedStyleSheets = [sheet];
    });
    const launcher = launcherOf(page);
    expect(await launcher.isVisible()).toBe(true);
    expect(await launcher.evaluate((n) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const s = (globalThis as any).getComputedStyle(n);
      return [s.backgroundColor, s.color, s.fontSize];
    })).toEqual(['rgb(255, 212, 0)', 'rgb(0, 0, 0)', '16px']);
    await launcher.click();
    expect(await page.locator('satchel-chat-widget iframe').isVisible()).toBe(true);

    // The chat page's palette keeps every accent-coloured text at 4.5:1 or more.
    const frame = await chatFrame(page);
    await frame.getByLabel('Your name (optional)').waitFor();
    const worst = await frame.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const e = (globalThis as any).SatchelEmbed;
      const colours = ['#ffd400', '#ffffff', '#000000', '#777777', '#0b6e6e', '#ff0000', '#00ff00', '#1e90ff', '#5b2a86', '#f5f5dc'];
      return Math.min(
        ...colours.flatMap((c) => {
          const p = e.palette(c);
          return [e.contrast(p.accent, p.onAccent), e.contrast(p.hover, p.onAccent), e.contrast(p.dark, '#ffffff'), e.contrast(p.dark, p.soft), e.contrast(p.dark, '#f4f6f8')];
        }),
      );
    });
    expect(worst).toBeGreaterThanOrEqual(4.5);
  });

  it('draws one launcher for a snippet pasted twice, and none for a bot that does not exist', async () => {
    const page = await browser.newPerson();
    await page.goto(allowed.url);
    await launcherOf(page).waitFor();
    // The same snippet again (a script from the API, which the site's policy allows).
    await page.evaluate((src) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const d = (globalThis as any).document;
      const again = d.createElement('script');
      again.src = src;
      again.setAttribute('data-bot', 'helpdesk');
      d.body.append(again);
    }, `${runtime.urls.app}/widget.js`);
    await poll(() => page.evaluate(() => (globalThis as unknown as { __satchelWidgets?: object }).__satchelWidgets !== undefined)).toBe(true);
    await page.waitForLoadState('networkidle');
    expect(await page.locator('satchel-chat-widget').count()).toBe(1);

    let botId = 'no-such-bot';
    const nowhere = await startDemoSite(0, () => ({ appUrl: runtime.urls.app, botId }));
    try {
      const lost = await browser.newPerson();
      const before = browser.errors.length;
      await lost.goto(nowhere.url);
      await poll(async () => browser.errors.slice(before).some((e) => e.includes('Satchel widget: there is no bot "no-such-bot"'))).toBe(true);
      expect(await lost.locator('satchel-chat-widget').count()).toBe(0);
      botId = 'helpdesk';
    } finally {
      await nowhere.close();
    }
  });

  it("serves npm start's demo site: the snippet, on its own origin, under a strict policy", async () => {
    expect(runtime.urls.demoSite).toMatch(/^http:\/\/localhost:\d+\/$/);
    expect(runtime.demoSite).toEqual({ botId: 'helpdesk', origin: runtime.urls.demoSite!.slice(0, -1), allowed: false });
    const res = await fetch(runtime.urls.demoSite!);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<script src="${runtime.urls.app}/widget.js" data-bot="helpdesk" async></script>`);
    expect(res.headers.get('content-security-policy')).toContain(`script-src ${runtime.urls.app};`);
    const script = await fetch(`${runtime.urls.app}/widget.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const revalidated = await fetch(`${runtime.urls.app}/widget.js`, { headers: { 'if-none-match': script.headers.get('etag')! } });
    expect(revalidated.status).toBe(304);
  });
});
