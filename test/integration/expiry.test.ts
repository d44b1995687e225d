import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpiryHandler } from '../../functions/expiry/handler';
import { dynamoDocumentClient } from '../../shared/adapters/clients';
import { sessionPrefix } from '../../shared/adapters/file-store';
import { fileLink } from '../../shared/app/file-links';
import type { BotInput } from '../../shared/bots/schema';
import { sessionFileKey } from '../../shared/adapters/table-layout';
const newAttachmentKey = (sessionId: string) => sessionFileKey(sessionId, randomUUID());
import { freshDeps, startTestEmulators, testBot } from '../support/emulators';
import { attachmentBytes, waitForMail } from '../support/mailbox';
import { startTestRuntime } from '../support/runtime';
import * as samples from '../support/samples';
import { WebUser } from '../support/web-user';

const RECIPIENT = `expiry-${randomUUID().slice(0, 8)}@example.com`;
const ask: Pick<BotInput, 'start' | 'interactions'> = {
  start: 'ask',
  interactions: {
    ask: { type: 'question', text: 'Send me your file.', answerFormat: 'any', variable: 'doc', next: 'got' },
    got: { type: 'message', text: 'Got {doc}.', next: 'ask' },
  },
};
/** Test-only bots: one expiring after the schema's minimum of 60 s, one living two days. */
const BOTS = [
  { id: 'brief', name: 'Brief bot', sessionTimeoutSeconds: 60, attachments: { recipientEmail: RECIPIENT }, ...ask },
  { id: 'lasting', name: 'Lasting bot', sessionTimeoutSeconds: 2 * 86400, ...ask },
];

let runtime: Awaited<ReturnType<typeof startTestRuntime>>;
let botsDir: string;
/** The runtime's clock runs `offset` ms ahead of the real one. */
let offset = 0;
const now = () => Date.now() + offset;

beforeAll(async () => {
  botsDir = mkdtempSync(join(tmpdir(), 'satchel-expiry-bots-'));
  for (const bot of BOTS) writeFileSync(join(botsDir, `${bot.id}.json`), JSON.stringify(bot));
  runtime = await startTestRuntime({ botsDir, secrets: {}, now });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(botsDir, { recursive: true, force: true });
});

