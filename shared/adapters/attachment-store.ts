import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _ttl, ...rest } = out.Item;
    return rest as AttachmentRecord;
  }
}
