import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { MessageSummary, Session } from '../domain/session';
import type { NewMessage, ScanState, TranscriptMessage } from '../domain/transcript';
import type { AgentAudience, AppendOptions, SessionStorePort, TurnRecords, UserMessageOutcome } from '../app/ports';
import {
  conversationShard,
  MAX_SEQ,
  MESSAGE_SK_PREFIX,
  META,
  messageSk as msgSk,
  sessionPk,
  AGENT_SOCKETS_KEY,
  agentAudienceIn,
  LISTED_COPIES,
} from './table-layout';
import { conditionHeld } from './conditional-write';

/**
 * Sessions (SESSION#<id> / META) and their transcripts (SESSION#<id> / MSG#<inverted seq>);
 * see table-layout.ts.
 *
 * Writing a transcript: the session record keeps the counter `lastSeq`. A writer takes its
 * positions with one conditional update of the record (which also keeps `lastMessage`,
 * `offeredButtons` and the search text for the agent list), then puts each message at its
 * position with `attribute_not_exists`. No query of the transcript is needed to write.
 *
 * Reading without skipping (two writers' puts may land out of order, or a writer may die
 * between taking a position and writing it): a reader returns only the run of positions with
 * no gap after its cursor, so a message still being written is never stepped over, only
 * waited for. A gap is closed for good when the message after it is older than GAP_GRACE_MS:
 * the reader puts a `void` filler at the empty position with `attribute_not_exists`. If the
 * late message lands first, the filler is refused and the reader sees the message next time;
 * if the filler lands first, the late writer's put is refused and it takes a new position
 * (appendMessages does), so no message is ever lost or skipped, only moved to the end.
 */
export { META, sessionPk };

export class SessionNotFound extends Error {
  override name = 'SessionNotFound';
}

/** How long a taken but unwritten position may hold readers up before it counts as abandoned. */
export const GAP_GRACE_MS = 30_000;
/**
 * Every distinct text and file name of a conversation is searchable (issue 11 point 4), kept
 * on the session record and its index entry: a text already found in it (the bot asking the
 * same question again) is not added again, each entry counts up to SEARCH_ENTRY_CHARS, and the
 * whole stays below SEARCH_TEXT_LIMIT so the record stays far below DynamoDB's 400 KB item size
 * (past it newer texts are no longer added; the user's name and id are matched apart from it).
 * The record's size is what each write of it costs (a write unit per KB): a long conversation
 * costs more per message than a short one (README, "Data path and cost").
 */
export const SEARCH_TEXT_LIMIT = 64_000;
const SEARCH_ENTRY_CHARS = 1_000;

/** What a writer knows of the record's search text: its size and, when it read it, its entries. */
type SearchSeen = Pick<Session, 'searchSize'> & Partial<Pick<Session, 'searchText'>>;

/**
 * The entries worth adding to a search text: lower-case, non-empty, not already matched by an
 * entry it holds or one added before them, within what is left of SEARCH_TEXT_LIMIT.
 */
export function newSearchEntries(texts: string[], seen: SearchSeen | undefined): string[] {
  let room = SEARCH_TEXT_LIMIT - (seen?.searchSize ?? 0);
  const held = [...(seen?.searchText ?? [])];
  const added: string[] = [];
  for (const raw of texts) {
    if (room <= 0) break;
    const t = raw.toLowerCase().slice(0, Math.min(SEARCH_ENTRY_CHARS, room));
    if (!t.trim() || held.some((h) => h.includes(t))) continue;
    added.push(t);
    held.push(t);
    room -= t.length;
  }
  return added;
}
/** The list's preview of the newest message. */
const SUMMARY_TEXT_CHARS = 500;
const PAGE = 200;

type Item = Record<string, unknown>;

/** Expression names of the list's copies and their originals (LISTED_COPIES). */
const LISTED_NAMES = {
  '#lat': 'listedActivityAt',
  '#la': LISTED_COPIES.listedActivityAt,
  '#lexp': 'listedExpiresAt',
  '#exp': LISTED_COPIES.listedExpiresAt,
  '#lsq': 'listedSeq',
} as const;

