import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL_CREDENTIALS } from '../../shared/adapters/clients';
import { newSession } from '../../shared/domain/session';
import { TtlSweeper } from '../../local/ttl-sweeper';
import { freshDeps, startTestEmulators, testBot, type TestEmulators } from '../support/emulators';

let emu: TestEmulators;
beforeAll(async () => {
  emu = await startTestEmulators();
});
afterAll(async () => {
  await emu?.close();
});

const bot = testBot({ sessionTimeoutSeconds: 60, start: 'x', interactions: { x: { type: 'message', text: 'x' } } });

describe('local TTL sweeper', () => {
  it('sends AWS-shaped TTL records and hands failed ones over again on the next sweep, as the stream retries', async () => {
    const deps = await freshDeps(emu, { bots: [bot] });
    const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: emu.dynamo.url, credentials: LOCAL_CREDENTIALS });
    const t0 = Date.now();
    await deps.sessions.create(newSession({ id: 'gone', bot, channel: 'web', userId: 'u', now: t0 }));
    await deps.sessions.create(newSession({ id: 'kept', bot, channel: 'web', userId: 'u', now: t0 + 3_600_000 }));

    const calls: DynamoDBStreamEvent[] = [];
    let fail = 2;
    const sweeper = new TtlSweeper(ddb, deps.sessions.tableName, async (e) => {
      calls.push(e);
      if (fail-- > 0) throw new Error('expiry down');
      return { batchItemFailures: [] };
    }, 60_000);

    await sweeper.sweep(t0 + 61_000);
    expect(calls).toHaveLength(1);
    const record = calls[0]!.Records[0]!;
    expect(record).toMatchObject({
      eventName: 'REMOVE',
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      dynamodb: { Keys: { pk: { S: 'SESSION#gone' }, sk: { S: 'META' } }, OldImage: expect.objectContaining({ botId: { S: 'test-bot' } }) },
    });
    expect(calls[0]!.Records).toHaveLength(1); // 'kept' has not expired
    expect(await deps.sessions.get('gone')).toBeUndefined();

    await sweeper.sweep(t0 + 62_000); // fails again, still owed
    await sweeper.sweep(t0 + 63_000); // succeeds
    await sweeper.sweep(t0 + 64_000); // nothing left
    expect(calls.map((c) => c.Records.map((r) => r.eventID))).toEqual([[record.eventID], [record.eventID], [record.eventID]]);
    expect(await deps.sessions.get('kept')).toBeDefined();
  });

  it('survives DynamoDB errors in its loop: logs, backs off and sweeps again once the table answers (issue 12)', async () => {
    let down = true;
    const sent: number[] = [];
    const ddb = {
      send: async () => {
        sent.push(Date.now());
        if (down) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
        return { Items: [] };
      },
    } as unknown as DynamoDBClient;
    const sweeper = new TtlSweeper(ddb, 'satchel', async () => undefined, 10);
    sweeper.start();
    try {
      // An unhandled rejection here would fail the run; the loop keeps trying, further apart each time.
      await new Promise((r) => setTimeout(r, 400));
      expect(sent.length).toBeGreaterThanOrEqual(3);
      expect(sent.length).toBeLessThan(10);
      const gaps = sent.slice(1).map((t, i) => t - sent[i]!);
      expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
      down = false;
      const before = sent.length;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(sent.length).toBeGreaterThan(before + 2);
    } finally {
      await sweeper.stop();
    }
  });
});
