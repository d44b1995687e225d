import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ScanState } from '../domain/transcript';
import { conditionHeld } from './conditional-write';
import type { AttachmentRecord } from '../domain/attachment';
import type { AttachmentRecords } from '../app/ports';
import { ATTACHMENT_SK_PREFIX, attachmentSk as attSk, sessionPk } from './table-layout';

/**
 * Attachment records live under their session: SESSION#<id> / ATT#<attachmentId>.
 * A record whose links expire on their own (`linkExpiresAt`, agent files) also carries the
 * table's TTL attribute at that time: DynamoDB then deletes it, and the stream record of that
 * deletion makes the expiry function delete its S3 object (functions/expiry.ts).
 */
export { ATTACHMENT_SK_PREFIX };

export class AttachmentStore implements AttachmentRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async put(record: AttachmentRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: sessionPk(record.sessionId),
          sk: attSk(record.id),
          ...record,
          ...(record.linkExpiresAt !== undefined && { expiresAt: record.linkExpiresAt }),
        },
      }),
    );
  }

  async get(sessionId: string, attachmentId: string): Promise<AttachmentRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: sessionPk(sessionId), sk: attSk(attachmentId) }, ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async findByKey(sessionId: string, key: string): Promise<AttachmentRecord | undefined> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :att)',
          FilterExpression: '#key = :key',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':pk': sessionPk(sessionId), ':att': ATTACHMENT_SK_PREFIX, ':key': key },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      const item = out.Items?.[0];
      if (item) return toRecord(item);
      start = out.LastEvaluatedKey;
    } while (start);
    return undefined;
  }

  async settleScan(sessionId: string, attachmentId: string, scan: ScanState): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: attSk(attachmentId) },
          UpdateExpression: 'SET #scan = :scan',
          ConditionExpression: '#scan = :pending',
          ExpressionAttributeNames: { '#scan': 'scan' },
          ExpressionAttributeValues: { ':scan': scan, ':pending': 'pending' },
        }),
      ),
    );
  }
}

const toRecord = (item: Record<string, unknown>): AttachmentRecord => {
  const { pk: _pk, sk: _sk, expiresAt: _ttl, ...rest } = item;
  return rest as unknown as AttachmentRecord;
};