/**
 * The index sort key: last activity to the minute, then the id. It moves at most once a minute
 * however fast a chat goes (a move costs the index a delete and a put); a page is ordered by
 * the exact time (see listConversations), so across pages the order holds to the minute.
 */
const activityKey = (at: number, id: string) => `${new Date(Math.floor(at / 60_000) * 60_000).toISOString()}#${id}`;

const toItem = (s: Session): Item => ({
  ...s,
  pk: sessionPk(s.id),
  sk: META,
  gsi1pk: conversationShard(s.id),
  gsi1sk: activityKey(s.lastActivityAt, s.id),
  lastSeq: s.lastSeq ?? 0,
  listedActivityAt: s.lastActivityAt,
  listedExpiresAt: s.expiresAt,
  listedSeq: s.lastSeq ?? 0,
  searchText: s.searchText ?? [],
  searchSize: s.searchSize ?? 0,
  defaultAnswers: s.flow.defaultAnswers,
});

function fromItem(item: Item): Session {
  // `notices` (noteOnce) is bookkeeping, not part of the session.
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, defaultAnswers: _d, notices: _n, listedActivityAt: _la, listedExpiresAt: _le, listedSeq: _ls, ...rest } = item;
  return rest as unknown as Session;
}

type StoredMessage = TranscriptMessage & { void?: true };

/**
 * A keyed message's note on the session record (an Idempotency-Key and the position its message
 * took): the web user's newest message (clientKey, clientSeq) or agent message (agentKey,
 * agentSeq). `from`: the noted position, closed as abandoned, that the note moves away from.
 */
export interface KeyNote {
  field: 'client' | 'agent';
  key: string;
  from?: number;
}
const NOTED = { client: ['clientKey', 'clientSeq'], agent: ['agentKey', 'agentSeq'] } as const;

function fromMessageItem(item: Item): StoredMessage {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as StoredMessage;
}

const visible = (messages: StoredMessage[]): TranscriptMessage[] => messages.filter((m) => !m.void);

/** The lower-case texts and file names of messages, as the agents' search looks through them. */
export function searchEntries(messages: NewMessage[]): string[] {
  return messages.flatMap((m) => [
    ...(m.text?.trim() ? [m.text.toLowerCase().slice(0, SEARCH_ENTRY_CHARS)] : []),
    ...(m.attachments ?? []).map((a) => a.fileName.toLowerCase().slice(0, SEARCH_ENTRY_CHARS)),
  ]);
}

function summaryOf(m: NewMessage, at: number): MessageSummary {
  return {
    from: m.from,
    ...(m.text !== undefined && { text: m.text.slice(0, SUMMARY_TEXT_CHARS) }),
    ...(m.attachments?.length && { fileNames: m.attachments.map((a) => a.fileName) }),
    at,
  };
}

/**
 * The session store without the agent list, operator claims, agents' keyed messages and
 * whole-session deletion (SessionStore, session-store.ts, adds those): what intake, actions,
 * proxy, mailer, socket and scan-verdict use, so their bundles leave that code and its
 * commands out (issue 10).
 */
export class SessionRecords implements SessionStorePort {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
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
  update(
    id: string,
    changes: Partial<Omit<Session, 'id'>>,
    extra: { searchText?: string[]; seen?: SearchSeen & Partial<Pick<Session, 'flow'>>; listMessage?: TranscriptMessage } = {},
  ): Promise<Session> {
    const search = newSearchEntries(extra.searchText ?? [], extra.seen);
    // The index projects `defaultAnswers`: rewritten only when it changes, so saving the flow costs no index write.
    const unchangedAnswers = extra.seen?.flow !== undefined && changes.flow?.defaultAnswers === extra.seen.flow.defaultAnswers;
    if (!extra.listMessage) return this.updateWhere(id, changes, { search, unchangedAnswers });
    // A message written without a transcript write of this writer's own (the web user's, by
    // intake, in a turn that answered nothing): the list shows it, and catches up with the activity.
    return this.updateWhere(id, changes, {
      search,
      unchangedAnswers,
      names: { ...LISTED_NAMES, '#ls': 'lastSeq', '#lm': 'lastMessage' },
      values: { ':lm': summaryOf(extra.listMessage, extra.listMessage.at) },
      sets: ['#lm = :lm', '#lsq = #ls', '#lat = #la', '#lexp = #exp'],
    });
  }

