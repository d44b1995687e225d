import { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionPrefix } from '../../shared/adapters/file-store';
import type { Deps } from '../support/emulators';
import { storeIncomingFile } from '../../shared/app/incoming-files';
import type { Session } from '../../shared/domain/session';
import { freshDeps, newUserSession as newSessionOf, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import * as samples from '../support/samples';

/** storeIncomingFile: the entry point for files from other channels (Messenger media). */

const bot = testBot({
  attachments: { allowedTypes: ['pdf', 'png', 'txt', 'csv'], sizeLimitBytes: 64 * 1024, limitPerConversation: 2 },
  start: 'hi',
  interactions: { hi: { type: 'message', text: 'Hi' } },
});

let emu: TestEmulators;
let deps: Deps;

beforeAll(async () => {
  emu = await startTestEmulators();
  deps = await freshDeps(emu, { bots: [bot] });
});
afterAll(async () => emu?.close());

const newUserSession = (): Promise<Session> => newSessionOf(deps, bot);

const objectsOf = async (sessionId: string) => {
  const out = await deps.files.s3.send(new ListObjectsV2Command({ Bucket: deps.files.bucket, Prefix: sessionPrefix(sessionId) }));
  return (out.Contents ?? []).map((o) => o.Key!);
};

/** A body arriving in small pieces, as a download does. */
function* chunks(buf: Buffer, size = 1000) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const readAll = async (stream: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
};

describe('storeIncomingFile', () => {
  it('streams a valid file into S3 under a random key and keeps it', async () => {
    const session = await newUserSession();
    const body = samples.png(40, 40);
    const result = await storeIncomingFile(deps, session, { fileName: 'photos/cat.png', contentType: 'application/octet-stream', body: Readable.from(chunks(body)), from: 'user' });
    expect(result).toEqual({ ok: true, attachment: { id: expect.any(String), fileName: 'cat.png', contentType: 'image/png', size: body.length } });
    if (!result.ok) return;
    const record = (await deps.attachments.get(session.id, result.attachment.id))!;
    expect(record.key).toMatch(new RegExp(`^sessions/${session.id}/[0-9a-f-]{36}$`));
    expect(record).toMatchObject({ from: 'user', sessionId: session.id });
    expect((await readAll(await deps.files.open(record.key))).equals(body)).toBe(true);
    expect((await deps.sessions.get(session.id))!.attachmentCount).toBe(1);
  });

  it('accepts an async iterable body too', async () => {
    const session = await newUserSession();
    async function* gen() {
      yield* chunks(samples.csv(), 7);
    }
    const result = await storeIncomingFile(deps, session, { fileName: 'data.csv', contentType: 'text/csv', body: gen(), from: 'user' });
    expect(result.ok).toBe(true);
  });

  it('stops a body that passes the size limit while streaming, and leaves nothing behind', async () => {
    const session = await newUserSession();
    let produced = 0;
    // Endless: only the cap can stop it.
    const endless = new Readable({
      read() {
        produced += 16 * 1024;
        this.push(Buffer.alloc(16 * 1024, 0x41));
      },
    });
    const result = await storeIncomingFile(deps, session, { fileName: 'huge.txt', contentType: 'text/plain', body: endless, from: 'user' });
    expect(result).toEqual({ ok: false, warning: 'attachment_too_large' });
    expect(produced).toBeLessThan(10 * 64 * 1024);
    expect(endless.destroyed).toBe(true);
    expect(await objectsOf(session.id)).toEqual([]);
    expect((await deps.sessions.get(session.id))!.attachmentCount).toBe(0);
  });

  it('refuses a disallowed type without reading the body', async () => {
    const session = await newUserSession();
    const body = Readable.from(chunks(samples.docx()));
    const result = await storeIncomingFile(deps, session, { fileName: 'letter.docx', contentType: 'application/octet-stream', body, from: 'user' });
    expect(result).toEqual({ ok: false, warning: 'attachment_type_not_allowed' });
    expect(body.destroyed).toBe(true);
    expect(await objectsOf(session.id)).toEqual([]);
  });

  it('refuses an executable named .pdf and deletes it', async () => {
    const session = await newUserSession();
    const result = await storeIncomingFile(deps, session, { fileName: 'invoice.pdf', contentType: 'application/pdf', body: Readable.from([samples.elf()]), from: 'user' });
    expect(result).toEqual({ ok: false, warning: 'attachment_content_mismatch' });
    expect(await objectsOf(session.id)).toEqual([]);
  });

  it('reports a body that fails mid-way as attachment_upload_failed, leaving nothing behind', async () => {
    const session = await newUserSession();
    async function* broken() {
      yield samples.pdf().subarray(0, 100);
      throw new Error('connection reset');
    }
    const result = await storeIncomingFile(deps, session, { fileName: 'report.pdf', contentType: 'application/pdf', body: broken(), from: 'user' });
    expect(result).toEqual({ ok: false, warning: 'attachment_upload_failed' });
    expect(await objectsOf(session.id)).toEqual([]);
  });

  it("applies the conversation's file limit to user files, counting refused files out", async () => {
    const session = await newUserSession();
    const send = (fileName: string, body: Buffer) =>
      storeIncomingFile(deps, session, { fileName, contentType: 'application/octet-stream', body: Readable.from([body]), from: 'user' });
    expect((await send('a.pdf', samples.pdf())).ok).toBe(true);
    expect(await send('bad.pdf', samples.exe())).toEqual({ ok: false, warning: 'attachment_content_mismatch' });
    expect((await send('b.txt', samples.txt())).ok).toBe(true);
    expect(await send('c.pdf', samples.pdf())).toEqual({ ok: false, warning: 'attachment_limit_reached' });
    expect((await deps.sessions.get(session.id))!.attachmentCount).toBe(2);
    expect(await objectsOf(session.id)).toHaveLength(2);
    // Files the bot or an agent sends do not count against the user's limit.
    const agentFile = await storeIncomingFile(deps, session, {
      fileName: 'reply.pdf',
      contentType: 'application/pdf',
      body: Readable.from([samples.pdf()]),
      from: 'agent',
      linkExpiresAt: 1_900_000_000,
    });
    expect(agentFile.ok).toBe(true);
    if (agentFile.ok) expect((await deps.attachments.get(session.id, agentFile.attachment.id))!.linkExpiresAt).toBe(1_900_000_000);
  });

  it('lets only as many parallel files in as the limit allows', async () => {
    const session = await newUserSession();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        storeIncomingFile(deps, session, { fileName: `f${i}.pdf`, contentType: 'application/pdf', body: Readable.from([samples.pdf()]), from: 'user' }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.warning)).toEqual(Array(3).fill('attachment_limit_reached'));
    expect((await deps.sessions.get(session.id))!.attachmentCount).toBe(2);
  });
});
