import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Sender } from '../domain/transcript';
import type { SlotOpening, SlotResult, UploadSlot, UploadSlots, UsedSlot } from '../app/ports';
import { META, sessionPk, UPLOAD_SK_PREFIX, uploadSk as slotSk } from './table-layout';
import { conditionHeld } from './conditional-write';

export type { SlotResult, UploadSlot, UsedSlot };

/**
 * Upload slots (SESSION#<id> / UPLOAD#<uploadId>, see UploadSlot in app/ports.ts) and the
 * conversation's file places on META. A slot's deadline is not called `expiresAt`: that is
 * the table's TTL attribute, and a TTL deletion would lose the reservation the slot holds.
 */
/** On the session's META item: files accepted from the user plus reservations still open. */
const RESERVED = 'fileReservations';
/**
 * Also on META, string sets that make retried work count once: the keys that took a place
 * (`reserve` with a key) and the keys whose place was given back or became an accepted file
 * (`release` / `countAcceptedFile` with a key). Each is added in the same conditional write
 * as the counter change, so a retry can never apply that change twice.
 */
const HOLDS = 'fileHolds';
const SETTLED = 'filesSettled';

const isConditionFailure = (err: unknown) => err instanceof ConditionalCheckFailedException;

/**
 * What opening a slot writes (intake): the slot, and the conversation's file places, given
 * back by stale slots when none is left. UploadSlotStore adds the slot's use.
 */
export class UploadSlotOpener implements SlotOpening {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async put(slot: UploadSlot): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: sessionPk(slot.sessionId), sk: slotSk(slot.uploadId), ...slot },
        ConditionExpression: 'attribute_not_exists(sk)',
      }),
    );
  }

  /**
   * Deletes unused slots whose deadline passed; returns those this call deleted. A used slot
   * is never reclaimed: its use settles its place.
   */
  async removeStale(sessionId: string, now: number): Promise<UploadSlot[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :upload)',
        FilterExpression: 'usableUntil < :now AND attribute_not_exists(usedBy)',
        ExpressionAttributeValues: { ':pk': sessionPk(sessionId), ':upload': UPLOAD_SK_PREFIX, ':now': now },
        ConsistentRead: true,
      }),
    );
    const removed: UploadSlot[] = [];
    for (const item of out.Items ?? []) {
      try {
        await this.db.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { pk: item.pk, sk: item.sk },
            // A use that marked it meanwhile wins.
            ConditionExpression: 'attribute_exists(sk) AND attribute_not_exists(usedBy)',
          }),
        );
        removed.push(strip(item));
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    return removed;
  }

  /**
   * Takes one of the session's file places if it has one left (`limit` null = unlimited).
   * Accepted files and open reservations share one counter, so concurrent requests cannot
   * both take the last place. False when the limit is reached (or the session is gone).
   * With `holdKey`, a key that already took its place gets true without taking another
   * (a retried store of the same file).
   */
  async reserve(sessionId: string, limit: number | null, holdKey?: string): Promise<boolean> {
    const conditions = ['attribute_exists(pk)'];
    if (limit !== null) conditions.push('(attribute_not_exists(#r) OR #r < :limit)');
    if (holdKey !== undefined) conditions.push('NOT contains(#holds, :key)');
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: META },
          UpdateExpression: `SET #r = if_not_exists(#r, :zero) + :one${holdKey !== undefined ? ' ADD #holds :keys' : ''}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: { '#r': RESERVED, ...(holdKey !== undefined && { '#holds': HOLDS }) },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':one': 1,
            ...(limit !== null && { ':limit': limit }),
            ...(holdKey !== undefined && { ':key': holdKey, ':keys': new Set([holdKey]) }),
          },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return holdKey !== undefined && (await this.marks(sessionId))?.holds.has(holdKey) === true;
    }
  }

  /**
   * Gives a place back (the file was refused or its slot went unused). With `settleKey`, at
   * most once for that key, however often a retry asks.
   */
  async release(sessionId: string, settleKey?: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: META },
          UpdateExpression: `SET #r = #r - :one${settleKey !== undefined ? ' ADD #settled :keys' : ''}`,
          ConditionExpression: `attribute_exists(pk) AND #r > :zero${settleKey !== undefined ? ' AND NOT contains(#settled, :key)' : ''}`,
          ExpressionAttributeNames: { '#r': RESERVED, ...(settleKey !== undefined && { '#settled': SETTLED }) },
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ...(settleKey !== undefined && { ':key': settleKey, ':keys': new Set([settleKey]) }) },
        }),
      );
    } catch (err) {
      // Session already gone (expired), or this key's place was settled already: nothing to give back.
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** The once-only marks on META (see HOLDS), or undefined when the session is gone. */
  protected async marks(sessionId: string): Promise<{ holds: Set<string>; settled: Set<string> } | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: sessionPk(sessionId), sk: META },
        ProjectionExpression: 'pk, #holds, #settled',
        ExpressionAttributeNames: { '#holds': HOLDS, '#settled': SETTLED },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    return { holds: (out.Item[HOLDS] as Set<string> | undefined) ?? new Set(), settled: (out.Item[SETTLED] as Set<string> | undefined) ?? new Set() };
  }
}

