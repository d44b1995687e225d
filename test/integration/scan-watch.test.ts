import { Readable } from 'node:stream';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScanVerdictHandler } from '../../functions/scan-verdict/handler';
import { SqsScanWatch } from '../../shared/adapters/scan-watch-queue';
import { storeIncomingFile } from '../../shared/app/incoming-files';
import type { ScanWatch, ScanWatchJob } from '../../shared/app/ports';
import type { Session } from '../../shared/domain/session';
import { captureLogs } from '../support/logs';
import { freshDeps, newUserSession as newSessionOf, startTestEmulators, testBot, type Deps, type TestEmulators } from '../support/emulators';
import * as samples from '../support/samples';
import { sqsRecord } from '../support/sqs';

/**
 * SPEC 13 / issue 16 point 4 on AWS: each file that goes pending schedules its own overdue
 * check (the scan watch queue, delayed); the scan-verdict function reads the check and raises
 * the ScanVerdictOverdue alarm (error log + ScanVerdictsOverdue metric) only for a file still
 * pending on a live session. Real stores on the local servers; the queue is recorded.
 */
const bot = testBot({
  attachments: { allowedTypes: ['pdf', 'png'], sizeLimitBytes: 64 * 1024, limitPerConversation: 10 },
  start: 'hi',
  interactions: { hi: { type: 'message', text: 'Hi' } },
});

/** The watch port as a record of what was scheduled. */
class RecordingScanWatch implements ScanWatch {
  readonly scheduled: { sessionId: string; attachmentId: string; delaySeconds: number }[] = [];
  async schedule(sessionId: string, attachmentId: string, delaySeconds: number): Promise<void> {
    this.scheduled.push({ sessionId, attachmentId, delaySeconds });
  }
}

let emu: TestEmulators;
let deps: Deps;
const watch = new RecordingScanWatch();

beforeAll(async () => {
  emu = await startTestEmulators();
  deps = await freshDeps(emu, { bots: [bot], config: { MALWARE_SCAN: 'on', SCAN_PENDING_ALARM_MINUTES: 40 }, overrides: { scanWatch: watch } });
});
afterAll(async () => emu?.close());

const newUserSession = (): Promise<Session> => newSessionOf(deps, bot);

/** A user or agent file kept through the path every channel and upload shares; its scheduled check. */
async function holdFile(session: Session, from: 'user' | 'agent' = 'user') {
  const before = watch.scheduled.length;
  const result = await storeIncomingFile(deps, session, { fileName: 'claim.pdf', contentType: 'application/pdf', body: Readable.from([samples.pdf()]), from });
  if (!result.ok) throw new Error(`file refused: ${result.warning}`);
  expect(watch.scheduled.slice(before)).toEqual([{ sessionId: session.id, attachmentId: result.attachment.id, delaySeconds: 40 * 60 }]);
  return result.attachment.id;
}

const verdictFunction = () => createScanVerdictHandler(async () => ({ ...deps, bucketName: deps.files.bucket }));

/** Runs the scan-verdict function on one batch of the watch queue; its answer and every log line. */
async function runChecks(...jobs: (ScanWatchJob | string)[]) {
  const records = jobs.map((job) => sqsRecord(job, { queue: 'satchel-scan-watch' }));
  if (jobs.some((j) => typeof j === 'string')) for (const [i, j] of jobs.entries()) if (typeof j === 'string') records[i]!.body = j;
  let response: SQSBatchResponse | undefined;
  const lines = await captureLogs(async () => {
    response = await verdictFunction()({ Records: records });
  });
  const json = lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  return {
    response: response!,
    records,
    overdue: json.filter((l) => l.alarm === 'ScanVerdictOverdue'),
    metrics: json.filter((l) => '_aws' in l),
    errors: json.filter((l) => l.level === 'ERROR'),
  };
}

