/**
 * The storage layout, in one place: the table's key attributes, key prefixes and index,
 * the TTL attribute, and the S3 prefix of session files. The adapters build every key from
 * here; the expiry function, the CDK storage construct and the local runtime's table creation
 * read it too, so the layout cannot be written two ways.
 *
 *   SESSION#<id> / META                 the session (TTL `expiresAt`; index CONVERSATIONS_INDEX),
 *                                       its transcript counter `lastSeq` and what the agent list shows
 *   SESSION#<id> / MSG#<inverted seq>   transcript messages (see messageSk), or `void` fillers
 *   SESSION#<id> / ATT#<attachmentId>   attachment records (TTL only for agent files)
 *   SESSION#<id> / UPLOAD#<uploadId>    upload slots
 *   SESSION#<id> / MAIL#<attachmentId>  exactly-once email claims
 *   SESSION#<id> / MESSENGER#DELIVERED  Messenger delivery cursor
 *   SESSION#<id> / CONN#<connectionId>  the user's open WebSocket connections (TTL)
 *   SOCKETS#AGENTS / CONN#<connectionId> agents' open WebSocket connections (TTL)
 *   PRESENCE / AGENT#<agentId>          agent presence
 *   MESSENGER#<pageId>#<psid> / SESSION the user's current Messenger session
 *   MESSENGER_MID#<eventId> / MID       Messenger message ids already queued
 * Only META carries the session's TTL; when it expires the expiry function removes the rest.
 */
export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The one GSI: conversations by last user activity, for the agent console. Only session META
 * items carry its keys. Its partition key is one of CONVERSATION_SHARDS shards picked by a hash
 * of the session id, so no index partition takes every session's writes, and a list call reads
 * each shard once (presence mark + one query per shard = the 3 requests SPEC 10 allows); the
 * sort key `<lastActivityAt ISO, to the minute>#<id>` moves only when the user is active, not
 * on bot or agent messages, and at most once a minute. The index projects only what the list shows and searches (CONVERSATION_LIST_ATTRIBUTES),
 * never the flow state or the file bookkeeping.
 *
 * Layout change (pre-1.0, no migration): sessions written before the transcript counter, the
 * list attributes and the sharded index existed (`gsi1pk = CONVERSATIONS`, `MSG#<seq>` keys
 * counting up) are not read correctly by this code; let them expire or clear the table.
 * Likewise sessions written before the listed copies (listedActivityAt, ...) are left out of
 * the agent list until their next transcript write.
 */
export const CONVERSATIONS_INDEX = 'gsi1';
export const CONVERSATIONS_INDEX_PARTITION_KEY = 'gsi1pk';
export const CONVERSATIONS_INDEX_SORT_KEY = 'gsi1sk';
export const CONVERSATION_SHARDS = 2;
export const CONVERSATION_SHARD_PREFIX = 'CONV#';
/** The index shard of a session: a stable hash of its id (FNV-1a) modulo CONVERSATION_SHARDS. */
export function conversationShard(sessionId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) h = Math.imul(h ^ sessionId.charCodeAt(i), 0x01000193);
  return `${CONVERSATION_SHARD_PREFIX}${(h >>> 0) % CONVERSATION_SHARDS}`;
}
export const conversationShards = (): string[] => Array.from({ length: CONVERSATION_SHARDS }, (_, i) => `${CONVERSATION_SHARD_PREFIX}${i}`);
/**
 * Non-key session attributes the index projects: the agent list's fields, status inputs and
 * search text. Last activity, expiry and the transcript counter are projected as copies
 * (LISTED_COPIES) that every transcript write refreshes, so web intake's update of the
 * originals (one per user message) changes nothing the index holds (no index write) unless
 * the sort key moves; the list catches up in the turn's write a moment later.
 */
export const CONVERSATION_LIST_ATTRIBUTES = [
  'id',
  'botId',
  'channel',
  'userId',
  'userName',
  'listedActivityAt',
  'listedExpiresAt',
  'operator',
  'waitingForAgentSince',
  'defaultAnswers',
  'lastMessage',
  'offeredButtons',
  'searchText',
  // The transcript counter: the console counts a conversation's unread messages from it.
  'listedSeq',
] as const;
/** The index's copies of session attributes: copy name -> original. */
export const LISTED_COPIES = { listedActivityAt: 'lastActivityAt', listedExpiresAt: 'expiresAt', listedSeq: 'lastSeq' } as const;