/** Upload slots with their use (actions, agent): marking a slot used, its outcome, an accepted file's place. */
export class UploadSlotStore extends UploadSlotOpener implements UploadSlots {
  /**
   * Marks the slot used by `use.by` and returns it, or undefined if it does not exist (never
   * created, of another session, or gone), belongs to another kind of sender, or was used by
   * another key. The same key gets the slot back as often as it asks, with whatever its
   * earlier attempts recorded (`again`: an earlier attempt had marked it).
   * `storedKey` and `at` are kept from the first use.
   */
  async consume(
    sessionId: string,
    uploadId: string,
    from: Sender,
    use: { by: string; at: number; storedKey: string },
  ): Promise<{ slot: UsedSlot; again: boolean } | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: slotSk(uploadId) },
          UpdateExpression: 'SET usedBy = :by, usedAt = if_not_exists(usedAt, :at), storedKey = if_not_exists(storedKey, :key)',
          ConditionExpression: 'attribute_exists(sk) AND #from = :from AND (attribute_not_exists(usedBy) OR usedBy = :by)',
          ExpressionAttributeNames: { '#from': 'from' },
          ExpressionAttributeValues: { ':from': from, ':by': use.by, ':at': use.at, ':key': use.storedKey },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = strip(out.Attributes!);
      const slot: UsedSlot = { ...old, usedBy: use.by, usedAt: old.usedAt ?? use.at, storedKey: old.storedKey ?? use.storedKey };
      return { slot, again: old.usedBy !== undefined };
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  /** Records what the use `usedBy` of the slot gave. A slot gone with its session is left alone. */
  async recordOutcome(sessionId: string, uploadId: string, usedBy: string, outcome: SlotResult): Promise<void> {
    await conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: slotSk(uploadId) },
          UpdateExpression: 'SET outcome = :outcome',
          ConditionExpression: 'usedBy = :by',
          ExpressionAttributeValues: { ':outcome': outcome, ':by': usedBy },
        }),
      ),
    );
  }

  /**
   * A reserved file was accepted: it now counts as a file of the conversation. With
   * `settleKey`, at most once for that key. False when the session is gone.
   */
  async countAcceptedFile(sessionId: string, settleKey?: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: META },
          UpdateExpression: `SET attachmentCount = if_not_exists(attachmentCount, :zero) + :one${settleKey !== undefined ? ' ADD #settled :keys' : ''}`,
          ConditionExpression: `attribute_exists(pk)${settleKey !== undefined ? ' AND NOT contains(#settled, :key)' : ''}`,
          ExpressionAttributeNames: settleKey !== undefined ? { '#settled': SETTLED } : undefined,
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ...(settleKey !== undefined && { ':key': settleKey, ':keys': new Set([settleKey]) }) },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const marks = await this.marks(sessionId);
      if (!marks) return false;
      if (settleKey !== undefined && marks.settled.has(settleKey)) return true;
      throw err;
    }
  }
}

function strip(item: Record<string, unknown>): UploadSlot {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as UploadSlot;
}
