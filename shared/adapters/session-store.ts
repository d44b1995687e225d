import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { InvalidRequest } from '../domain/errors';
import type { ConversationSummary, Operator, Session } from '../domain/session';
import type { NewMessage, TranscriptMessage } from '../domain/transcript';
import type { AppendOptions, ConversationPage, SessionAdmin } from '../app/ports';
import { CONVERSATIONS_INDEX, conversationShards, META, sessionPk } from './table-layout';
import { newSearchEntries, searchEntries, TurnSessionRecords, type KeyNote } from './session-records';

export * from './session-records';

type Item = Record<string, unknown>;

/** A page cursor of the agent list: per index shard, the last entry consumed ('' = not started, null = done). */
type ShardPositions = (string | null)[];

function encodeCursor(positions: ShardPositions): string {
  return Buffer.from(JSON.stringify(positions)).toString('base64url');
}

function decodeCursor(cursor: string): ShardPositions {
  const shards = conversationShards().length;
  let parsed: unknown;
  try {
    parsed = cursor.length <= 2000 ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === shards &&
    parsed.every((p) => p === null || (typeof p === 'string' && (p === '' || /^\d{4}-\d\d-\d\dT[\d:.]+Z#.{1,200}$/.test(p))));
  if (!ok) throw new InvalidRequest('cursor must be the next value returned by this route');
  return parsed as ShardPositions;
}

/**
 * Sessions (SESSION#<id> / META) and their transcripts (SESSION#<id> / MSG#<inverted seq>);
 * see session-records.ts and table-layout.ts. Adds to SessionRecords what only the agent and
 * expiry functions do: the agent list, operator claims, agents' messages (with their
 * Idempotency-Key), deleting a whole session.
 */
export class SessionStore extends TurnSessionRecords implements SessionAdmin {
  /**
   * An agent's message (Live Takeover): appended as appendMessages does, in the same two
   * requests. With `key` (the console's Idempotency-Key) the write that takes the position also
   * notes the key and the position (`agentKey`, `agentSeq`), on condition that the key is not
   * already the newest agent message's. A repeat (the first answer was lost) is told apart only
   * when that write is refused, and answers `repeated` with the message at the noted position:
   * the one stored there, or written there now if the first request died before its put. A
   * message without a key clears them: a key names the newest agent message only.
   */
  async appendAgentMessage(sessionId: string, message: NewMessage, at: number, opts: Pick<AppendOptions, 'seen'> & { key?: string }): Promise<{ written: TranscriptMessage; repeated: boolean }> {
    const search = newSearchEntries(searchEntries([message]), opts.seen);
    const note: KeyNote | undefined = opts.key !== undefined ? { field: 'agent', key: opts.key } : undefined;
    const taken = await this.takePositions(sessionId, [message], at, { search, note: note ?? { field: 'agent', key: null } });
    if ('repeatOf' in taken) return { written: await this.messageAt(sessionId, taken.repeatOf, message, at, note), repeated: true };
    if (!('last' in taken)) throw new Error('the agent key was not noted');
    const placed: TranscriptMessage = { ...message, seq: taken.last, at };
    if (await this.putMessage(sessionId, placed)) return { written: placed, repeated: false };
    // Refused: a repeat (same key) that overtook this request wrote it there, or a reader closed the place.
    return { written: await this.messageAt(sessionId, placed.seq, message, at, note), repeated: false };
  }

  /** Sets the operator unless one is set (one winner among concurrent takeovers). */
  async claimOperator(
    id: string,
    operator: Operator,
  ): Promise<{ outcome: 'claimed'; session: Session } | { outcome: 'held'; session: Session | undefined }> {
    try {
      const session = await this.updateWhere(
        id,
        { operator, waitingForAgentSince: undefined, lastTakeoverAt: operator.since },
        { condition: 'attribute_not_exists(#op)', names: { '#op': 'operator' } },
      );
      return { outcome: 'claimed', session };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return { outcome: 'held', session: await this.get(id) };
    }
  }

  /** Removes the operator if it is `agentId`; undefined when it is not. */
  async releaseOperator(id: string, agentId: string): Promise<Session | undefined> {
    try {
      return await this.updateWhere(
        id,
        { operator: undefined },
        { condition: '#op.agentId = :me', names: { '#op': 'operator' }, values: { ':me': agentId } },
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }

  /** Every record under the session's partition, deleted; returns how many. */
  async deleteAll(id: string): Promise<number> {
    const keys = await this.listKeys(id);
    await this.deleteKeys(keys);
    return keys.length;
  }

  // --- writing the transcript ---------------------------------------------------------

  /**
   * One page of the agent list: one query per index shard, newest activity first (to the
 * minute across pages, exactly within one), merged.
   * Each shard's query reads at most a page (Limit, and DynamoDB's 1 MB), so a call costs
   * CONVERSATION_SHARDS requests whatever the table holds. Entries are emitted only down to
   * the newest point below which some shard still has unread entries (the merge frontier), so
   * the order holds across pages; the cursor keeps, per shard, the last entry consumed.
   */
  async listConversations(opts: {
    nowSeconds: number;
    botId?: string;
    limit: number;
    cursor?: string;
    keep: (c: ConversationSummary) => boolean;
  }): Promise<ConversationPage> {
    const shards = conversationShards();
    const positions: ShardPositions = opts.cursor ? decodeCursor(opts.cursor) : shards.map(() => '');
    const reads = await Promise.all(
      shards.map(async (shard, i) => {
        const position = positions[i];
        if (position === null) return { entries: [] as { key: string; summary: ConversationSummary }[], more: undefined as string | undefined };
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: CONVERSATIONS_INDEX,
            KeyConditionExpression: 'gsi1pk = :shard',
            FilterExpression: ['listedExpiresAt > :now', opts.botId !== undefined ? 'botId = :bot' : ''].filter(Boolean).join(' AND '),
            ExpressionAttributeValues: { ':shard': shard, ':now': opts.nowSeconds, ...(opts.botId !== undefined && { ':bot': opts.botId }) },
            ScanIndexForward: false,
            Limit: Math.max(opts.limit, 100),
            ExclusiveStartKey: position ? { gsi1pk: shard, gsi1sk: position, pk: sessionPk(position.slice(position.indexOf('#') + 1)), sk: META } : undefined,
          }),
        );
        const entries = (out.Items ?? []).map((item) => ({ key: String(item.gsi1sk), summary: toSummary(item) }));
        return { entries, more: out.LastEvaluatedKey ? String(out.LastEvaluatedKey.gsi1sk) : undefined };
      }),
    );
    const frontier = reads.reduce<string | undefined>((f, r) => (r.more !== undefined && (f === undefined || r.more > f) ? r.more : f), undefined);
    const candidates = reads
      .flatMap((r, shard) => r.entries.map((e) => ({ ...e, shard })))
      .filter((e) => frontier === undefined || e.key >= frontier)
      .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    const kept: ConversationSummary[] = [];
    let consumed = 0;
    for (const c of candidates) {
      if (kept.length >= opts.limit) break;
      consumed++;
      if (opts.keep(c.summary)) kept.push(c.summary);
    }
    const consumedKeys = new Set(candidates.slice(0, consumed).map((c) => c.key));
    const next = positions.map((position, i) => {
      if (position === null) return null;
      const read = reads[i]!;
      if (read.entries.every((e) => consumedKeys.has(e.key))) {
        // Everything this shard returned is out: go on after what it examined (entries the
        // filter dropped, expired or another bot's, stay dropped), or stop when it has no more.
        return read.more ?? null;
      }
      const mine = read.entries.filter((e) => consumedKeys.has(e.key)).at(-1);
      return mine?.key ?? position;
    });
    // Keys hold the minute (activityKey): within a page, the exact time orders.
    kept.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
    return { conversations: kept, ...(next.some((p) => p !== null) && { next: encodeCursor(next) }) };
  }

  /** Every item under the session's partition (used by expiry). */
  async listKeys(sessionId: string): Promise<{ pk: string; sk: string }[]> {
    const keys: { pk: string; sk: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': sessionPk(sessionId) },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      keys.push(...((out.Items ?? []) as { pk: string; sk: string }[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return keys;
  }

}

/** An index entry as the agent list needs it. */
function toSummary(item: Item): ConversationSummary {
  const s = item as Partial<Session> & { defaultAnswers?: number; listedActivityAt?: number; listedExpiresAt?: number; listedSeq?: number };
  return {
    id: s.id!,
    botId: s.botId!,
    channel: s.channel!,
    userId: s.userId!,
    ...(s.userName !== undefined && { userName: s.userName }),
    lastActivityAt: s.listedActivityAt!,
    expiresAt: s.listedExpiresAt!,
    ...(s.operator !== undefined && { operator: s.operator }),
    ...(s.waitingForAgentSince !== undefined && { waitingForAgentSince: s.waitingForAgentSince }),
    ...(s.lastMessage !== undefined && { lastMessage: s.lastMessage }),
    ...(s.offeredButtons !== undefined && { offeredButtons: s.offeredButtons }),
    searchText: s.searchText ?? [],
    lastSeq: s.listedSeq ?? 0,
    flow: { defaultAnswers: s.defaultAnswers ?? 0 },
  };
}