export const SESSION_PK_PREFIX = 'SESSION#';
export const sessionPk = (id: string) => `${SESSION_PK_PREFIX}${id}`;
export const META = 'META';
export const MESSAGE_SK_PREFIX = 'MSG#';
/**
 * Transcript keys count down (`MSG#` + 9999999999 - seq), so the newest message sorts first
 * and right after META: one ascending Query from META to messageSk(after + 1) returns the
 * session and every message after a reader's cursor (SPEC 10: a poll is one request).
 * Nothing else of the session sorts between META and MSG#.
 */
export const MAX_SEQ = 9_999_999_999;
export const messageSk = (seq: number) => `${MESSAGE_SK_PREFIX}${String(MAX_SEQ - seq).padStart(10, '0')}`;
export const ATTACHMENT_SK_PREFIX = 'ATT#';
export const attachmentSk = (id: string) => `${ATTACHMENT_SK_PREFIX}${id}`;
export const UPLOAD_SK_PREFIX = 'UPLOAD#';
export const uploadSk = (id: string) => `${UPLOAD_SK_PREFIX}${id}`;
export const mailSk = (attachmentId: string) => `MAIL#${attachmentId}`;

/**
 * WebSocket connections (SPEC 10), kept where a push reads them anyway: a web user's as the
 * string set SESSION_SOCKETS on the session's META (the record every writer reads or returns,
 * deleted with the session); the agents' consoles as one attribute each (`conn#<id>`, value:
 * until when, epoch s) on the one item AGENT_SOCKETS_KEY, which a bot turn reads in the same
 * request as the session (BatchGetItem). So a push costs no extra request per message.
 */
export const SESSION_SOCKETS = 'sockets';
/** At most this many open sockets per web session and per agent; the agents' item holds at most AGENT_SOCKETS_MAX. */
export const SOCKETS_PER_HOLDER = 5;
export const AGENT_SOCKETS_MAX = 1000;
export const AGENT_SOCKETS_KEY = { pk: 'SOCKETS#AGENTS', sk: 'LIST' } as const;
export const AGENT_SOCKET_ATTR_PREFIX = 'conn#';
export const agentSocketAttr = (connectionId: string) => `${AGENT_SOCKET_ATTR_PREFIX}${connectionId}`;
/** An agent's entry on the AGENT_SOCKETS_KEY item. */
export interface AgentSocketEntry {
  connectionId: string;
  agentId: string;
  until: number;
}

/** Every agent entry on the AGENT_SOCKETS_KEY item, live or not. */
export const agentEntriesIn = (item: Record<string, unknown> | undefined): AgentSocketEntry[] =>
  Object.entries(item ?? {})
    .filter(([name]) => name.startsWith(AGENT_SOCKET_ATTR_PREFIX))
    .map(([name, value]) => {
      const v = value as { until?: unknown; agent?: unknown } | undefined;
      return { connectionId: name.slice(AGENT_SOCKET_ATTR_PREFIX.length), agentId: String(v?.agent ?? ''), until: Number(v?.until ?? 0) };
    });

/** Agents' connection ids on the AGENT_SOCKETS_KEY item that are still within their time at `nowSeconds`. */
export const agentConnectionsIn = (item: Record<string, unknown> | undefined, nowSeconds: number): string[] =>
  agentEntriesIn(item)
    .filter((e) => e.until > nowSeconds)
    .map((e) => e.connectionId);

/**
 * Which conversation each agent has open in the console, on the same AGENT_SOCKETS_KEY item
 * (`watch#<agentId>`: `{ s: sessionId, until }`, epoch s), so a bot turn knows from the read it
 * makes anyway which consoles want that conversation's messages (the others get only the
 * changes the list must show live: new conversation, status, takeover).
 */
export const AGENT_WATCH_ATTR_PREFIX = 'watch#';
export const agentWatchAttr = (agentId: string) => `${AGENT_WATCH_ATTR_PREFIX}${agentId}`;

