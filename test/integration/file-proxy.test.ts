import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseContentDisposition } from 'content-disposition';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileLink } from '../../shared/app/file-links';
import { TokenSigner } from '../../shared/domain/tokens';
import { startTestRuntime } from '../support/runtime';
import * as samples from '../support/samples';
import { WebUser } from '../support/web-user';

/** The `{error: {code, message}}` body of a refused request. */
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

const BOT = {
  id: 'keeper',
  name: 'Keeper',
  sessionTimeoutSeconds: 3600,
  start: 'ask',
  interactions: {
    ask: { type: 'question', text: 'Send me something.', answerFormat: 'any', variable: 'doc', next: 'got' },
    got: { type: 'message', text: 'Got {doc}.', next: 'ask' },
  },
};

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let botsDir: string;

beforeAll(async () => {
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-bots-'));
  writeFileSync(join(botsDir, 'keeper.json'), JSON.stringify(BOT));
  runtime = await startTestRuntime({ botsDir, secrets: {} });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(botsDir, { recursive: true, force: true });
});

/** A user who sent one file; returns its transcript entry. */
async function sendFile(fileName: string, contentType: string, body: Buffer) {
  const user = await WebUser.start(runtime.urls.app, 'keeper');
  const ticket = await user.upload({ fileName, contentType, body });
  await user.send({ uploadIds: [ticket.uploadId] });
  const messages = await user.waitFor((ms) => ms.some((m) => m.text === `Got ${fileName}.`), 'the file answer');
  const file = messages.flatMap((m) => m.attachments ?? [])[0]!;
  return { user, file };
}

const hit = (path: string) => fetch(`${runtime.urls.app}${path}`, { redirect: 'manual' });

describe('GET /files/{token}', () => {
  it('redirects to a 60-second download carrying the non-ASCII file name and the stored type', async () => {
    const fileName = 'Résumé – 履歴書 "final".pdf';
    const body = samples.pdf();
    const { file } = await sendFile(fileName, 'application/pdf', body);
    expect(file.fileName).toBe(fileName);

    const res = await hit(file.url!);
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe(runtime.urls.s3);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(location.pathname).not.toContain('sum'); // the key is random, not the name

    const download = await fetch(location);
    expect(download.status).toBe(200);
    const disposition = download.headers.get('content-disposition')!;
    expect(disposition).toMatch(/^attachment;/);
    expect(disposition).toMatch(/filename\*=UTF-8''/);
    expect(/^[\x20-\x7e]*$/.test(disposition)).toBe(true); // the header itself stays ASCII
    expect(parseContentDisposition(disposition)).toMatchObject({ type: 'attachment', parameters: { filename: fileName } });
    // RFC 5987 by hand: the extended value decodes to the exact name; old clients get an ASCII fallback.
    const extended = disposition.match(/filename\*=UTF-8''([^;\s]+)/)![1]!;
    expect(decodeURIComponent(extended)).toBe(fileName);
    expect(disposition).toMatch(/filename="R\?sum\? \? \?\?\? \\"final\\".pdf"/);
    expect(download.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await download.arrayBuffer()).equals(body)).toBe(true);
  });

  it('serves text with the type of its extension, whatever the browser declared', async () => {
    const { file } = await sendFile('notes.txt', 'text/html', samples.txt());
    const download = await fetch(`${runtime.urls.app}${file.url}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(parseContentDisposition(download.headers.get('content-disposition')!).parameters.filename).toBe('notes.txt');
    expect(Buffer.from(await download.arrayBuffer()).equals(samples.txt())).toBe(true);
  });

  it('answers 403 invalid_token for forged, tampered, foreign-kind and malformed tokens', async () => {
    const { user, file } = await sendFile('report.pdf', 'application/pdf', samples.pdf());
    const token = file.url!.slice('/files/'.length);
    const [kind, payload, sig] = token.split('.') as [string, string, string];
    const forger = new TokenSigner('not-the-real-key');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const other = Buffer.from(JSON.stringify({ ...claims, aid: 'someone-else' })).toString('base64url');
    const bad = [
      forger.sign('ft', claims),
      `${kind}.${other}.${sig}`,
      `${kind}.${payload}.${sig.slice(0, -2)}AA`,
      user.token, // a valid session token is not a file token
      'ft.garbage',
      'nonsense',
    ];
    for (const t of bad) {
      const res = await hit(`/files/${encodeURIComponent(t)}`);
      expect(res.status, t).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expect((await errorOf(res)).code).toBe('invalid_token');
    }
  });

  it('answers 410 once a link with its own expiry has passed it', async () => {
    const { user, file } = await sendFile('report.pdf', 'application/pdf', samples.pdf());
    const past = fileLink(runtime.deps.tokens, { id: user.sessionId }, file.id, Math.floor(Date.now() / 1000) - 1);
    expect((await hit(past)).status).toBe(410);
    const future = fileLink(runtime.deps.tokens, { id: user.sessionId }, file.id, Math.floor(Date.now() / 1000) + 3600);
    expect((await hit(future)).status).toBe(302);
  });

  it("answers 410 once the file's own link expiry (agent files) has passed", async () => {
    const { user, file } = await sendFile('report.pdf', 'application/pdf', samples.pdf());
    const record = (await runtime.deps.attachments.get(user.sessionId, file.id))!;
    await runtime.deps.attachments.put({ ...record, linkExpiresAt: Math.floor(Date.now() / 1000) + 60 });
    expect((await hit(file.url!)).status).toBe(302);
    await runtime.deps.attachments.put({ ...record, linkExpiresAt: Math.floor(Date.now() / 1000) - 1 });
    const res = await hit(file.url!);
    expect(res.status).toBe(410);
    expect((await errorOf(res)).code).toBe('session_expired');
  });

  it('answers 410 for a link to a file that is not there', async () => {
    const { user } = await sendFile('report.pdf', 'application/pdf', samples.pdf());
    const res = await hit(fileLink(runtime.deps.tokens, { id: user.sessionId }, 'no-such-attachment'));
    expect(res.status).toBe(410);
  });

  it('answers 410 from the instant the session expires, and after its files are deleted', async () => {
    const { user, file } = await sendFile('report.pdf', 'application/pdf', samples.pdf());
    const location = (await hit(file.url!)).headers.get('location')!;
    expect((await fetch(location)).status).toBe(200);

    // Expired but not yet swept: the link already stops working.
    const nowS = Math.floor(Date.now() / 1000);
    await runtime.deps.sessions.update(user.sessionId, { expiresAt: nowS });
    const expired = await hit(file.url!);
    expect(expired.status).toBe(410);
    expect((await errorOf(expired)).code).toBe('session_expired');

    // The TTL sweep deletes the session and its files; the link stays dead, the object is gone.
    await runtime.sweeper.sweep(Date.now() + 1000);
    expect(await runtime.deps.sessions.get(user.sessionId)).toBeUndefined();
    expect((await hit(file.url!)).status).toBe(410);
    expect((await fetch(location)).status).toBe(404);
  });
});
