import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { Operator, Session } from '../domain/session';
import type { NewMessage, TranscriptMessage } from '../domain/transcript';
import type { SessionPage, SessionStorePort } from '../app/ports';
import {
  CONVERSATIONS_INDEX,
  CONVERSATIONS_PARTITION as CONVERSATIONS,
  MESSAGE_SK_PREFIX,
  META,
  messageSk as msgSk,
  sessionPk,
} from './table-layout';

/** Sessions (SESSION#<id> / META) and their transcripts (SESSION#<id> / MSG#<seq>); see table-layout.ts. */
export { META, sessionPk };

export class SessionNotFound extends Error {
  override name = 'SessionNotFound';
}

type SessionItem = Session & { pk: string; sk: string; gsi1pk: string; gsi1sk: string };

const toItem = (s: Session): SessionItem => ({
  ...s,
  pk: sessionPk(s.id),
  sk: META,
  gsi1pk: CONVERSATIONS,
  gsi1sk: activityKey(s.lastActivityAt, s.id),
});

const activityKey = (at: number, id: string) => `${new Date(at).toISOString()}#${id}`;

function fromItem(item: Record<string, unknown>): Session {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...rest } = item;
  return rest as unknown as Session;
}

function fromMessageItem(item: Record<string, unknown>): TranscriptMessage {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as TranscriptMessage;
}

export class SessionStore implements SessionStorePort {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async create(session: Session): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: toItem(session), ConditionExpression: 'attribute_not_exists(pk)' }),
    );
  }

  async get(id: string): Promise<Session | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: sessionPk(id), sk: META }, ConsistentRead: true }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /**
   * Sets (or, for `undefined` values, removes) top-level session attributes. Each writer
   * touches only its own attributes so concurrent handlers do not overwrite each other.
   */
  update(id: string, changes: Partial<Omit<Session, 'id'>>): Promise<Session> {
    return this.updateWhere(id, changes);
  }

  /** `update` with an extra ConditionExpression; a failed one throws ConditionalCheckFailedException. */
  private async updateWhere(
    id: string,
    changes: Partial<Omit<Session, 'id'>>,
    opts: { condition?: string; values?: Record<string, unknown>; names?: Record<string, string> } = {},
  ): Promise<Session> {
    const names: Record<string, string> = { ...opts.names };
    const values: Record<string, unknown> = { ...opts.values };
    const sets: string[] = [];
    const removes: string[] = [];
    const entries = Object.entries(changes) as [string, unknown][];
    if (changes.lastActivityAt !== undefined) entries.push(['gsi1sk', activityKey(changes.lastActivityAt, id)]);
    entries.forEach(([k, v], i) => {
      names[`#a${i}`] = k;
      if (v === undefined) removes.push(`#a${i}`);
      else {
        values[`:v${i}`] = v;
        sets.push(`#a${i} = :v${i}`);
      }
    });
    const expr = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '']
      .filter(Boolean)
      .join(' ');
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(id), sk: META },
          UpdateExpression: expr,
          ConditionExpression: ['attribute_exists(pk)', opts.condition].filter(Boolean).join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes!);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException && !opts.condition) throw new SessionNotFound(id);
      throw err;
    }
  }

  /** Sets the operator unless one is set (one winner among concurrent takeovers). */
  async claimOperator(
    id: string,
    operator: Operator,
  ): Promise<{ outcome: 'claimed'; session: Session } | { outcome: 'held'; session: Session | undefined }> {
    try {
      const session = await this.updateWhere(
        id,
        { operator, waitingForAgentSince: undefined },
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

  /** Deletes the session record itself (one created but never used). */
  async discard(id: string): Promise<void> {
    await this.deleteKeys([{ pk: sessionPk(id), sk: META }]);
  }

  /** Every record under the session's partition, deleted; returns how many. */
  async deleteAll(id: string): Promise<number> {
    const keys = await this.listKeys(id);
    await this.deleteKeys(keys);
    return keys.length;
  }

  /**
   * Appends messages in order. Each takes the next free sequence number with a conditional
   * put, so concurrent writers never overwrite each other and readers never see a gap.
   */
  async appendMessages(sessionId: string, messages: NewMessage[], at: number): Promise<TranscriptMessage[]> {
    const written: TranscriptMessage[] = [];
    let seq = (await this.lastSeq(sessionId)) + 1;
    for (const m of messages) {
      for (;;) {
        const msg: TranscriptMessage = { ...m, seq, at };
        try {
          await this.db.send(
            new PutCommand({
              TableName: this.tableName,
              Item: { pk: sessionPk(sessionId), sk: msgSk(seq), ...msg },
              ConditionExpression: 'attribute_not_exists(sk)',
            }),
          );
          written.push(msg);
          seq++;
          break;
        } catch (err) {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
          seq = (await this.lastSeq(sessionId)) + 1;
        }
      }
    }
    return written;
  }

  private async lastSeq(sessionId: string): Promise<number> {
    const [last] = await this.latestMessages(sessionId, 1);
    return last ? Number(last.seq) : 0;
  }

  /** Messages after the cursor (a sequence number), oldest first. */
  async listMessages(sessionId: string, after = 0, limit = 200): Promise<TranscriptMessage[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': sessionPk(sessionId), ':from': msgSk(after + 1), ':to': msgSk(9_999_999_999) },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(fromMessageItem);
  }

  /** The newest messages, newest first. */
  async latestMessages(sessionId: string, limit: number): Promise<TranscriptMessage[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
        ExpressionAttributeValues: { ':pk': sessionPk(sessionId), ':msg': MESSAGE_SK_PREFIX },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(fromMessageItem);
  }

  /** The newest transcript message, if any (agent console list). */
  async lastMessage(sessionId: string): Promise<TranscriptMessage | undefined> {
    const [last] = await this.latestMessages(sessionId, 1);
    return last;
  }


  /**
   * One page of conversations from GSI gsi1, most recent activity first, skipping sessions
   * already past their expiry (TTL deletes lazily). `botId` narrows to one bot.
   */
  async pageByActivity(opts: {
    nowSeconds: number;
    botId?: string;
    limit?: number;
    startKey?: Record<string, unknown>;
  }): Promise<SessionPage> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: CONVERSATIONS_INDEX,
        KeyConditionExpression: 'gsi1pk = :c',
        FilterExpression: ['expiresAt > :now', opts.botId !== undefined ? 'botId = :bot' : ''].filter(Boolean).join(' AND '),
        ExpressionAttributeValues: { ':c': CONVERSATIONS, ':now': opts.nowSeconds, ...(opts.botId !== undefined && { ':bot': opts.botId }) },
        ScanIndexForward: false,
        Limit: opts.limit ?? 100,
        ExclusiveStartKey: opts.startKey,
      }),
    );
    return { sessions: (out.Items ?? []).map(fromItem), nextKey: out.LastEvaluatedKey };
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

  async deleteKeys(keys: { pk: string; sk: string }[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let pending: unknown[] | undefined = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; pending && pending.length && attempt < 8; attempt++) {
        const out: BatchWriteCommandOutput = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }),
        );
        pending = out.UnprocessedItems?.[this.tableName];
        if (pending?.length) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
      if (pending?.length) throw new Error(`could not delete ${pending.length} items`);
    }
  }
}
