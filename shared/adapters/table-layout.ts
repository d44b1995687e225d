/**
 * The storage layout, in one place: the table's key attributes, key prefixes and index,
 * the TTL attribute, and the S3 prefix of session files. The adapters build every key from
 * here; the expiry function, the CDK storage construct and the local runtime's table creation
 * read it too, so the layout cannot be written two ways.
 *
 *   SESSION#<id> / META                 the session (TTL `expiresAt`; index CONVERSATIONS_INDEX)
 *   SESSION#<id> / MSG#<seq>            transcript messages, gapless and ordered
 *   SESSION#<id> / ATT#<attachmentId>   attachment records (TTL only for agent files)
 *   SESSION#<id> / UPLOAD#<uploadId>    upload slots
 *   SESSION#<id> / MAIL#<attachmentId>  exactly-once email claims
 *   SESSION#<id> / MESSENGER#DELIVERED  Messenger delivery cursor
 *   PRESENCE / AGENT#<agentId>          agent presence
 *   MESSENGER#<pageId>#<psid> / SESSION the user's current Messenger session
 *   MESSENGER_MID#<eventId> / MID       Messenger message ids already queued
 * Only META carries the session's TTL; when it expires the expiry function removes the rest.
 */
export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
export const TTL_ATTRIBUTE = 'expiresAt';

/** The one GSI: conversations by last activity, for the agent console. */
export const CONVERSATIONS_INDEX = 'gsi1';
export const CONVERSATIONS_INDEX_PARTITION_KEY = 'gsi1pk';
export const CONVERSATIONS_INDEX_SORT_KEY = 'gsi1sk';
export const CONVERSATIONS_PARTITION = 'CONVERSATIONS';

export const SESSION_PK_PREFIX = 'SESSION#';
export const sessionPk = (id: string) => `${SESSION_PK_PREFIX}${id}`;
export const META = 'META';
export const MESSAGE_SK_PREFIX = 'MSG#';
export const messageSk = (seq: number) => `${MESSAGE_SK_PREFIX}${String(seq).padStart(10, '0')}`;
export const ATTACHMENT_SK_PREFIX = 'ATT#';
export const attachmentSk = (id: string) => `${ATTACHMENT_SK_PREFIX}${id}`;
export const UPLOAD_SK_PREFIX = 'UPLOAD#';
export const uploadSk = (id: string) => `${UPLOAD_SK_PREFIX}${id}`;
export const mailSk = (attachmentId: string) => `MAIL#${attachmentId}`;
export const MESSENGER_CURSOR_SK = 'MESSENGER#DELIVERED';

export const PRESENCE_PK = 'PRESENCE';
export const presenceSk = (agentId: string) => `AGENT#${agentId}`;

export const messengerPointerKey = (pageId: string, psid: string) => ({ pk: `MESSENGER#${pageId}#${psid}`, sk: 'SESSION' });
export const messengerMidKey = (eventId: string) => ({ pk: `MESSENGER_MID#${eventId}`, sk: 'MID' });

/** S3: every session file lives under its session's prefix, each under its own key. */
export const SESSION_FILES_PREFIX = 'sessions/';
export const sessionFilesPrefix = (sessionId: string) => `${SESSION_FILES_PREFIX}${sessionId}/`;
export const sessionFileKey = (sessionId: string, name: string) => `${sessionFilesPrefix(sessionId)}${name}`;

/** The table's definition, as CreateTable takes it (the CDK construct declares the same). */
export const TABLE_DEFINITION = {
  attributes: [PARTITION_KEY, SORT_KEY, CONVERSATIONS_INDEX_PARTITION_KEY, CONVERSATIONS_INDEX_SORT_KEY],
  partitionKey: PARTITION_KEY,
  sortKey: SORT_KEY,
  indexes: [{ name: CONVERSATIONS_INDEX, partitionKey: CONVERSATIONS_INDEX_PARTITION_KEY, sortKey: CONVERSATIONS_INDEX_SORT_KEY }],
} as const;
