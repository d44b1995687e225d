import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryCursor, MessengerRecords } from '../app/ports';
import { MESSENGER_CURSOR_SK, messengerMidKey as midKey, messengerPointerKey as pointerKey, sessionPk } from './table-layout';
import { conditionHeld } from './conditional-write';

/**
 * Messenger's records in the one table:
 *   MESSENGER#<pageId>#<psid> / SESSION   which session is the user's current one on the page
 *                                         (TTL slides with that session's expiry)
 *   MESSENGER_MID#<eventId>   / MID       a message id already queued (TTL 30 days), so a
 *                                         delivery Meta repeats days later is not handled twice
 *   SESSION#<id> / MESSENGER#DELIVERED    how far the transcript has gone out through the Send
 *                                         API (removed with the session)
 * The first two outlive a session on purpose, so they are not under SESSION#.
 */
const cursorKey = (sessionId: string) => ({ pk: sessionPk(sessionId), sk: MESSENGER_CURSOR_SK });

export type { DeliveryCursor };

export class MessengerStore implements MessengerRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async currentSessionId(pageId: string, psid: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: pointerKey(pageId, psid), ConsistentRead: true }));
    return out.Item?.sessionId as string | undefined;
  }

  /**
   * Makes `sessionId` the user's current session, provided the pointer still names `previous`
   * (or nothing): of two deliveries starting a session at once, one wins. False when it lost.
   */
  async pointTo(pageId: string, psid: string, sessionId: string, expiresAt: number, previous: string | undefined): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...pointerKey(pageId, psid), sessionId, expiresAt },
          ConditionExpression: previous === undefined ? 'attribute_not_exists(pk)' : 'sessionId = :previous',
          ExpressionAttributeValues: previous === undefined ? undefined : { ':previous': previous },
        }),
      ),
    );
  }

  /** Slides the pointer's expiry with its session's; a pointer moved on meanwhile is left alone. */
  async slidePointer(pageId: string, psid: string, sessionId: string, expiresAt: number): Promise<void> {
    await conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: pointerKey(pageId, psid),
          UpdateExpression: 'SET expiresAt = :e',
          ConditionExpression: 'sessionId = :s',
          ExpressionAttributeValues: { ':e': expiresAt, ':s': sessionId },
        }),
      ),
    );
  }

  async isMessageQueued(eventId: string): Promise<boolean> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: midKey(eventId), ConsistentRead: true }));
    return out.Item !== undefined;
  }

  /** Records a queued message id; a concurrent delivery of the same message may have done it first. */
  async markMessageQueued(eventId: string, sessionId: string, at: number, expiresAt: number): Promise<void> {
    await conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...midKey(eventId), sessionId, queuedAt: at, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async deliveryCursor(sessionId: string): Promise<DeliveryCursor> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: cursorKey(sessionId), ConsistentRead: true }));
    return { seq: Number(out.Item?.seq ?? 0), parts: Number(out.Item?.parts ?? 0) };
  }

  /**
   * Moves the cursor from `from` to `to`; false when another delivery moved it first.
   * `expiresAt` is only a backstop: expiry deletes the record with its session, but one
   * written by a delivery racing that deletion would otherwise stay for ever.
   */
  async advanceCursor(sessionId: string, from: DeliveryCursor, to: DeliveryCursor, expiresAt: number): Promise<boolean> {
    const fresh = from.seq === 0 && from.parts === 0;
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...cursorKey(sessionId), seq: to.seq, parts: to.parts, expiresAt },
          ConditionExpression: fresh ? 'attribute_not_exists(pk) OR (seq = :s AND parts = :p)' : 'seq = :s AND parts = :p',
          ExpressionAttributeValues: { ':s': from.seq, ':p': from.parts },
        }),
      ),
    );
  }
}
