import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttachmentRecord } from '../domain/attachment';
import { sessionPk } from './session-store';

/** Attachment records live under their session: SESSION#<id> / ATT#<attachmentId>. */
const attSk = (id: string) => `ATT#${id}`;

export class AttachmentStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async put(record: AttachmentRecord): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: sessionPk(record.sessionId), sk: attSk(record.id), ...record } }));
  }

  async get(sessionId: string, attachmentId: string): Promise<AttachmentRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: sessionPk(sessionId), sk: attSk(attachmentId) }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, ...rest } = out.Item;
    return rest as AttachmentRecord;
  }
}