describe('the per-file scan overdue check (issue 16 point 4)', () => {
  it('is scheduled when a user or agent file goes pending, after SCAN_PENDING_ALARM_MINUTES; not for a refused file or with scanning off', async () => {
    const session = await newUserSession();
    await holdFile(session, 'user');
    await holdFile(session, 'agent');
    const before = watch.scheduled.length;
    const refused = await storeIncomingFile(deps, session, { fileName: 'fake.pdf', contentType: 'application/pdf', body: Readable.from([Buffer.from('not a pdf at all')]), from: 'user' });
    expect(refused).toEqual({ ok: false, warning: 'attachment_content_mismatch' });
    const unscanned = await storeIncomingFile({ ...deps, malwareScan: 'off' }, session, { fileName: 'a.pdf', contentType: 'application/pdf', body: Readable.from([samples.pdf()]), from: 'user' });
    expect(unscanned.ok).toBe(true);
    expect(watch.scheduled.length).toBe(before);
  });

  it('raises the alarm for a file still pending on a live session: one error log naming it, one ScanVerdictsOverdue metric; the file stays pending', async () => {
    const session = await newUserSession();
    const attachmentId = await holdFile(session);
    const { response, overdue, metrics } = await runChecks({ sessionId: session.id, attachmentId, dueAt: deps.now() });
    expect(response.batchItemFailures).toEqual([]);
    expect(overdue).toHaveLength(1);
    expect(overdue[0]).toMatchObject({ level: 'ERROR', message: expect.stringContaining('overdue'), sessionId: session.id, attachmentId, from: 'user' });
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ service: 'satchel', ScanVerdictsOverdue: 1 });
    expect((metrics[0]!._aws as { CloudWatchMetrics: unknown }).CloudWatchMetrics).toEqual([
      { Namespace: 'Satchel', Dimensions: [['service']], Metrics: [{ Name: 'ScanVerdictsOverdue', Unit: 'Count' }] },
    ]);
    expect((await deps.attachments.get(session.id, attachmentId))!.scan).toBe('pending');
  });

  it('raises nothing for a file whose verdict came (clean or refused), a file that is gone, or a session that is gone', async () => {
    const session = await newUserSession();
    const clean = await holdFile(session);
    const infected = await holdFile(session);
    expect(await deps.attachments.settleScan(session.id, clean, 'clean')).toBe(true);
    expect(await deps.attachments.settleScan(session.id, infected, 'infected')).toBe(true);
    const ended = await newUserSession();
    const ofEnded = await holdFile(ended);
    await deps.sessions.deleteAll(ended.id);
    const { response, overdue, metrics, errors } = await runChecks(
      { sessionId: session.id, attachmentId: clean, dueAt: deps.now() },
      { sessionId: session.id, attachmentId: infected, dueAt: deps.now() },
      { sessionId: session.id, attachmentId: 'no-such-file', dueAt: deps.now() },
      { sessionId: ended.id, attachmentId: ofEnded, dueAt: deps.now() },
    );
    expect(response.batchItemFailures).toEqual([]);
    expect([overdue, metrics, errors]).toEqual([[], [], []]);
    // Never marked anything: the settled states stand.
    expect((await deps.attachments.get(session.id, clean))!.scan).toBe('clean');
    expect((await deps.attachments.get(session.id, infected))!.scan).toBe('infected');
  });

  it('sends a check that came before its time back for the time left (SQS delays 15 minutes at most), unless the file settled', async () => {
    const session = await newUserSession();
    const waiting = await holdFile(session);
    const settled = await holdFile(session);
    await deps.attachments.settleScan(session.id, settled, 'clean');
    const before = watch.scheduled.length;
    const dueAt = deps.now() + 25 * 60_000;
    const { response, overdue, metrics } = await runChecks({ sessionId: session.id, attachmentId: waiting, dueAt }, { sessionId: session.id, attachmentId: settled, dueAt });
    expect(response.batchItemFailures).toEqual([]);
    expect([overdue, metrics]).toEqual([[], []]);
    const again = watch.scheduled.slice(before);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ sessionId: session.id, attachmentId: waiting });
    expect(again[0]!.delaySeconds).toBeGreaterThan(24 * 60);
    expect(again[0]!.delaySeconds).toBeLessThanOrEqual(25 * 60);
  });

  it('reports a check that failed alone (partial batch response) and drops a malformed one', async () => {
    const session = await newUserSession();
    const attachmentId = await holdFile(session);
    const broken = createScanVerdictHandler(async () => ({
      ...deps,
      bucketName: deps.files.bucket,
      sessions: { ...deps.sessions, get: async () => Promise.reject(new Error('table unavailable')) } as unknown as Deps['sessions'],
    }));
    const records = [sqsRecord({ sessionId: session.id, attachmentId, dueAt: deps.now() }), sqsRecord({ nothing: 'here' })];
    let response: SQSBatchResponse | undefined;
    await captureLogs(async () => {
      response = await broken({ Records: records });
    });
    expect(response!.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.messageId }]);
  });
});

describe('the SQS scan watch', () => {
  it('delays each check by the alarm time, at most SQS’s 900 s, and carries when it is due', async () => {
    const sent: { QueueUrl?: string; MessageBody?: string; DelaySeconds?: number }[] = [];
    const sqs = { send: async (command: { input: (typeof sent)[number] }) => void sent.push(command.input) } as unknown as SQSClient;
    const adapter = new SqsScanWatch(sqs, 'https://sqs.example/watch', () => 1_000_000);
    await adapter.schedule('s1', 'a1', 15 * 60);
    await adapter.schedule('s1', 'a2', 40 * 60);
    await adapter.schedule('s1', 'a3', 90);
    expect(sent.map((m) => [m.QueueUrl, m.DelaySeconds, JSON.parse(m.MessageBody!)])).toEqual([
      ['https://sqs.example/watch', 900, { sessionId: 's1', attachmentId: 'a1', dueAt: 1_000_000 + 900_000 }],
      ['https://sqs.example/watch', 900, { sessionId: 's1', attachmentId: 'a2', dueAt: 1_000_000 + 2_400_000 }],
      ['https://sqs.example/watch', 90, { sessionId: 's1', attachmentId: 'a3', dueAt: 1_000_000 + 90_000 }],
    ]);
  });

  it('is what the functions that hold files build from SCAN_WATCH_QUEUE_URL', async () => {
    const wired = await freshDeps(emu, { bots: [bot], config: { MALWARE_SCAN: 'on', SCAN_WATCH_QUEUE_URL: 'https://sqs.example/watch' } });
    expect(wired.scanWatch).toBeInstanceOf(SqsScanWatch);
    const unwired = await freshDeps(emu, { bots: [bot], config: { MALWARE_SCAN: 'on' } });
    expect(unwired.scanWatch).toBeUndefined();
  });
});
