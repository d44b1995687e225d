/**
 * The ports of the core: what use cases need from the outside world, as interfaces only.
 * Nothing here runs; adapters (shared/adapters, shared/channels) implement these, and each
 * function's composition root (functions/<name>/wiring.ts) builds exactly the ones it uses.
 * Use cases take narrow slices (`Pick<Ports, ...>`), so a test can pass real adapters on
 * the local servers or small fakes, and a function carries only what its use cases call.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Bot } from '../bots/schema';
import type { AttachmentRecord, FileWarning } from '../domain/attachment';
import type { ContentFindings, ContentRule } from '../domain/attachment-rules';
import type { PendingAction } from '../domain/flow';
import type { ConversationSummary, Operator, Session } from '../domain/session';
import type { AttachmentMeta, NewMessage, ScanState, Sender, TranscriptMessage, WarningCode } from '../domain/transcript';
import type { InboundMedia } from '../channels/channel';

// ---------------------------------------------------------------------------------------
// Bots, time, ids, tokens, secrets

export interface BotCatalog {
  get(id: string): Bot | undefined;
  all(): Bot[];
  /** The bot whose Messenger channel is the given page. */
  byMessengerPage(pageId: string): Bot | undefined;
}

/** HMAC-signed, kind-bound tokens (shared/domain/tokens.ts implements it). */
export interface Tokens {
  sign(kind: string, data: unknown): string;
  /** The signed data, or undefined for anything malformed or forged. */
  verify<T>(kind: string, token: string | undefined): T | undefined;
}

/**
 * Bot secrets by the name a bot file uses, read on first use: a missing or unreadable one
 * rejects with MissingSecret (use cases read through `readBotSecret`, which fails just that
 * bot's use); any other rejection is transient and worth retrying.
 */
