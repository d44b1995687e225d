import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChannelRecords, DeliveryCursor } from '../app/ports';
import { channelCursorSk, channelMidKey as midKey, channelPointerKey as pointerKey, sessionPk } from './table-layout';
import { conditionHeld } from './conditional-write';

/**
 * Every messaging channel's records in the one table (`<CH>` is the channel's name, upper case):
 *   <CH>#<account>#<user> / SESSION   which session is the user's current one on that account
 *                                     (TTL slides with that session's expiry)
 *   <CH>_MID#<eventId>    / MID       a message id already queued (TTL 30 days), so a delivery
 *                                     the channel repeats days later is not handled twice
 *   SESSION#<id> / <CH>#DELIVERED     how far the transcript has gone out through the channel
 *                                     (removed with the session)
 * The first two outlive a session on purpose, so they are not under SESSION#. For Messenger
 * these are the keys it always used.
 */
const cursorKey = (channel: string, sessionId: string) => ({ pk: sessionPk(sessionId), sk: channelCursorSk(channel) });

export type { DeliveryCursor };

export class ChannelStore implements ChannelRecords {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async currentSessionId(channel: string, account: string, user: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: pointerKey(channel, account, user), ConsistentRead: true }));
    return out.Item?.sessionId as string | undefined;
  }

  /**
   * Makes `sessionId` the user's current session, provided the pointer still names `previous`
   * (or nothing): of two deliveries starting a session at once, one wins. False when it lost.
   */
  async pointTo(channel: string, account: string, user: string, sessionId: string, expiresAt: number, previous: string | undefined): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...pointerKey(channel, account, user), sessionId, expiresAt },
          ConditionExpression: previous === undefined ? 'attribute_not_exists(pk)' : 'sessionId = :previous',
          ExpressionAttributeValues: previous === undefined ? undefined : { ':previous': previous },
        }),
      ),
    );
  }

  /** Slides the pointer's expiry with its session's; a pointer moved on meanwhile is left alone. */
  async slidePointer(channel: string, account: string, user: string, sessionId: string, expiresAt: number): Promise<void> {
    await conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: pointerKey(channel, account, user),
          UpdateExpression: 'SET expiresAt = :e',
          ConditionExpression: 'sessionId = :s',
          ExpressionAttributeValues: { ':e': expiresAt, ':s': sessionId },
        }),
      ),
    );
  }

  async isMessageQueued(channel: string, eventId: string): Promise<boolean> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: midKey(channel, eventId), ConsistentRead: true }));
    return out.Item !== undefined;
  }

  /** Records a queued message id; a concurrent delivery of the same message may have done it first. */
  async markMessageQueued(channel: string, eventId: string, sessionId: string, at: number, expiresAt: number): Promise<void> {
    await conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...midKey(channel, eventId), sessionId, queuedAt: at, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async deliveryCursor(channel: string, sessionId: string): Promise<DeliveryCursor> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: cursorKey(channel, sessionId), ConsistentRead: true }));
    return { seq: Number(out.Item?.seq ?? 0), parts: Number(out.Item?.parts ?? 0) };
  }

  /**
   * Moves the cursor from `from` to `to`; false when another delivery moved it first.
   * `expiresAt` is only a backstop: expiry deletes the record with its session, but one
   * written by a delivery racing that deletion would otherwise stay for ever.
   */
  async advanceCursor(channel: string, sessionId: string, from: DeliveryCursor, to: DeliveryCursor, expiresAt: number): Promise<boolean> {
    const fresh = from.seq === 0 && from.parts === 0;
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...cursorKey(channel, sessionId), seq: to.seq, parts: to.parts, expiresAt },
          ConditionExpression: fresh ? 'attribute_not_exists(pk) OR (seq = :s AND parts = :p)' : 'seq = :s AND parts = :p',
          ExpressionAttributeValues: { ':s': from.seq, ':p': from.parts },
        }),
      ),
    );
  }
}

/** One channel's view of the store (Messenger's records, for tools and tests that look inside). */
export class MessengerStore {
  private readonly store: ChannelStore;
  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.store = new ChannelStore(db, tableName);
  }
  currentSessionId(pageId: string, psid: string): Promise<string | undefined> {
    return this.store.currentSessionId('messenger', pageId, psid);
  }
}
