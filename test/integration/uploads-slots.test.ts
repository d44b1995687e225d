import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../support/emulators';
import { acceptUploads, acceptUploadSlots, createUploadSlot, UPLOAD_POST_SECONDS } from '../../shared/app/uploads';
import { newSession, type Session } from '../../shared/domain/session';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';
import * as samples from '../support/samples';
import { postToS3 } from '../support/web-user';

/** Upload slots over time (a controlled clock) and for agents. */

const bot = testBot({
  attachments: { allowedTypes: ['pdf'], sizeLimitBytes: 4096, limitPerConversation: 1 },
  start: 'hi',
  interactions: { hi: { type: 'message', text: 'Hi' } },
});

let emu: TestEmulators;
let deps: Deps;
let clock = Date.now();

beforeAll(async () => {
  emu = await startTestEmulators();
  deps = await freshDeps(emu, { bots: [bot], overrides: { now: () => clock } });
});
afterAll(async () => emu?.close());

async function newUserSession(): Promise<Session> {
  const id = deps.newId();
  const session = newSession({ id, bot, channel: 'web', userId: `web:${id}`, now: clock });
  await deps.sessions.create(session);
  return session;
}

const pdfSlot = (session: Session, sender: 'user' | 'agent' = 'user') =>
  createUploadSlot(deps, { session, bot, sender, fileName: 'form.pdf', size: samples.pdf().length, contentType: 'application/pdf' });

describe('upload slots over time', () => {
  it('holds a place until its deadline, then gives it back to the next request', async () => {
    const session = await newUserSession();
    const first = await pdfSlot(session);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    await postToS3(first.upload, samples.pdf(), 'form.pdf');
    expect(await pdfSlot(session)).toEqual({ ok: false, warning: 'attachment_limit_reached' });

    clock += (UPLOAD_POST_SECONDS + 5 * 60) * 1000; // POST window over, slot still usable
    expect(await pdfSlot(session)).toEqual({ ok: false, warning: 'attachment_limit_reached' });

    clock += 6 * 60 * 1000; // past the slot's deadline: the abandoned slot is reclaimed
    const second = await pdfSlot(session);
    expect(second.ok).toBe(true);
    // ...and its uploaded object is gone, and the old slot no longer works.
    expect(await deps.files.size(first.upload.fields.key!)).toBeUndefined();
    expect(await acceptUploads(deps, session, [first.upload.uploadId])).toEqual({ accepted: [], warnings: [{ warning: 'attachment_upload_failed' }] });
  });

  it('refuses a slot used after its deadline, even if the file arrived', async () => {
    const session = await newUserSession();
    const slot = await pdfSlot(session);
    if (!slot.ok) throw new Error('slot refused');
    await postToS3(slot.upload, samples.pdf(), 'form.pdf');
    clock += 60 * 60 * 1000;
    // The slot is known, so the refusal names its file (SPEC 7).
    expect(await acceptUploads(deps, session, [slot.upload.uploadId])).toEqual({ accepted: [], warnings: [{ warning: 'attachment_upload_failed', fileName: 'form.pdf' }] });
    expect(await deps.files.size(slot.upload.fields.key!)).toBeUndefined();
    // The place came back.
    expect((await pdfSlot(session)).ok).toBe(true);
  });

  it('keeps duplicate ids in one message to one file', async () => {
    const session = await newUserSession();
    const slot = await pdfSlot(session);
    if (!slot.ok) throw new Error('slot refused');
    await postToS3(slot.upload, samples.pdf(), 'form.pdf');
    const result = await acceptUploads(deps, session, [slot.upload.uploadId, slot.upload.uploadId]);
    expect(result.accepted).toHaveLength(1);
    expect(result.warnings).toEqual([]);
  });
});

describe('agent upload slots (issue 6 reuses these)', () => {
  it('ignore the per-conversation limit, cannot be used as user slots, and give 24-hour links', async () => {
    const session = await newUserSession();
    const user = await pdfSlot(session);
    expect(user.ok).toBe(true);
    const agent = await pdfSlot(session, 'agent');
    expect(agent.ok).toBe(true);
    if (!agent.ok) return;
    await postToS3(agent.upload, samples.pdf(), 'form.pdf');

    // A user cannot claim an agent's slot (and it survives the attempt).
    expect(await acceptUploads(deps, session, [agent.upload.uploadId])).toEqual({ accepted: [], warnings: [{ warning: 'attachment_upload_failed' }] });
    const [result] = await acceptUploadSlots(deps, session, [agent.upload.uploadId], 'agent');
    expect(result?.ok).toBe(true);
    if (!result?.ok) return;
    const record = (await deps.attachments.get(session.id, result.attachment.id))!;
    expect(record.from).toBe('agent');
    expect(record.linkExpiresAt).toBe(Math.floor(clock / 1000) + 24 * 3600);
    expect((await deps.sessions.get(session.id))!.attachmentCount).toBe(0);
  });

  it('still apply the type, size and content checks', async () => {
    const session = await newUserSession();
    expect(await createUploadSlot(deps, { session, bot, sender: 'agent', fileName: 'x.exe', size: 10, contentType: 'application/octet-stream' })).toEqual({
      ok: false,
      warning: 'attachment_type_not_allowed',
    });
    const slot = await pdfSlot(session, 'agent');
    if (!slot.ok) throw new Error('slot refused');
    await postToS3(slot.upload, samples.elf(), 'form.pdf');
    expect(await acceptUploadSlots(deps, session, [slot.upload.uploadId], 'agent')).toEqual([{ ok: false, warning: 'attachment_content_mismatch', fileName: 'form.pdf' }]);
  });
});
