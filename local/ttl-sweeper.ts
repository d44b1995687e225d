import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TTL_ATTRIBUTE } from '../shared/adapters/table-layout';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../shared/logger';
import { BackoffLoop } from './backoff-loop';

/**
 * Emulates DynamoDB TTL: deletes items whose `expiresAt` has passed and hands each deletion
 * to the stream consumer as the same record AWS produces for a TTL delete (eventName REMOVE,
 * userIdentity Service / dynamodb.amazonaws.com, old image included).
 */
export class TtlSweeper {
  private readonly loop: BackoffLoop;
  private running?: Promise<void>;
  private sequence = 0;
  /** Records the expiry function failed on; handed over again with the next sweep, as the stream retries. */
  private retry: DynamoDBRecord[] = [];
  private readonly attempts = new Map<string, number>();
  /** Like the stream's maximum retry attempts, after which AWS hands records to the on-failure queue. */
  static readonly MAX_ATTEMPTS = 5;
  /** The longest wait between sweeps while the table keeps failing. */
  static readonly MAX_BACKOFF_MS = 60_000;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    private readonly onStream: (event: DynamoDBStreamEvent) => Promise<unknown>,
    intervalMs: number,
  ) {
    this.loop = new BackoffLoop('TTL sweep', intervalMs, TtlSweeper.MAX_BACKOFF_MS, () => this.sweep());
  }

  /** Sweeps every `intervalMs` until stopped; a failed sweep is logged and retried with a growing wait (BackoffLoop). */
  start(): void {
    this.loop.start();
  }

  /** One pass; concurrent calls share the pass in progress. */
  sweep(now = Date.now()): Promise<void> {
    this.running ??= this.sweepOnce(Math.floor(now / 1000)).finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(nowSeconds: number): Promise<void> {
    const records: DynamoDBRecord[] = [];
    let start: Record<string, AttributeValue> | undefined;
    // Items already deleted must still reach the stream consumer when a later request fails.
    let failure: unknown;
    try {
      do {
        const page = await this.ddb.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: `${TTL_ATTRIBUTE} <= :now`,
            ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
            ProjectionExpression: 'pk, sk',
            ExclusiveStartKey: start,
          }),
        );
        for (const key of page.Items ?? []) {
          try {
            // The condition keeps an item the user touched since the scan.
            const out = await this.ddb.send(
              new DeleteItemCommand({
                TableName: this.tableName,
                Key: { pk: key.pk!, sk: key.sk! },
                ConditionExpression: `${TTL_ATTRIBUTE} <= :now`,
                ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
                ReturnValues: 'ALL_OLD',
              }),
            );
            if (out.Attributes) records.push(this.record(key, out.Attributes));
          } catch (err) {
            if (!(err instanceof ConditionalCheckFailedException)) throw err;
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      failure = err;
    }
    // The table is not answering: records still owed wait for a sweep that reaches it, without using up their attempts.
    if (failure && !records.length) throw failure;
    const batch = [...this.retry, ...records].filter((r) => {
      const n = (this.attempts.get(r.eventID!) ?? 0) + 1;
      this.attempts.set(r.eventID!, n);
      if (n <= TtlSweeper.MAX_ATTEMPTS) return true;
      logger.error('expiry gave up on a swept record after retries', { sessionKey: r.dynamodb?.Keys?.pk?.S });
      this.attempts.delete(r.eventID!);
      return false;
    });
    this.retry = [];
    if (batch.length) await this.handOver(batch);
    if (failure) throw failure;
  }

  /** Hands records to the stream consumer; failed ones stay owed for the next sweep. */
  private async handOver(batch: DynamoDBRecord[]): Promise<void> {
    try {
      const result = (await this.onStream({ Records: batch })) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
      const failed = result?.batchItemFailures?.[0]?.itemIdentifier;
      // Like the stream: retry from the first failed record on.
      if (failed !== undefined) this.retry = batch.slice(Math.max(0, batch.findIndex((r) => r.dynamodb?.SequenceNumber === failed)));
      for (const r of batch) if (!this.retry.includes(r)) this.attempts.delete(r.eventID!);
    } catch (err) {
      this.retry = batch;
      logger.error('expiry handler failed on swept records; retrying on the next sweep', { error: err as Error });
    }
  }

  private record(key: Record<string, AttributeValue>, oldImage: Record<string, AttributeValue>): DynamoDBRecord {
    return {
      eventID: randomUUID().replace(/-/g, ''),
      eventName: 'REMOVE',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'local',
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { pk: key.pk as never, sk: key.sk as never },
        OldImage: oldImage as never,
        SequenceNumber: String(++this.sequence).padStart(21, '0'),
        SizeBytes: JSON.stringify(oldImage).length,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      eventSourceARN: `arn:aws:dynamodb:local:000000000000:table/${this.tableName}/stream/local`,
    };
  }

  async stop(): Promise<void> {
    this.loop.stop();
    await this.running?.catch(() => undefined);
  }
}
