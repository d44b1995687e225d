import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM } from './browser';

/**
 * `npm test` provisions what the browser tests need: Debian's Chromium. When it is missing
 * and this is a Debian machine where apt can run (as root), it is installed; otherwise the
 * run stops at once with how to get it, rather than failing browser test by browser test.
 */
export default function provisionChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const canApt = process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!canApt) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM}. Install Debian's package (sudo apt-get install chromium), ` +
        'or point CHROMIUM_PATH at a Chromium or Chrome binary.',
    );
  }
  console.log(`Chromium is not at ${CHROMIUM}; installing Debian's chromium package (apt-get)…`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but there is still no ${CHROMIUM}; set CHROMIUM_PATH`);
}