export interface BotSecrets {
  get(name: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------
// Sessions and transcripts

/** One page of the agent list: the conversations kept, and where the next page starts. */
export interface ConversationPage {
  conversations: ConversationSummary[];
  /** Opaque; absent on the last page. */
  next?: string;
}

export interface Sessions {
  /** Fails if a session with the id exists. */
  create(session: Session): Promise<void>;
  get(id: string): Promise<Session | undefined>;
  /**
   * Sets (or, for `undefined` values, removes) top-level attributes of a live session record;
   * throws SessionNotFound when the record is gone. `searchText` adds texts to what agents
   * can search for (a turn adds the user's words there, in the write that saves its flow).
   */
  update(
    id: string,
    changes: Partial<Omit<Session, 'id'>>,
    extra?: {
      searchText?: string[];
      seen?: Pick<Session, 'searchSize'> & Partial<Pick<Session, 'searchText' | 'flow'>>;
      /** A message written earlier (the web user's, by intake) that the agents' list should show as the newest. */
      listMessage?: TranscriptMessage;
    },
  ): Promise<Session>;
  /** Removes a session record that was created but never used (a lost race). */
  discard(id: string): Promise<void>;
}

/** What recording a web user's message came to (Transcript.recordUserMessage). */
export type UserMessageOutcome =
  | { outcome: 'recorded'; session: Session; written?: TranscriptMessage }
  | { outcome: 'duplicate'; written?: TranscriptMessage; clientEvent?: string }
  | { outcome: 'expired' }
  | { outcome: 'no_such_button' };

/** How an append is made: who writes it and what the writer knows of the session. */
export interface AppendOptions {
  /**
   * The flow event writing, on its first append of an attempt whose session record did not
   * name it yet: the record then notes where this event's messages start (Session.turnFromSeq).
   */
  startsTurn?: string;
  /** Texts agents can search for besides the messages' own (the user's words a turn answers). */
  searchText?: string[];
  /** The session as the writer last read it: texts it holds are not added again, and once it is full, none. */
  seen?: Pick<Session, 'searchSize'> & Partial<Pick<Session, 'searchText'>>;
}

export interface Transcript {
  /**
   * Appends in order: one write takes the positions on the session record (which also keeps
   * `lastMessage`, `offeredButtons` and the search text), then one put per message. Readers
   * never skip one written late (see `listMessages`). Returns what was written.
   */
  appendMessages(sessionId: string, messages: NewMessage[], at: number, opts?: AppendOptions): Promise<TranscriptMessage[]>;
  /**
   * The user's activity on a live session, in one conditional write: slides `lastActivityAt`
   * and `expiresAt`, and for a message takes its position (then one put). A `buttonIndex`
   * must name one of `offeredButtons`; the message's text is then that button's label.
   * With `clientKey`, a second call with the key of the session's newest message records
   * nothing new: it answers `duplicate` with that message (written now if the first call died
   * before writing it) and the `clientEvent` the first call noted.
   */
  recordUserMessage(
    sessionId: string,
    input: { at: number; expiresAt: number; text?: string; buttonIndex?: number; clientKey?: string; clientEvent?: string },
  ): Promise<UserMessageOutcome>;
  /**
   * Messages after the cursor (a sequence number), oldest first, at most `limit` (200): the
   * run with no gap after the cursor. A position taken but not yet written stops the run, so
   * a reader never steps over a message still being written; with `now`, a gap older than the
   * store's grace (its writer died) is closed for good and stepped over.
   */
  listMessages(sessionId: string, after?: number, limit?: number, now?: number): Promise<TranscriptMessage[]>;
  /**
   * A poll in one read: the session record and the messages after the cursor (as
   * `listMessages`), with the cursor to send next time. No session: `session` is undefined.
   */
  readSince(sessionId: string, after: number, now: number): Promise<{ session?: Session; messages: TranscriptMessage[]; cursor: number }>;
  /** The newest messages, newest first. */
  latestMessages(sessionId: string, limit: number): Promise<TranscriptMessage[]>;
  lastMessage(sessionId: string): Promise<TranscriptMessage | undefined>;
}

/** The session store holds sessions and their transcripts. */
export type SessionStorePort = Sessions & Transcript;

/**
 * What only the functions that run or settle queued work (actions, scan-verdict, mailer) do
 * with sessions: read one for a turn, look back over what an earlier attempt wrote, settle a
 * file's malware verdict in its message, give a one-off notice once. A port of its own, so
 * intake's and the proxy's stores leave that code out (issue 10).
 */
export interface TurnRecords {
  /**
   * The session and the agents' open WebSocket connections in one read: what a bot turn
   * needs to run and then push its replies without another request (SPEC 10 bounds).
   */
  getForTurn(id: string, nowSeconds: number): Promise<{ session: Session | undefined; agentConnections: string[]; agents?: AgentAudience }>;
  /**
   * Notes `key` on a live session once: true the first time, false when it was noted before or
   * the session is gone. Makes a one-off notice (a dead-lettered event's warning) happen once
   * however often it is attempted; `forgetNote` takes it back when the notice failed.
   */
  noteOnce(id: string, key: string): Promise<boolean>;
  forgetNote(id: string, key: string): Promise<void>;
  /** Every message stored at or after `fromSeq`, gaps or not (what a retried turn wrote before). */
  writtenFrom(sessionId: string, fromSeq: number): Promise<TranscriptMessage[]>;
  /**
   * Rewrites the scan state of the `index`-th attachment of the message at `seq` (a malware
   * verdict, SPEC 13); false when that message does not carry that attachment there.
   */
  setAttachmentScan(sessionId: string, seq: number, index: number, attachmentId: string, scan: ScanState): Promise<boolean>;
}

/** A use case's `sessions` with the TurnRecords methods `K` as well. */
export type WithTurnRecords<K extends keyof TurnRecords> = { sessions: SessionStorePort & Pick<TurnRecords, K> };

/**
 * What only the agent function (the agent list, operator claims) and expiry (whole-session
 * deletion) do with sessions: a port of its own so the other functions' stores leave it out.
 */
export interface SessionAdmin {
  /**
   * Makes `operator` the conversation's operator unless someone already is, and clears
   * `waitingForAgentSince`: one writer wins. `held` returns the session as it stands.
   */
  claimOperator(id: string, operator: Operator): Promise<{ outcome: 'claimed'; session: Session } | { outcome: 'held'; session: Session | undefined }>;
  /**
   * An agent's message, appended as appendMessages does. With `key` (the console's
   * Idempotency-Key), a second call with the key of the newest agent message writes nothing new
   * and answers `repeated` with that message (written now if the first call died before writing
   * it); without, any noted key is forgotten.
   */
  appendAgentMessage(sessionId: string, message: NewMessage, at: number, opts: Pick<AppendOptions, 'seen'> & { key?: string }): Promise<{ written: TranscriptMessage; repeated: boolean }>;
  /** Removes the operator if it is `agentId`; undefined when someone else (or nobody) holds it. */
  releaseOperator(id: string, agentId: string): Promise<Session | undefined>;
  /** Deletes every record of the session; returns how many there were. */
  deleteAll(id: string): Promise<number>;
  /**
   * One page of live conversations, most recent user activity first, those `keep` accepts,
   * at most `limit`; `cursor` is a previous page's `next`. A bounded number of requests
   * whatever the table holds (one query per index shard), so a page may hold fewer than
   * `limit` even when more follow. Fails with InvalidRequest for a cursor it did not make.
   */
  listConversations(opts: {
    nowSeconds: number;
    botId?: string;
    limit: number;
    cursor?: string;
    keep: (c: ConversationSummary) => boolean;
  }): Promise<ConversationPage>;
}

/** A use case's `sessions` with some of SessionAdmin besides the store. */
export type WithSessionAdmin<K extends keyof SessionAdmin> = { sessions: SessionStorePort & Pick<SessionAdmin, K> };

export interface AttachmentRecords {
  put(record: AttachmentRecord): Promise<void>;
  get(sessionId: string, attachmentId: string): Promise<AttachmentRecord | undefined>;
  /** The session's attachment stored under `key` (one bounded query over the session's files). */
  findByKey(sessionId: string, key: string): Promise<AttachmentRecord | undefined>;
  /**
   * Records a malware verdict: moves `scan` from `pending` to `scan` in one conditional write.
   * False when the record is not pending (an earlier verdict won) or is gone.
   */
  settleScan(sessionId: string, attachmentId: string, scan: ScanState): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------
// Files

export type ByteSource = Readable | AsyncIterable<Uint8Array>;

/** Session files in object storage. Keys are opaque to the core; the store makes them. */
/** Session files' keys, one object's size and deletion: what settling a scan verdict touches. */
export type SessionFileObjects = Pick<FileObjects, 'newKey' | 'newUploadKey' | 'keyFor' | 'isSessionKey' | 'sessionOfKey' | 'size' | 'delete'>;

export interface FileObjects {
  /** A fresh key under the session's prefix. */
  newKey(sessionId: string): string;
  /** A fresh key for a browser upload, outside every session's prefix (see UPLOADS_PREFIX). */
  newUploadKey(sessionId: string): string;
  /** The key a file with a fixed attachment id is stored under (retries overwrite it). */
  keyFor(sessionId: string, attachmentId: string): string;
  /** The object's size in bytes, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  /** A stream of the object's bytes; the caller destroys it when it has read enough. */
  open(key: string): Promise<Readable>;
  /** Server-side copy with a new content type; false when the source does not exist. */
  copy(from: string, to: string, contentType: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Deletes every file of the session; returns how many. */
  deleteSessionFiles(sessionId: string): Promise<number>;
  /** Whether `key` lies under the session's prefix. */
  isSessionKey(sessionId: string, key: string): boolean;
  /** The session whose prefix `key` lies under; undefined for any other key (uploads, foreign objects). */
  sessionOfKey(key: string): string | undefined;
}

/** Presigned browser upload forms (intake, agent). */
export interface UploadForms {
  /** A form for exactly this key, size range and content type. */
  presign(opts: { key: string; contentType: string; maxBytes: number; expiresSeconds: number }): Promise<{ url: string; fields: Record<string, string> }>;
}

/** Presigned downloads (the proxy). */
export interface DownloadLinks {
  /** A short-lived GET answering with the given disposition and type. */
  presign(key: string, opts: { contentDisposition: string; contentType: string; expiresSeconds: number }): Promise<string>;
}

/** Streaming uploads into object storage (actions: Send Attachment files, channel media). */
export interface StreamUploader {
  /**
   * Streams `body` in, failing with ObjectTooLarge past `maxBytes` or with the body's own
   * error; a failed upload leaves nothing under `key`.
   */
  upload(key: string, body: ByteSource, opts: { contentType: string; maxBytes: number; partSize?: number; queueSize?: number }): Promise<{ size: number }>;
}

/** Looks at a file's bytes for the rule of its extension (file-type); always consumes the source. */
export type ContentSniffer = (source: ByteSource, rule: ContentRule) => Promise<ContentFindings>;

// ---------------------------------------------------------------------------------------
// Upload slots and the per-conversation limit

/**
 * A promise that one file may be uploaded to one key. Used once: the first use marks it with
 * the use's key, and only a retry of that same use can take it again.
 */
export interface UploadSlot {
  uploadId: string;
  sessionId: string;
  /** Where the browser uploads: random, outside the session's prefix (older slots: inside it). */
  key: string;
  fileName: string;
  declaredSize: number;
  contentType: string;
  from: Sender;
  /** The slot holds one of the session's file places (user files count towards the limit). */
  counted: boolean;
  createdAt: number;
  /** Epoch ms: the presigned POST stops working. */
  postExpiresAt: number;
  /** Epoch ms: after this the slot is void and its place may be reclaimed. */
  usableUntil: number;
  /** Set on first use: the idempotency key of the use (the flow event id, say). */
  usedBy?: string;
  /** Epoch ms of the first use; the deadline is judged at this time, also by a retry. */
  usedAt?: number;
  /** Where the checked file is kept; recorded at first use, before the copy, so a retry finds it. */
  storedKey?: string;
  /** Recorded once known; a retry of the use returns it instead of checking again. */
  outcome?: SlotResult;
}

/** What using a slot gave: the kept file, or the warning for the user. */
export type SlotResult = { ok: true; attachment: AttachmentMeta } | { ok: false; warning: WarningCode; fileName?: string };

/** A slot as a use sees it: marked, with its stored key. */
export type UsedSlot = UploadSlot & Required<Pick<UploadSlot, 'usedBy' | 'usedAt' | 'storedKey'>>;

export interface UploadSlots {
  put(slot: UploadSlot): Promise<void>;
  /** Marks the slot used by `use.by`; undefined when it is not there for this sender and key. */
  consume(sessionId: string, uploadId: string, from: Sender, use: { by: string; at: number; storedKey: string }): Promise<{ slot: UsedSlot; again: boolean } | undefined>;
  recordOutcome(sessionId: string, uploadId: string, usedBy: string, outcome: SlotResult): Promise<void>;
  /** Deletes unused slots whose deadline passed; returns those this call deleted. */
  removeStale(sessionId: string, now: number): Promise<UploadSlot[]>;
  /**
   * Takes one of the conversation's file places while fewer than `limit` are taken (the
   * storage condition implementing `hasPlaceLeft`, shared/domain/attachment-rules.ts);
   * with `holdKey`, once per key. False when none is left or the session is gone.
   */
  reserve(sessionId: string, limit: number | null, holdKey?: string): Promise<boolean>;
  /** Gives a place back; with `settleKey`, at most once for that key. */
  release(sessionId: string, settleKey?: string): Promise<void>;
  /** A reserved file was accepted and now counts; false when the session is gone. */
  countAcceptedFile(sessionId: string, settleKey?: string): Promise<boolean>;
}

/** What opening a slot uses (intake): writing it, and taking a place (stale slots give theirs back). */
export type SlotOpening = Pick<UploadSlots, 'put' | 'removeStale' | 'reserve' | 'release'>;

// ---------------------------------------------------------------------------------------
// Presence, queues, fetching

export interface PresenceRecord {
  agentId: string;
  name: string;
  onlineUntil: number;
}

export interface Presence {
  put(record: PresenceRecord): Promise<void>;
  /** Agents whose presence has not run out at `now`. */
  online(now: number): Promise<PresenceRecord[]>;
}

/** Work queued from the intake side to the actions function, in order per session. */
export type FlowEvent =
  | { type: 'session_started'; sessionId: string }
  | {
      type: 'user_message';
      sessionId: string;
      /** Transcript position of the user's message, written by intake. */
      messageSeq: number;
      text?: string;
      buttonIndex?: number;
      /** Web upload slots to check and attach (SPEC section 3). */
      uploadIds?: string[];
      /**
       * The message intake wrote: the turn pushes it to the sockets with its replies, so intake
       * reads no connections before it answers (SPEC 10 bounds).
       */
      userMessage?: { seq: number; at: number; from: 'user'; text?: string };
    }
  | {
      /** A channel user's message (Messenger, Telegram, ...); unlike the web, its transcript entry is written by actions. */
      type: 'channel_message';
      sessionId: string;
      channel: string;
      messageId: string;
      text?: string;
      buttonIndex?: number;
      /** Files to fetch through the channel (its `mediaSource`) and check. */
      media?: InboundMedia[];
    }
  | {
      /**
       * Deliver what the channel user has not been sent yet, and nothing else (no turn): queued
       * when the malware verdict settles an agent's file to a channel user (SPEC 13), whose
       * delivery held it while it was pending.
       */
      type: 'deliver';
      sessionId: string;
    }
  | {
      /** A Messenger user's message: the older form of `channel_message`, still accepted from the queue. */
      type: 'messenger_message';
      sessionId: string;
      mid: string;
      /** What the user wrote, or the title of the quick reply / button they pressed. */
      text?: string;
      buttonIndex?: number;
      /** Files to download from Meta's CDN (`payload.url`) and check. */
      media?: { type: string; url: string }[];
    };

export interface EventQueue {
  /** `dedupId` makes a redelivered send harmless (FIFO deduplication). */
  send(event: FlowEvent, dedupId: string): Promise<void>;
}

/** One email to send: the file, and whether it was held while the user waited for an agent. */
export interface MailJob {
  sessionId: string;
  attachmentId: string;
  /** Set when the job was held: the `waitingForAgentSince` the user was waiting under. */
  heldForAgentSince?: number;
}

export interface MailQueue {
  /** `delaySeconds` (0-900) holds the job before the mailer sees it. */
  send(job: MailJob, delaySeconds: number): Promise<void>;
}

/**
 * The per-file overdue check of a file held for its malware verdict (SPEC 13): after
 * `delaySeconds` something looks at the attachment again and raises the ScanVerdictOverdue
 * alarm if it is still `pending` (shared/app/scan-watch.ts). On AWS a delayed SQS message to
 * the scan-verdict function; the adapter chains re-delays past SQS's 15-minute limit.
 */
export interface ScanWatch {
  /** `delaySeconds`: from now until the check is due (any length; whole seconds). */
  schedule(sessionId: string, attachmentId: string, delaySeconds: number): Promise<void>;
}

/** One scheduled check, as the watch queue carries it: the file, and when it is due (epoch ms). */
export interface ScanWatchJob {
  sessionId: string;
  attachmentId: string;
  dueAt: number;
}

export interface FetchOptions {
  /** Request headers; sent to redirect targets only when they are on the same origin. */
  headers?: Record<string, string>;
  /** Name resolution plus TCP connect, per connection. Default 5 s. */
  connectTimeoutMs?: number;
  /** From the call until the body is fully read (or discarded). Default 60 s. */
  timeoutMs?: number;
  /** Body cap in bytes; passing it fails the body with reason `too_large`. Default: none. */
  maxBytes?: number;
}

export interface FetchedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: URL;
  /** From Content-Length, when present. */
  contentLength?: number;
  /** The body, capped and timed; errors with a FetchFailure. Read it or call `discard()`. */
  body: Readable;
  /** Body bytes passed on so far (the full size once `body` has ended). */
  bytesRead(): number;
  /** Drops the body and the connection. */
  discard(): void;
}

/** The SSRF-safe fetcher: public addresses only (plus the deployment's allowlist). Fails with FetchFailure. */
export type Fetcher = (url: string, options: FetchOptions) => Promise<FetchedResponse>;

// ---------------------------------------------------------------------------------------
// Email

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Attached as is (base64), so the recipient gets the same bytes. */
  attachment?: { fileName: string; contentType: string; content: Readable };
}

export interface MailSender {
  /** The message as MIME (what SES calls raw content). */
  encode(mail: OutgoingMail): Promise<Uint8Array>;
  /**
   * Sends raw MIME. Throws MailNotSent when it is certain the message did not go out; any
   * other error leaves the outcome unknown.
   */
  send(envelope: { from: string; to: string }, raw: Uint8Array): Promise<{ messageId: string }>;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claimId: string; /** What a crashed earlier attempt had reached, if one left a stale claim. */ takenOverFrom?: 'claimed' | 'sending' }
  | { kind: 'sent' }
  | { kind: 'busy'; leaseUntil: number };

/** The per-attachment record that makes sending exactly-once; see shared/app/mail-attachment.ts. */
export interface MailClaims {
  claim(sessionId: string, attachmentId: string, now: number, leaseMs: number): Promise<ClaimOutcome>;
  /** Records that the send is about to be made; false if the claim was lost. */
  markSending(sessionId: string, attachmentId: string, claimId: string, now: number): Promise<boolean>;
  markSent(sessionId: string, attachmentId: string, claimId: string, details: { messageId: string; sentAt: number; linked: boolean }): Promise<void>;
  /** Gives the claim up (nothing was sent), so a retry need not wait for the lease. */
  release(sessionId: string, attachmentId: string, claimId: string): Promise<void>;
}

export interface MailDelivery {
  sender: MailSender;
  claims: MailClaims;
}

// ---------------------------------------------------------------------------------------
// Messaging channels (shared/channels/registry.ts)

/** Delivery position: every message up to `seq` went out, plus the first `parts` sends of the next. */
export interface DeliveryCursor {
  seq: number;
  parts: number;
}

/** Per channel: each user's current session, message ids already queued, delivery cursors. */
export interface ChannelRecords {
  currentSessionId(channel: string, account: string, user: string): Promise<string | undefined>;
  /** Makes `sessionId` current if the pointer still names `previous`; false when another won. */
  pointTo(channel: string, account: string, user: string, sessionId: string, expiresAt: number, previous: string | undefined): Promise<boolean>;
  slidePointer(channel: string, account: string, user: string, sessionId: string, expiresAt: number): Promise<void>;
  isMessageQueued(channel: string, eventId: string): Promise<boolean>;
  markMessageQueued(channel: string, eventId: string, sessionId: string, at: number, expiresAt: number): Promise<void>;
  deliveryCursor(channel: string, sessionId: string): Promise<DeliveryCursor>;
  /** Moves the cursor from `from` to `to`; false when another delivery moved it first. */
  advanceCursor(channel: string, sessionId: string, from: DeliveryCursor, to: DeliveryCursor, expiresAt: number): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------
// Real-time delivery (SPEC section 10)

/** Who holds a WebSocket: a web user on one session, or a Live Takeover agent. */
export type SocketClient =
  | { kind: 'user'; sessionId: string }
  /** `until`: when the agent's token expires (epoch s); the connection gets nothing after it. */
  | { kind: 'agent'; agentId: string; name: string; until?: number };

/** Open WebSocket connections, by who holds them. */
export interface SocketConnections {
  /**
   * Records a connection until `expiresAt` (epoch seconds), or answers `full` when its holder
   * already has as many open as it may (a user's session, an agent) or the agents' list is full.
   */
  add(connectionId: string, client: SocketClient, expiresAt: number): Promise<'added' | 'full'>;
  /** Forgets a connection; an agent's is found by its kind alone. */
  remove(connectionId: string, client: { kind: 'user'; sessionId: string } | { kind: 'agent' }): Promise<void>;
  /** Connection ids of the session's user (a session record read elsewhere carries them as `sockets`). */
  ofSession(sessionId: string): Promise<string[]>;
  /** Connection ids of every agent's console still open at `nowSeconds`. */
  ofAgents(nowSeconds: number): Promise<string[]>;
  /** Every agent's open console, and those of agents who have `sessionId` open (see `watch`), at `nowSeconds`. */
  agentsFor(nowSeconds: number, sessionId: string): Promise<AgentAudience>;
  /**
   * Notes that `agentId` has `sessionId` open in the console until `until` (epoch s): that
   * conversation's messages are pushed to their consoles too, not only its status changes.
   */
  watch(agentId: string, sessionId: string, until: number): Promise<void>;
}

/** The agents' console connections a change may go to: every live one, and those watching its conversation. */
export interface AgentAudience {
  all: string[];
  watching: string[];
}

/** Sends one frame to one connection (the API Gateway Management API); `gone` when it no longer exists. */
export interface SocketPoster {
  post(connectionId: string, frame: unknown): Promise<'sent' | 'gone'>;
}

/**
 * Tells a conversation's user and the agents what changed: the messages just written (may be
 * none, for a status change) on the session as it now stands. Never throws: a failed push
 * must not fail the write, and clients fall back to polling.
 * Every agent console gets what its list must show live: a change with no message (new
 * conversation, takeover, release, status), any message of a taken-over conversation, and a
 * change the caller marks `listChanged` (a turn that changed the status). Other messages (the
 * bot handling a chat on its own) go only to the consoles that have that conversation open;
 * the others see them at their next list read.
 */
export type LivePush = (
  session: Session,
  messages: TranscriptMessage[],
  audience?: 'everyone' | 'agents',
  /** The agents' connections when the caller already read them (a bot turn does, with its session). */
  agents?: AgentAudience,
  listChanged?: boolean,
) => Promise<void>;

/** Verifies an agent's JWT as the HTTP API's authorizer does; claims, or undefined for anything wrong. */
export type AgentTokenVerifier = (token: string | undefined) => Promise<Record<string, string> | undefined>;

// ---------------------------------------------------------------------------------------
// The flow's ports

export type ActionOutcome = { ok: true; attachment: AttachmentMeta } | { ok: false; reason: string };
export type AcceptedFiles = { accepted: AttachmentMeta[]; warnings: FileWarning[] };

/**
 * What a bot turn needs from the outside world beyond storage. Each is optional so a
 * function (or a test) wires only what it has; a missing port degrades safely.
 */
export interface FlowPorts {
  /**
   * Checks web upload slots after arrival: accepted files, and a warning per refused one.
   * Called again with the same `eventId` when the queue retries the turn: it must then give
   * the same answer (same attachment ids), without redoing what is done.
   */
  acceptUploads?: (session: Session, uploadIds: string[], eventId: string) => Promise<AcceptedFiles>;
  /** Performs a Send Attachment action (fetch, store) and reports the stored file. */
  performAction?: (session: Session, pending: PendingAction) => Promise<ActionOutcome>;
  /**
   * Downloads and checks files a channel user sent (through the channel's `mediaSource`), like
   * acceptUploads. A file already kept for the same message and position is returned as it is.
   */
  acceptChannelMedia?: (session: Session, channel: string, media: InboundMedia[], messageId: string) => Promise<AcceptedFiles>;
  /**
   * Pushes bot and agent messages to channels that are not read by polling (Messenger, Telegram, ...).
   * Implementations keep their own record of what went out: they send `messages` and
   * anything an earlier failed call left behind (so `[]` retries only that), and throw
   * when the queue should try again.
   */
  deliver?: (session: Session, messages: TranscriptMessage[]) => Promise<void>;
  /** Whether any agent has the console open (SPEC section 6). */
  agentsOnline?: () => Promise<boolean>;
  /**
   * Called for each file the user sent that was accepted (email fallback), again on every
   * retry of the turn: the receiver must treat a repeat (same attachment id) as one.
   */
  onUserFile?: (session: Session, file: AttachmentMeta) => Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Everything, by the name use cases use; each use case takes a Pick of it.

export interface Ports {
  bots: BotCatalog;
  sessions: SessionStorePort;
  attachments: AttachmentRecords;
  files: FileObjects;
  uploadForms: UploadForms;
  downloadLinks: DownloadLinks;
  uploader: StreamUploader;
  sniff: ContentSniffer;
  uploads: UploadSlots;
  presence: Presence;
  channelRecords: ChannelRecords;
  /** Each channel's API base by channel name (from its `*_API_URL` setting). */
  channelApiUrls: Readonly<Record<string, string>>;
  events: EventQueue;
  mailQueue: MailQueue;
  mail: MailDelivery;
  fetch: Fetcher;
  botSecrets: BotSecrets;
  tokens: Tokens;
  now: () => number;
  newId: () => string;
  /** Origin of the public API, for absolute /files links (Messenger, email). */
  publicBaseUrl: string;
  /**
   * Whether files users and agents send are held for a malware scan (SPEC 13, `MALWARE_SCAN`):
   * `on` keeps them `pending` until the verdict, `off` marks them `not_scanned`. Unset (a test
   * or function that does not store incoming files): files carry no scan state and are usable.
   */
  malwareScan?: 'on' | 'off';
  /**
   * Where each file that goes `pending` gets its overdue check scheduled; absent (the local
   * runtime, whose scan loop alarms per file itself, and tests): nothing is scheduled.
   */
  scanWatch?: ScanWatch;
  /** Minutes a file may stay `pending` before its check alarms (`SCAN_PENDING_ALARM_MINUTES`, default 15). */
  scanPendingAlarmMinutes?: number;
  /** The address attachment emails come from. */
  senderEmail: string;
  /** The flow's channel-facing ports, filled in by each function's wiring. */
  ports: FlowPorts;
  sockets: SocketConnections;
  socketPoster: SocketPoster;
  /** Live delivery of transcript and status changes; absent: clients only poll. */
  push?: LivePush;
  verifyAgentToken: AgentTokenVerifier;
  /** What clients connect to: `wss://…` on AWS; `{host}` stands for the host the client used. Unset: no socket. */
  socketUrl?: string;
}
