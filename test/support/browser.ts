import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); playwright-core downloads no browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where browser tests keep screenshots (git-ignored; CI keeps them as artifacts). */
export const ARTIFACTS_DIR = resolve('test-artifacts');

export interface TestBrowser {
  /** The context `newPage` opens tabs in: one person's browser. */
  context: BrowserContext;
  /**
   * A new tab of the same person. Tabs keep separate sessionStorage (where the console keeps
   * its sign-in) and share localStorage (where the chat keeps its conversation per bot).
   */
  newPage(): Promise<Page>;
  /** A tab in a browser profile of its own: another person, sharing no storage with the rest. */
  newPerson(opts?: { viewport?: { width: number; height: number } }): Promise<Page>;
  /** Saves a full-page screenshot as test-artifacts/<name>.png (name may hold a folder) and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with fresh, throw-away contexts, no sandbox (containers) and nothing that
 * phones home. Every page's console errors and uncaught exceptions are collected in `errors`,
 * so a test can assert the pages ran cleanly (a CSP violation shows up there too).
 */
export async function launchTestBrowser(): Promise<TestBrowser & { errors: string[] }> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const newContext = (viewport = { width: 1200, height: 800 }) => browser.newContext({ viewport, acceptDownloads: true });
  const context = await newContext();
  const errors: string[] = [];
  const watched = async (ctx: BrowserContext) => {
    const page = await ctx.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`${page.url()}: ${err.message}`));
    return page;
  };
  return {
    context,
    errors,
    newPage: () => watched(context),
    async newPerson(opts = {}) {
      return watched(await newContext(opts.viewport));
    },
    async screenshot(page, name) {
      const path = join(ARTIFACTS_DIR, `${name}.png`);
      mkdirSync(dirname(path), { recursive: true });
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}
