import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionsHandler, EVENTS_MAX_RECEIVE_COUNT } from '../../functions/actions/handler';
import { actionsWiring } from '../../functions/actions/wiring';
import type { FlowPorts } from '../../shared/app/ports';
import { redriveQueue, queueFiles } from '../../local/redrive';
import { optionsFromEnv, StartupError } from '../../local/runtime';
import { eventually, startTestRuntime } from '../support/runtime';
import { sqsRecord } from '../support/sqs';
import { WebUser } from '../support/web-user';

/**
 * Issue 12: a user whose message failed every retry is told so (a `message_not_processed`
 * warning in the transcript), once per event, locally when the queue dead-letters the event
 * and on AWS at the event's last receive; `npm run redrive` sends the event back and it runs.
 * Retry timings are milliseconds here (the product's are 1 s doubling to 60 s, for 15 minutes).
 */
let rt: Awaited<ReturnType<typeof startTestRuntime>>;

beforeAll(async () => {
  rt = await startTestRuntime({ retryDelayMs: 5, maxRetryDelayMs: 20, retryForMs: 150 });
});
afterAll(async () => {
  await rt?.stop();
});

const NOT_PROCESSED = 'message_not_processed';

/** Makes every delivery of a turn's replies fail (as when a channel is down) until `restore`. */
function breakDelivery(ports: FlowPorts) {
  const real = ports.deliver;
  let calls = 0;
  ports.deliver = async () => {
    calls++;
    throw new Error('channel down');
  };
  return { calls: () => calls, restore: () => void (ports.deliver = real) };
}

describe('local retry settings', () => {
  it('default to backoff capped at 60 s for 15 minutes, and read QUEUE_RETRY_MAX_SECONDS and QUEUE_RETRY_FOR_SECONDS', () => {
    expect(optionsFromEnv({})).toMatchObject({ maxRetryDelayMs: 60_000, retryForMs: 900_000 });
    expect(optionsFromEnv({ QUEUE_RETRY_MAX_SECONDS: '10', QUEUE_RETRY_FOR_SECONDS: '120' })).toMatchObject({ maxRetryDelayMs: 10_000, retryForMs: 120_000 });
    expect(optionsFromEnv({ QUEUE_RETRY_MAX_SECONDS: '0' }).maxRetryDelayMs).toBe(1000);
    expect(() => optionsFromEnv({ QUEUE_RETRY_FOR_SECONDS: 'soon' })).toThrow(StartupError);
  });
});

describe('local runtime: an event that exhausts its retries', () => {
  it('is dead-lettered and its user sees one warning, even when redriven and failing again; a later redrive runs it', async () => {
    const user = await WebUser.start(rt.urls.app, 'demo');
    await eventually(async () => ((await user.messages()).some((m) => m.from === 'bot') ? true : undefined), 10_000, 'greeting');
    // The greeting turn writes its messages before it finishes: break delivery only once it is done.
    await eventually(async () => (rt.events.pending === 0 ? true : undefined), 10_000, 'greeting turn finished');
    const broken = breakDelivery(rt.deps.ports);
    try {
      await user.send({ text: 'Hello there' });
      const warnings = async () => (await user.messages()).filter((m) => m.warning === NOT_PROCESSED);
      const [warning] = await eventually(async () => ((await warnings()).length ? warnings() : undefined), 10_000, 'the warning');
      expect(warning).toMatchObject({ from: 'bot', warning: NOT_PROCESSED });
      expect(warning!.text).toMatch(/could not be processed/);
      // At least SQS's count of receives, and for at least the time budget.
      expect(rt.events.deadLetters).toHaveLength(1);
      const [details] = rt.events.deadLetterDetails;
      expect(details!.receiveCount).toBeGreaterThanOrEqual(EVENTS_MAX_RECEIVE_COUNT);
      expect(details!.deadLetteredAt! - details!.firstReceivedAt!).toBeGreaterThanOrEqual(150);
      expect(rt.events.deadLetters[0]!.error).toBe('reported as a batch item failure');
      const dead = JSON.parse(rt.events.deadLetters[0]!.body) as { sessionId: string };
      expect(dead.sessionId).toBe(user.sessionId);

      // Redriven while the channel is still down: dead-lettered again, still one warning.
      expect(rt.events.redrive()).toBe(1);
      await eventually(async () => (rt.events.deadLetters.length === 1 && rt.events.pending === 0 ? true : undefined), 10_000, 'second dead-lettering');
      await new Promise((r) => setTimeout(r, 100));
      expect(await warnings()).toHaveLength(1);
    } finally {
      broken.restore();
    }

    // The outage is over: `npm run redrive` (through the running runtime) sends it back and it runs.
    const [file] = queueFiles(rt.dataDir, ['satchel-events.fifo']);
    expect(await redriveQueue(file!, { timeoutMs: 5000 })).toMatchObject({ moved: 1, via: 'running' });
    await rt.events.drain();
    expect(rt.events.deadLetters).toEqual([]);
  });
});

describe('actions on AWS: the last receive of a failing event', () => {
  const userMessage = (sessionId: string, text: string) => ({ type: 'user_message', sessionId, messageSeq: 1, text });
  const atReceive = (record: SQSRecord, n: number): SQSRecord => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(n) } });

  it('tells the user of the failed event and of those skipped behind it, once, and not before the last receive', async () => {
    const user = await WebUser.start(rt.urls.app, 'demo');
    await eventually(async () => ((await user.messages()).some((m) => m.from === 'bot') ? true : undefined), 10_000, 'greeting');
    const env = rt.config as unknown as Record<string, string | undefined>;
    const failing = { deliver: async () => Promise.reject(new Error('channel down')) };
    const actions = createActionsHandler(actionsWiring(env, { secrets: rt.deps.secrets, ports: failing }), { maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT });
    const records = [
      sqsRecord(userMessage(user.sessionId, 'first'), { group: user.sessionId, queue: 'satchel-events.fifo' }),
      sqsRecord(userMessage(user.sessionId, 'second'), { group: user.sessionId, queue: 'satchel-events.fifo' }),
    ];
    const warnings = async () => (await user.messages()).filter((m) => m.warning === NOT_PROCESSED);

    const early = await actions({ Records: records.map((r) => atReceive(r, EVENTS_MAX_RECEIVE_COUNT - 1)) });
    expect(early.batchItemFailures).toHaveLength(2);
    expect(await warnings()).toHaveLength(0);

    const last = await actions({ Records: records.map((r) => atReceive(r, EVENTS_MAX_RECEIVE_COUNT)) });
    expect(last.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.messageId));
    expect(await warnings()).toHaveLength(2); // one per event: the failed one and the one skipped behind it

    // ApproximateReceiveCount may say "last" more than once: still one warning per event.
    await actions({ Records: records.map((r) => atReceive(r, EVENTS_MAX_RECEIVE_COUNT + 1)) });
    expect(await warnings()).toHaveLength(2);
  });
});
