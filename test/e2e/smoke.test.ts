import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime } from '../support/runtime';

/**
 * `npm run smoke -- <ApiUrl>` (issue 13, point 6), run as a user runs it after a deploy, as a
 * separate process, against the local runtime, so the script cannot rot: every check passes
 * against a working stack, and a wrong URL or bot fails with a clear line and a non-zero exit.
 */

const CHECKS = ['config', 'session', 'socket', 'greeting', 'turn', 'push', 'upload', 'download'];
const RUN_TIMEOUT_MS = 120_000;

function runSmoke(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve('scripts/smoke.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`smoke did not finish; output so far:\n${stdout}\n${stderr}`));
    }, RUN_TIMEOUT_MS - 5_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const statusLines = (stdout: string) => stdout.split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l));

let rt: Awaited<ReturnType<typeof startTestRuntime>>;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

describe('npm run smoke', () => {
  it('passes every check against a working stack and exits 0', async () => {
    const res = await runSmoke([rt.urls.app, '--timeout', '30']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = statusLines(res.stdout);
    expect(lines.map((l) => l.split(':')[0])).toEqual(CHECKS.map((c) => `PASS ${c}`));
    expect(res.stdout).toMatch(/^PASS config: bot "Satchel demo", \d+ allowed file types, socket ws:\/\/localhost:\d+\/socket$/m);
    expect(res.stdout).toMatch(/^PASS upload: smoke-test\.txt \(\d+ B\) uploaded through the presigned form and accepted$/m);
    expect(res.stdout).toMatch(/^PASS download: \/files link → 302 → \d+ bytes, identical, served as an attachment$/m);
    expect(res.stdout).toMatch(/^smoke test passed: 8 checks$/m);

    // It really went through the stack: a session with the user's text and file in its transcript.
    const sessionId = /PASS session: session (\S+),/.exec(res.stdout)![1]!;
    const messages = await rt.deps.sessions.listMessages(sessionId);
    expect(messages.filter((m) => m.from === 'user').map((m) => m.text ?? m.attachments?.[0]?.fileName)).toEqual(['Smoke test: hello', 'smoke-test.txt']);
    const file = messages.flatMap((m) => m.attachments ?? [])[0]!;
    expect(await rt.deps.attachments.get(sessionId, file.id)).toMatchObject({ from: 'user', fileName: 'smoke-test.txt', contentType: expect.stringMatching(/^text\/plain/) });
  }, RUN_TIMEOUT_MS);

  it('fails with a clear reason and a non-zero exit when the URL reaches nothing, skipping what needs it', async () => {
    const res = await runSmoke([`http://127.0.0.1:${await closedPort()}/`, '--timeout', '5']);
    expect(res.code).toBe(1);
    const lines = statusLines(res.stdout);
    expect(lines[0]).toMatch(/^FAIL config: GET http:\/\/127\.0\.0\.1:\d+\/web\/bots\/demo\/config could not be reached \(ECONNREFUSED\)$/);
    expect(lines.slice(1).map((l) => l.split(':')[0])).toEqual(CHECKS.slice(1).map((c) => `SKIP ${c}`));
    expect(res.stdout).toMatch(/^smoke test FAILED: 1 failed, 0 passed$/m);
  }, RUN_TIMEOUT_MS);

  it('fails naming the error for a bot the stack does not have', async () => {
    const res = await runSmoke([rt.urls.app, '--bot', 'no-such-bot', '--no-socket']);
    expect(res.code).toBe(1);
    const lines = statusLines(res.stdout);
    expect(lines[0]).toBe('FAIL config: GET /web/bots/no-such-bot/config answered 404 (expected 200), bot_not_found: No bot "no-such-bot"');
    // --no-socket leaves the socket checks out.
    expect(lines.map((l) => l.split(':')[0])).toEqual(['FAIL config', ...CHECKS.slice(1).filter((c) => c !== 'socket' && c !== 'push').map((c) => `SKIP ${c}`)]);
  }, RUN_TIMEOUT_MS);

  it('reports a check that fails mid-run (no sample type the bot allows) and still runs the independent ones', async () => {
    const botsDir = mkdtempSync(join(tmpdir(), 'satchel-smoke-bots-'));
    writeFileSync(
      join(botsDir, 'zips.json'),
      JSON.stringify({
        id: 'zips',
        name: 'Zip files only',
        attachments: { allowedTypes: ['zip'] },
        start: 'ask',
        interactions: {
          ask: { type: 'question', text: 'Say something.', answerFormat: 'any', variable: 'said', next: 'thanks' },
          thanks: { type: 'message', text: 'Thanks for {said}.' },
        },
      }),
    );
    const zips = await startTestRuntime({ botsDir, secrets: {} });
    try {
      const res = await runSmoke([zips.urls.app, '--bot', 'zips']);
      expect(res.code).toBe(1);
      expect(statusLines(res.stdout)).toEqual([
        expect.stringMatching(/^PASS config: bot "Zip files only", 1 allowed file types, socket /),
        expect.stringMatching(/^PASS session: /),
        'PASS socket: connected with the session token; ping answered with pong',
        'PASS greeting: the bot said "Say something."',
        'PASS turn: the bot answered "Thanks for Smoke test: hello."',
        expect.stringMatching(/^PASS push: the reply arrived over the socket too/),
        'FAIL upload: the bot allows none of the sample types (txt, png, csv, pdf)',
        'SKIP download: needs the uploaded file',
      ]);
      expect(res.stdout).toMatch(/^smoke test FAILED: 1 failed, 6 passed$/m);
    } finally {
      await zips.stop();
      rmSync(botsDir, { recursive: true, force: true });
    }
  }, RUN_TIMEOUT_MS);

  it('exits 2 with the usage for a missing or malformed URL', async () => {
    for (const args of [[], ['not a url'], ['ftp://example.com/']]) {
      const res = await runSmoke(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/usage: npm run smoke -- <ApiUrl>/);
      expect(statusLines(res.stdout)).toEqual([]);
    }
  }, RUN_TIMEOUT_MS);
});