/** Every agent's open conversation on the AGENT_SOCKETS_KEY item, live or not. */
export const agentWatchesIn = (item: Record<string, unknown> | undefined): { agentId: string; sessionId: string; until: number }[] =>
  Object.entries(item ?? {})
    .filter(([name]) => name.startsWith(AGENT_WATCH_ATTR_PREFIX))
    .map(([name, value]) => {
      const v = value as { s?: unknown; until?: unknown } | undefined;
      return { agentId: name.slice(AGENT_WATCH_ATTR_PREFIX.length), sessionId: String(v?.s ?? ''), until: Number(v?.until ?? 0) };
    });

/**
 * The agents' consoles a change to `sessionId` may go to at `nowSeconds`: all live ones, and
 * those of agents who have that conversation open.
 */
export function agentAudienceIn(item: Record<string, unknown> | undefined, nowSeconds: number, sessionId: string): { all: string[]; watching: string[] } {
  const live = agentEntriesIn(item).filter((e) => e.until > nowSeconds);
  const watchers = new Set(agentWatchesIn(item).filter((w) => w.sessionId === sessionId && w.until > nowSeconds).map((w) => w.agentId));
  return { all: live.map((e) => e.connectionId), watching: live.filter((e) => watchers.has(e.agentId)).map((e) => e.connectionId) };
}

export const PRESENCE_PK = 'PRESENCE';
export const presenceSk = (agentId: string) => `AGENT#${agentId}`;

/**
 * A channel user's current session and the message ids already queued, per channel (the
 * names are Messenger's original layout, generalised: `MESSENGER#<page>#<psid>`,
 * `TELEGRAM#<bot>#<chat>`).
 */
export const channelPointerKey = (channel: string, account: string, user: string) => ({ pk: `${channel.toUpperCase()}#${account}#${user}`, sk: 'SESSION' });
export const channelMidKey = (channel: string, eventId: string) => ({ pk: `${channel.toUpperCase()}_MID#${eventId}`, sk: 'MID' });
/** How far a session's transcript went out through its channel (under the session, deleted with it). */
export const channelCursorSk = (channel: string) => `${channel.toUpperCase()}#DELIVERED`;


/** S3: every session file lives under its session's prefix, each under its own key. */
export const SESSION_FILES_PREFIX = 'sessions/';
export const sessionFilesPrefix = (sessionId: string) => `${SESSION_FILES_PREFIX}${sessionId}/`;
export const sessionFileKey = (sessionId: string, name: string) => `${sessionFilesPrefix(sessionId)}${name}`;
/** The session a session file's key belongs to (`sessions/<id>/<name>`); undefined for any other key. */
export const sessionOfFileKey = (key: string): string | undefined => {
  if (!key.startsWith(SESSION_FILES_PREFIX)) return undefined;
  const rest = key.slice(SESSION_FILES_PREFIX.length);
  const slash = rest.indexOf('/');
  return slash > 0 && slash < rest.length - 1 ? rest.slice(0, slash) : undefined;
};

/**
 * S3: where browsers POST files before their checks (`uploads/<sessionId>/<random>`), outside
 * every session's prefix. A form stays valid for its whole window even after its slot was used;
 * whatever is posted with it afterwards lands here, where nothing reads it, and never among a
 * session's checked files. A lifecycle rule (locally: the upload sweeper) removes what is left.
 */
export const UPLOADS_PREFIX = 'uploads/';
export const uploadKey = (sessionId: string, name: string) => `${UPLOADS_PREFIX}${sessionId}/${name}`;
/** Days the lifecycle rule keeps an object under UPLOADS_PREFIX (S3's shortest expiration). */
export const UPLOADS_RETENTION_DAYS = 1;

/** The table's definition, as CreateTable takes it (the CDK construct declares the same). */
export const TABLE_DEFINITION = {
  attributes: [PARTITION_KEY, SORT_KEY, CONVERSATIONS_INDEX_PARTITION_KEY, CONVERSATIONS_INDEX_SORT_KEY],
  partitionKey: PARTITION_KEY,
  sortKey: SORT_KEY,
  indexes: [
    {
      name: CONVERSATIONS_INDEX,
      partitionKey: CONVERSATIONS_INDEX_PARTITION_KEY,
      sortKey: CONVERSATIONS_INDEX_SORT_KEY,
      projection: { type: 'INCLUDE', nonKeyAttributes: CONVERSATION_LIST_ATTRIBUTES },
    },
  ],
} as const;