  /** `update` with an extra ConditionExpression; a failed one throws ConditionalCheckFailedException. */
  protected async updateWhere(
    id: string,
    changes: Partial<Omit<Session, 'id'>>,
    opts: { condition?: string; values?: Record<string, unknown>; names?: Record<string, string>; sets?: string[]; search?: string[]; unchangedAnswers?: boolean } = {},
  ): Promise<Session> {
    const names: Record<string, string> = { ...opts.names };
    const values: Record<string, unknown> = { ...opts.values };
    const sets: string[] = [...(opts.sets ?? [])];
    const removes: string[] = [];
    const adds: string[] = [];
    const entries = Object.entries(changes) as [string, unknown][];
    if (changes.lastActivityAt !== undefined) entries.push(['gsi1sk', activityKey(changes.lastActivityAt, id)]);
    // The index projects the count the `action` status needs, not the whole flow state.
    if (changes.flow !== undefined && !opts.unchangedAnswers) entries.push(['defaultAnswers', changes.flow.defaultAnswers]);
    entries.forEach(([k, v], i) => {
      names[`#a${i}`] = k;
      if (v === undefined) removes.push(`#a${i}`);
      else {
        values[`:v${i}`] = v;
        sets.push(`#a${i} = :v${i}`);
      }
    });
    if (opts.search?.length) {
      Object.assign(names, { '#st': 'searchText', '#ss': 'searchSize' });
      Object.assign(values, { ':st': opts.search, ':none': [], ':ssz': opts.search.reduce((n, t) => n + t.length, 0) });
      sets.push('#st = list_append(if_not_exists(#st, :none), :st)');
      adds.push('#ss :ssz');
    }
    const expr = [
      sets.length ? `SET ${sets.join(', ')}` : '',
      removes.length ? `REMOVE ${removes.join(', ')}` : '',
      adds.length ? `ADD ${adds.join(', ')}` : '',
    ]
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

  /** Deletes the session record itself (one created but never used). */
  async discard(id: string): Promise<void> {
    await this.deleteKeys([{ pk: sessionPk(id), sk: META }]);
  }

  /**
   * Appends messages in order: one update takes their positions, then one conditional put
   * each (in parallel). A put refused because a reader closed that position as abandoned
   * (this writer was slower than GAP_GRACE_MS) takes a new position and is put again.
   */
  async appendMessages(sessionId: string, messages: NewMessage[], at: number, opts: AppendOptions = {}): Promise<TranscriptMessage[]> {
    const written: TranscriptMessage[] = [];
    let pending = messages;
    let startsTurn = opts.startsTurn;
    let search = newSearchEntries([...(opts.searchText ?? []), ...searchEntries(messages)], opts.seen);
    for (let round = 0; pending.length; round++) {
      if (round >= 5) throw new Error('could not append to the transcript');
      const { last } = (await this.takePositions(sessionId, pending, at, { startsTurn, search })) as { last: number };
      startsTurn = undefined;
      search = [];
      const placed = pending.map((m, i): TranscriptMessage => ({ ...m, seq: last - pending.length + 1 + i, at }));
      const stored = await Promise.all(placed.map((m) => this.putMessage(sessionId, m)));
      written.push(...placed.filter((_, i) => stored[i]));
      pending = pending.filter((_, i) => !stored[i]);
    }
    return written.sort((a, b) => a.seq - b.seq);
  }

  /**
   * The conditional update that takes `messages.length` positions; returns the last one taken.
   * `note` (a keyed single message, see KeyNote): the key is noted with the position taken,
   * unless it is the noted one already: then nothing is written and the noted position is
   * returned as `repeatOf`. With `from`, the noted position moves from `from` (closed as
   * abandoned) to the one taken, if the key and `from` are still what is noted: else `repeatOf`
   * the position noted now, or `keyGone` when another message's key replaced it. A null key
   * clears what is noted.
   */
  protected async takePositions(
    sessionId: string,
    messages: NewMessage[],
    at: number,
    opts: { startsTurn?: string; search: string[]; note?: KeyNote | { field: KeyNote['field']; key: null } },
  ): Promise<{ last: number } | { repeatOf: number } | { keyGone: true }> {
    const names: Record<string, string> = { '#ls': 'lastSeq', '#lm': 'lastMessage', ...LISTED_NAMES };
    const values: Record<string, unknown> = { ':zero': 0, ':n': messages.length, ':lm': summaryOf(messages.at(-1)!, at) };
    // The list's copies catch up with the user's activity (web intake leaves them alone).
    const sets = ['#ls = if_not_exists(#ls, :zero) + :n', '#lm = :lm', '#lsq = if_not_exists(#ls, :zero) + :n', '#lat = #la', '#lexp = #exp'];
    const adds: string[] = [];
    const buttons = messages.findLast((m) => m.from === 'bot' && m.buttons?.length)?.buttons;
    if (buttons) {
      names['#ob'] = 'offeredButtons';
      values[':ob'] = buttons;
      sets.push('#ob = :ob');
    }
    if (opts.search.length) {
      Object.assign(names, { '#st': 'searchText', '#ss': 'searchSize' });
      Object.assign(values, { ':st': opts.search, ':none': [], ':ssz': opts.search.reduce((n, t) => n + t.length, 0) });
      sets.push('#st = list_append(if_not_exists(#st, :none), :st)');
      adds.push('#ss :ssz');
    }
    if (opts.startsTurn) {
      // Operands are the values before this update: the turn starts at the first position taken here.
      Object.assign(names, { '#te': 'turnEventId', '#tf': 'turnFromSeq' });
      Object.assign(values, { ':te': opts.startsTurn, ':one': 1 });
      sets.push('#te = :te', '#tf = if_not_exists(#ls, :zero) + :one');
    }
    const conditions = ['attribute_exists(pk)'];
    const removes: string[] = [];
    const note = opts.note;
    const [keyAttr, seqAttr] = note ? NOTED[note.field] : [];
    if (note) Object.assign(names, { '#kk': keyAttr, '#ks': seqAttr });
    if (note?.key === null) removes.push('#kk', '#ks');
    else if (note) {
      values[':kk'] = note.key;
      if (note.from === undefined) {
        conditions.push('(attribute_not_exists(#kk) OR #kk <> :kk)');
        sets.push('#kk = :kk');
      } else {
        values[':from'] = note.from;
        conditions.push('#kk = :kk', '#ks = :from');
      }
      sets.push('#ks = if_not_exists(#ls, :zero) + :n');
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: sessionPk(sessionId), sk: META },
            UpdateExpression: `SET ${sets.join(', ')}${adds.length ? ` ADD ${adds.join(', ')}` : ''}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        return { last: Number(out.Attributes!.lastSeq) };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        if (!note || note.key === null) throw new SessionNotFound(sessionId);
        // Refused: a repeated request, a noted position moved meanwhile, or no session (error path only).
        const current = await this.get(sessionId);
        if (!current) throw new SessionNotFound(sessionId);
        const [notedKey, notedSeq] = [current[keyAttr!], current[seqAttr!]];
        if (notedKey === note.key && notedSeq !== undefined && notedSeq !== note.from) return { repeatOf: notedSeq };
        if (note.from !== undefined && notedKey !== note.key) return { keyGone: true };
        // The record moved under the write (another request's key was noted meanwhile): judge it again once.
        if (attempt >= 1) throw new Error('the session record kept changing during the write');
      }
    }
  }

  /** Puts a message at its position; false when the position was closed as abandoned meanwhile. */
  protected async putMessage(sessionId: string, message: TranscriptMessage | (Pick<TranscriptMessage, 'seq' | 'at'> & { void: true })): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: sessionPk(sessionId), sk: msgSk(message.seq), ...message },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
  }

  /**
   * The user's activity (web intake): one conditional update checks the session is live (and
   * that the pressed button is offered), slides its expiry, takes the message's position and
   * notes it as the newest message; then one put. Two requests in all.
   *
   * With a `clientKey` (the web client's Idempotency-Key) the same update notes the key, the
   * position and `clientEvent` (the turn's event id, made by the caller), on condition that the
   * key is not already the newest message's: a retry of a request whose answer was lost is
   * refused there, and only then (error path) is the record read to tell it apart, so the usual
   * path costs nothing more. A message without a key clears them: a key names the newest
   * message only.
   */
  async recordUserMessage(
    sessionId: string,
    input: { at: number; expiresAt: number; text?: string; buttonIndex?: number; clientKey?: string; clientEvent?: string },
  ): Promise<UserMessageOutcome> {
    const { at, buttonIndex, clientKey } = input;
    const hasMessage = input.text !== undefined || buttonIndex !== undefined;
    const names: Record<string, string> = { '#la': 'lastActivityAt', '#exp': 'expiresAt', '#gsk': 'gsi1sk' };
    const values: Record<string, unknown> = { ':at': at, ':exp': input.expiresAt, ':gsk': activityKey(at, sessionId), ':now': at / 1000 };
    const sets = ['#la = :at', '#exp = :exp', '#gsk = :gsk'];
    const removes: string[] = [];
    const conditions = ['attribute_exists(pk)', '#exp > :now'];
    if (hasMessage) {
      // Only the counter: the list's copies and last message are the turn's to write (one
      // index write per message instead of two), see CONVERSATION_LIST_ATTRIBUTES.
      Object.assign(names, { '#ls': 'lastSeq' });
      Object.assign(values, { ':zero': 0, ':one': 1 });
      sets.push('#ls = if_not_exists(#ls, :zero) + :one');
    }
    if (buttonIndex !== undefined) {
      if (!Number.isSafeInteger(buttonIndex) || buttonIndex < 0) return { outcome: 'no_such_button' };
      names['#ob'] = 'offeredButtons';
      conditions.push(`attribute_exists(#ob[${buttonIndex}])`);
    }
    Object.assign(names, { '#ck': 'clientKey', '#cs': 'clientSeq', '#ce': 'clientEvent' });
    if (clientKey !== undefined) {
      values[':ck'] = clientKey;
      conditions.push('(attribute_not_exists(#ck) OR #ck <> :ck)');
      sets.push('#ck = :ck');
      // The position this message takes (operands are the values before the update).
      if (hasMessage) sets.push('#cs = if_not_exists(#ls, :zero) + :one');
      else removes.push('#cs');
      if (input.clientEvent !== undefined) {
        values[':ce'] = input.clientEvent;
        sets.push('#ce = :ce');
      } else removes.push('#ce');
    } else removes.push('#ck', '#cs', '#ce');
    let session: Session | undefined;
    for (let attempt = 0; !session; attempt++) {
      try {
        const out = await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: sessionPk(sessionId), sk: META },
            UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        session = fromItem(out.Attributes!);
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        if (buttonIndex === undefined && clientKey === undefined) return { outcome: 'expired' };
        // Refused: tell an expired session from a repeated request or a button that is not offered (error path only).
        const current = await this.get(sessionId);
        if (!current || current.expiresAt * 1000 <= at) return { outcome: 'expired' };
        if (clientKey !== undefined && current.clientKey === clientKey) {
          return { outcome: 'duplicate', ...(await this.clientMessage(sessionId, current, input)), ...(current.clientEvent !== undefined && { clientEvent: current.clientEvent }) };
        }
        // The button was not offered when the write was judged (what is offered now may be newer, never seen by the user).
        if (buttonIndex !== undefined) return { outcome: 'no_such_button' };
        // Live, another key: the record moved under the write (a repeat was settled meanwhile); judge it again once.
        if (attempt >= 1) throw new Error('the session record kept changing during the write');
      }
    }
    if (!hasMessage) return { outcome: 'recorded', session };
    const text = input.text ?? session.offeredButtons![buttonIndex!]!.label;
    const message: TranscriptMessage = { from: 'user', text, seq: session.lastSeq!, at };
    if (await this.putMessage(sessionId, message)) return { outcome: 'recorded', session, written: message };
    // Refused: a repeat of this request (same key) wrote it there already, or a reader closed the place.
    return { outcome: 'recorded', session, written: await this.userMessageAt(sessionId, message.seq, text, at, clientKey) };
  }