const objectKeys = async (prefix = '') => {
  const out = await runtime.deps.files.s3.send(new ListObjectsV2Command({ Bucket: runtime.deps.files.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
};

/** Every item of the whole table that mentions the session anywhere. */
const itemsMentioning = async (sessionId: string) => {
  const db = dynamoDocumentClient(runtime.config);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: runtime.config.TABLE_NAME, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.filter((i) => JSON.stringify(i).includes(sessionId));
};

const get = (path: string) => fetch(`${runtime.urls.app}${path}`, { redirect: 'manual' });

/** An agent's file straight into storage, as the agent API stores one (24 h link). */
async function storeAgentFile(sessionId: string, body: Buffer) {
  const key = newAttachmentKey(sessionId);
  await runtime.deps.files.s3.send(new PutObjectCommand({ Bucket: runtime.deps.files.bucket, Key: key, Body: body, ContentType: 'application/pdf' }));
  const id = randomUUID();
  await runtime.deps.attachments.put({
    id,
    sessionId,
    key,
    fileName: 'reply.pdf',
    contentType: 'application/pdf',
    size: body.length,
    from: 'agent',
    createdAt: now(),
    linkExpiresAt: Math.floor(now() / 1000) + 24 * 3600,
  });
  return { id, key };
}

describe('session expiry (local TTL sweep → stream record → expiry function)', () => {
  it('kills links at expiresAt, then deletes every file and record of the session', async () => {
    const user = await WebUser.start(runtime.urls.app, 'brief', 'Eve');
    const pdf = samples.pdf('expiring');
    const ticket = await user.upload({ fileName: 'form.pdf', contentType: 'application/pdf', body: pdf });
    await user.send({ uploadIds: [ticket.uploadId] });
    const messages = await user.waitFor((ms) => ms.some((m) => m.text === 'Got form.pdf.'), 'the file accepted');
    const link = messages.flatMap((m) => m.attachments ?? [])[0]!.url!;
    // The email went out (its MAIL# record joins the session's records).
    const [mail] = await waitForMail(runtime.urls.ses, RECIPIENT, 1);
    expect(attachmentBytes(mail!.attachments[0]!).equals(pdf)).toBe(true);
    // An upload slot never used, and an agent's file: more records and objects to delete.
    await user.ticket({ fileName: 'later.pdf', size: 10, contentType: 'application/pdf' });
    await storeAgentFile(user.sessionId, samples.pdf('agent'));

    expect((await get(link)).status).toBe(302);
    const recordsBefore = await itemsMentioning(user.sessionId);
    expect(recordsBefore.map((i) => String(i.sk).split('#')[0])).toEqual(expect.arrayContaining(['META', 'MSG', 'ATT', 'MAIL', 'UPLOAD']));
    expect((await objectKeys(sessionPrefix(user.sessionId))).length).toBe(2);

    // Past expiresAt, before any deletion: the session and its links are dead already.
    offset += 61_000;
    const expired = await get(link);
    expect(expired.status).toBe(410);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('session_expired');
    expect((await fetch(`${runtime.urls.app}/web/sessions/${user.sessionId}/messages`, { headers: { authorization: `Bearer ${user.token}` } })).status).toBe(410);
    expect(await itemsMentioning(user.sessionId)).toHaveLength(recordsBefore.length);

    // The TTL sweep deletes META and hands the stream record to the expiry function.
    await runtime.sweeper.sweep(now());
    expect(await itemsMentioning(user.sessionId)).toEqual([]);
    expect((await objectKeys()).filter((k) => k.includes(user.sessionId))).toEqual([]);
    expect((await get(link)).status).toBe(410);
  });

  it("deletes an agent's file 24 h after it was sent while the session lives on", async () => {
    const user = await WebUser.start(runtime.urls.app, 'lasting', 'Lou');
    const ticket = await user.upload({ fileName: 'mine.pdf', contentType: 'application/pdf', body: samples.pdf('user') });
    await user.send({ uploadIds: [ticket.uploadId] });
    await user.waitFor((ms) => ms.some((m) => m.text === 'Got mine.pdf.'), 'the file accepted');
    const agentFile = await storeAgentFile(user.sessionId, samples.pdf('agent reply'));
    const session = (await runtime.deps.sessions.get(user.sessionId))!;
    const agentLink = fileLink(runtime.deps.tokens, session, agentFile.id);
    expect((await get(agentLink)).status).toBe(302);

    await runtime.sweeper.sweep(now() + 24 * 3600_000 - 60_000);
    expect(await objectKeys(sessionPrefix(user.sessionId))).toContain(agentFile.key);

    await runtime.sweeper.sweep(now() + 24 * 3600_000 + 1000);
    const left = await objectKeys(sessionPrefix(user.sessionId));
    expect(left).not.toContain(agentFile.key);
    expect(left).toHaveLength(1); // the user's file stays with the session
    expect(await runtime.deps.attachments.get(user.sessionId, agentFile.id)).toBeUndefined();
    expect(await runtime.deps.sessions.get(user.sessionId)).toBeDefined();
    expect((await get(agentLink)).status).toBe(410);
  });
});

describe('expiry function', () => {
  const streamRecord = (keys: { pk: string; sk: string }, opts: { ttl?: boolean; oldImage?: Record<string, { S: string }> } = {}): DynamoDBRecord => ({
    eventID: randomUUID(),
    eventName: 'REMOVE',
    eventSource: 'aws:dynamodb',
    dynamodb: { Keys: { pk: { S: keys.pk }, sk: { S: keys.sk } }, OldImage: opts.oldImage, SequenceNumber: '1', StreamViewType: 'NEW_AND_OLD_IMAGES' },
    ...(opts.ttl !== false && { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }),
  });

  it('acts only on TTL deletions, and never deletes outside the session prefix', async () => {
    const emu = await startTestEmulators();
    try {
      const deps = await freshDeps(emu, { bots: [testBot({ ...ask })] });
      const put = (key: string) => deps.files.s3.send(new PutObjectCommand({ Bucket: deps.files.bucket, Key: key, Body: 'x' }));
      const sid = randomUUID();
      const own = newAttachmentKey(sid);
      const foreign = newAttachmentKey(randomUUID());
      await Promise.all([put(own), put(foreign)]);
      const expiry = createExpiryHandler(async () => deps);
      const pk = `SESSION#${sid}`;

      await expiry({
        Records: [
          streamRecord({ pk, sk: 'META' }, { ttl: false }), // someone deleted it: not an expiry
          streamRecord({ pk, sk: 'ATT#a' }, { ttl: false, oldImage: { key: { S: own } } }),
          streamRecord({ pk, sk: 'MAIL#a' }, { oldImage: { key: { S: own } } }), // not an attachment record
          streamRecord({ pk, sk: 'ATT#b' }, { oldImage: { key: { S: foreign } } }), // names another session's file
        ],
      });
      const keys = async () =>
        ((await deps.files.s3.send(new ListObjectsV2Command({ Bucket: deps.files.bucket }))).Contents ?? []).map((o) => o.Key).sort();
      expect(await keys()).toEqual([own, foreign].sort());

      await expiry({ Records: [streamRecord({ pk, sk: 'ATT#a' }, { oldImage: { key: { S: own } } })] });
      expect(await keys()).toEqual([foreign]);
    } finally {
      await emu.close();
    }
  });
});
