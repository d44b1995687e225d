import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Presence, PresenceRecord } from '../app/ports';
import { PRESENCE_PK as PRESENCE, presenceSk as agentSk } from './table-layout';

/**
 * Agent presence: PRESENCE / AGENT#<agentId>, one item per agent, rewritten on every agent
 * API call. `onlineUntil` (epoch ms) decides; the TTL attribute `expiresAt` only tidies up,
 * because DynamoDB deletes expired items lazily. Not under SESSION#, so the expiry function
 * (which only acts on SESSION#/META) ignores these deletions.
 */
export type { PresenceRecord };

export class PresenceStore implements Presence {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async put(record: PresenceRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: PRESENCE, sk: agentSk(record.agentId), ...record, expiresAt: Math.ceil(record.onlineUntil / 1000) + 3600 },
      }),
    );
  }

  /** Agents whose presence has not run out at `now`. The partition holds one item per agent. */
  async online(now: number): Promise<PresenceRecord[]> {
    const found: PresenceRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'onlineUntil > :now',
          ExpressionAttributeValues: { ':pk': PRESENCE, ':now': now },
          ProjectionExpression: 'agentId, #n, onlineUntil',
          ExpressionAttributeNames: { '#n': 'name' },
          ExclusiveStartKey: start,
        }),
      );
      found.push(...((out.Items ?? []) as PresenceRecord[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }
}