  /** What is stored at a transcript position (a message or a void filler), if anything. */
  private async storedAt(sessionId: string, seq: number): Promise<StoredMessage | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: sessionPk(sessionId), sk: msgSk(seq) }, ConsistentRead: true }));
    return out.Item && fromMessageItem(out.Item);
  }

  /**
   * The message a repeated request (same client key) recorded the first time, settled at the
   * position it noted (userMessageAt). Without words to write (a press whose button is gone)
   * only a message already there is returned.
   */
  private async clientMessage(
    sessionId: string,
    current: Session,
    input: { at: number; text?: string; buttonIndex?: number },
  ): Promise<{ written?: TranscriptMessage }> {
    const seq = current.clientSeq;
    if (seq === undefined) return {};
    const text = input.text ?? (input.buttonIndex !== undefined ? current.offeredButtons?.[input.buttonIndex]?.label : undefined);
    if (text === undefined) {
      const stored = await this.storedAt(sessionId, seq);
      return stored && !stored.void ? { written: stored } : {};
    }
    return { written: await this.userMessageAt(sessionId, seq, text, input.at, current.clientKey) };
  }

  /**
   * The user's message at a position taken for it (messageAt), with its key when it has one.
   */
  private async userMessageAt(sessionId: string, seq: number, text: string, at: number, clientKey?: string): Promise<TranscriptMessage> {
    return this.messageAt(sessionId, seq, { from: 'user', text }, at, clientKey !== undefined ? { field: 'client', key: clientKey } : undefined);
  }

  /**
   * A message at a position a keyed request took for it: the one stored there (another request
   * with the same key wrote it); or put there now (the request that took it died before its
   * put); or, if a reader has closed the position as abandoned, appended at a new one (its
   * search text was added with the position, so not again), and the key's noted position moves
   * there in the same write: every later request with that key (a repeat, or the first request
   * itself, still running) then finds the message at the new position instead of appending it
   * again.
   */
  protected async messageAt(sessionId: string, seq: number, message: NewMessage, at: number, note?: KeyNote): Promise<TranscriptMessage> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const stored = await this.storedAt(sessionId, seq);
      if (stored && !stored.void) return stored;
      if (!stored) {
        const placed: TranscriptMessage = { ...message, seq, at };
        if (await this.putMessage(sessionId, placed)) return placed;
        continue; // refused: written or closed meanwhile, look again
      }
      // Closed as abandoned: a new position, and the key's noted position moves there with it,
      // so a later repeat finds the message instead of appending it again.
      const taken = note ? await this.takePositions(sessionId, [message], at, { search: [], note: { ...note, from: seq } }) : { keyGone: true as const };
      if ('keyGone' in taken) {
        const [written] = await this.appendMessages(sessionId, [message], at, { seen: { searchSize: SEARCH_TEXT_LIMIT } });
        return written!;
      }
      seq = 'repeatOf' in taken ? taken.repeatOf : taken.last;
    }
    throw new Error('could not settle the message at its position');
  }

  // --- reading the transcript ---------------------------------------------------------

  /** One query: positions after `after`, oldest first, voids included, at most `limit`. */
  protected async storedAfter(sessionId: string, after: number, limit: number): Promise<StoredMessage[]> {
    if (after >= MAX_SEQ) return [];
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :newest AND :first',
        ExpressionAttributeValues: { ':pk': sessionPk(sessionId), ':newest': msgSk(MAX_SEQ), ':first': msgSk(after + 1) },
        // Keys count down: reading backwards gives the oldest first.
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(fromMessageItem);
  }

  /**
   * The run after `after` with no gap (see the class comment): stops at a position taken but
   * not written, unless `now` shows it abandoned, then closes it with a void filler.
   * Returns the messages (no voids) and the position the run reached.
   */
  private async gapless(sessionId: string, stored: StoredMessage[], after: number, now: number | undefined): Promise<{ messages: TranscriptMessage[]; cursor: number }> {
    const run: StoredMessage[] = [];
    let expected = after + 1;
    for (const m of [...stored].sort((a, b) => a.seq - b.seq)) {
      if (m.seq < expected) continue;
      if (m.seq > expected) {
        const abandoned = now !== undefined && now - m.at >= GAP_GRACE_MS;
        if (!abandoned || !(await this.closeGap(sessionId, expected, m.seq - 1, now!))) break;
      }
      run.push(m);
      expected = m.seq + 1;
    }
    return { messages: visible(run), cursor: expected - 1 };
  }

  /**
   * Fills empty positions with voids, at most 50 per read (a long gap closes over several
   * reads); false if one was written meanwhile or the gap is not closed yet.
   */
  private async closeGap(sessionId: string, from: number, to: number, now: number): Promise<boolean> {
    const last = Math.min(to, from + 49);
    for (let seq = from; seq <= last; seq++) {
      if (!(await this.putMessage(sessionId, { seq, at: now, void: true }))) return false;
    }
    return last === to;
  }

  /** Messages after the cursor (a sequence number), oldest first, with no gap (see the class comment). */
  async listMessages(sessionId: string, after = 0, limit = PAGE, now?: number): Promise<TranscriptMessage[]> {
    for (let from = after; ; ) {
      const stored = await this.storedAfter(sessionId, from, limit);
      const { messages, cursor } = await this.gapless(sessionId, stored, from, now);
      // A page of nothing but voids: read on rather than look like the end.
      if (messages.length || stored.length < limit || cursor === from) return messages;
      from = cursor;
    }
  }

  /**
   * A poll in one request: ascending from META to the first position after the cursor gives
   * the session record, then the new messages newest first (keys count down). Only when more
   * than a page is new does a second query read the oldest of them.
   */
  async readSince(sessionId: string, after: number, now: number): Promise<{ session?: Session; messages: TranscriptMessage[]; cursor: number }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :meta AND :first',
        ExpressionAttributeValues: { ':pk': sessionPk(sessionId), ':meta': META, ':first': after >= MAX_SEQ ? META : msgSk(after + 1) },
        Limit: PAGE + 1,
        ConsistentRead: true,
      }),
    );
    const items = out.Items ?? [];
    const meta = items.find((i) => i.sk === META);
    if (!meta) return { messages: [], cursor: after };
    const stored = out.LastEvaluatedKey ? await this.storedAfter(sessionId, after, PAGE) : items.filter((i) => i !== meta).map(fromMessageItem);
    return { session: fromItem(meta), ...(await this.gapless(sessionId, stored, after, now)) };
  }

  /** The newest messages, newest first. */
  async latestMessages(sessionId: string, limit: number): Promise<TranscriptMessage[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
        ExpressionAttributeValues: { ':pk': sessionPk(sessionId), ':msg': MESSAGE_SK_PREFIX },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return visible((out.Items ?? []).map(fromMessageItem));
  }

  /** The newest transcript message, if any. */
  async lastMessage(sessionId: string): Promise<TranscriptMessage | undefined> {
    const [last] = await this.latestMessages(sessionId, 5);
    return last;
  }

  // --- the agent list -----------------------------------------------------------------


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

/**
 * The session records with what only the functions that run or settle queued work use
 * (TurnRecords: actions, scan-verdict, mailer; the agent and expiry store extends it): reading
 * a session for a turn with the agents' connections (BatchGetItem), reading back what an
 * earlier attempt wrote, settling a malware verdict in its message, one-off notices. Intake
 * and the proxy build SessionRecords and leave this code out of their bundles (issue 10).
 */
export class TurnSessionRecords extends SessionRecords implements TurnRecords {
  async getForTurn(id: string, nowSeconds: number): Promise<{ session: Session | undefined; agentConnections: string[]; agents: AgentAudience }> {
    const key = { pk: sessionPk(id), sk: META };
    let keys: Record<string, unknown>[] = [key, AGENT_SOCKETS_KEY];
    let session: Session | undefined;
    let agents: Item | undefined;
    // One BatchGetItem; DynamoDB may hand some keys back unprocessed under load.
    for (let attempt = 0; keys.length; attempt++) {
      if (attempt >= 8) throw new Error('could not read the session and the agents\' connections');
      if (attempt) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
      const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
      for (const item of out.Responses?.[this.tableName] ?? []) {
        if (item.pk === key.pk && item.sk === META) session = fromItem(item);
        else if (item.pk === AGENT_SOCKETS_KEY.pk && item.sk === AGENT_SOCKETS_KEY.sk) agents = item;
      }
      keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    const audience = agentAudienceIn(agents, nowSeconds, id);
    return { session, agentConnections: audience.all, agents: audience };
  }

  /**
   * Adds `key` to the session record's `notices` set unless it is there: true the first time,
   * false when it was there already or the record is gone (one winner among repeats).
   */
  async noteOnce(id: string, key: string): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(id), sk: META },
          UpdateExpression: 'ADD #n :keys',
          ConditionExpression: 'attribute_exists(pk) AND NOT contains(#n, :key)',
          ExpressionAttributeNames: { '#n': 'notices' },
          ExpressionAttributeValues: { ':keys': new Set([key]), ':key': key },
        }),
      ),
    );
  }

  /** Takes `key` back out of the `notices` set (the notice could not be given after all). */
  async forgetNote(id: string, key: string): Promise<void> {
    await conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(id), sk: META },
          UpdateExpression: 'DELETE #n :keys',
          // Never brings back (as a stub) a session record that expiry deleted.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#n': 'notices' },
          ExpressionAttributeValues: { ':keys': new Set([key]) },
        }),
      ),
    );
  }

  /** Every message stored at or after `fromSeq`, gaps or not, oldest first. */
  async writtenFrom(sessionId: string, fromSeq: number): Promise<TranscriptMessage[]> {
    const found: StoredMessage[] = [];
    for (let after = fromSeq - 1; ; ) {
      const page = await this.storedAfter(sessionId, after, PAGE);
      found.push(...page);
      if (page.length < PAGE) return visible(found);
      after = page.at(-1)!.seq;
    }
  }

  async setAttachmentScan(sessionId: string, seq: number, index: number, attachmentId: string, scan: ScanState): Promise<boolean> {
    if (!Number.isInteger(index) || index < 0) return false;
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: msgSk(seq) },
          UpdateExpression: `SET attachments[${index}].#scan = :scan`,
          ConditionExpression: `attachments[${index}].#id = :id`,
          ExpressionAttributeNames: { '#scan': 'scan', '#id': 'id' },
          ExpressionAttributeValues: { ':scan': scan, ':id': attachmentId },
        }),
      ),
    );
  }
}
