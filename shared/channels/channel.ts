import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type * as z from 'zod/mini';
import type { SecretRef } from '../bots/secret-ref';
import type { AttachmentMeta, TranscriptMessage, WarningCode } from '../domain/transcript';

/**
 * The shape every messaging channel implements (Messenger, Telegram, WhatsApp, Twilio, ...).
 * A channel is one folder, `shared/channels/<name>/`, exporting one `ChannelAdapter`, and one
 * line in `shared/channels/registry.ts` (its parts, see ChannelDefinition below, one line each in
 * definitions.ts, receivers.ts and senders.ts). From those lines follow: the bot file's
 * `channels.<name>` schema, the webhook routes (API Gateway and the local server), which
 * function may read which of its secrets (CDK grants), its limits in the bot config endpoint,
 * and the generic use cases that run it (shared/app/channel-intake.ts, channel-media.ts,
 * channel-delivery.ts): verify, dedupe, one live session per (account, user), queue, fetch
 * media through the SSRF-safe fetcher with the web files' checks, render, send.
 *
 * Adapters hold protocol only: no storage, no flow rules. Their HTTP calls to the channel's
 * API use `fetch` with the base URL the deployment configures (`apiUrlSetting`).
 */

/** The settings naming each channel's API base; shared/config.ts defines them with their defaults. */
export type ChannelApiSetting = 'MESSENGER_API_URL' | 'TELEGRAM_API_URL' | 'WHATSAPP_API_URL' | 'TWILIO_API_URL';

/** A webhook request as the channel sent it: the raw body, lower-case header names. */
export interface WebhookRequest {
  method: 'GET' | 'POST';
  /** The route's path parameters (`{botId}`). */
  pathParameters: Record<string, string>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  /** The public URL the channel called (PUBLIC_BASE_URL + path + query): Twilio signs it. */
  publicUrl: string;
}

/** What a webhook is answered with when the channel expects more than `{"received": true}`. */
export interface WebhookResponse {
  statusCode: number;
  contentType: string;
  body: string;
}

/** One bot's configuration of this channel. */
export interface BotChannel<Cfg> {
  botId: string;
  config: Cfg;
}

/** A file the user sent, as the channel refers to it (a URL, a file id, a media id). */
export interface InboundMedia {
  /** The channel's kind: `image`, `file`, `document`, `photo`, ... */
  kind: string;
  /** What `mediaSource` resolves: Messenger's CDN URL, Telegram's `file_id`, WhatsApp's media id. */
  ref: string;
  /** The name the user's app gave the file, when the channel says. */
  fileName?: string;
  contentType?: string;
  /** Size in bytes when the channel announces it (checked against the limit before fetching). */
  size?: number;
  /** The digest the channel announced with the message (WhatsApp; hex or base64), checked by the adapter. */
  sha256?: string;
}

/** One thing a user did that the bot must answer, in the flow's terms. */
export interface InboundEvent {
  botId: string;
  /** The channel account the user wrote to (page id, Telegram bot, phone number id). */
  account: string;
  /** The user's id on the channel: where replies go. */
  user: string;
  /** The channel's message (or update) id: each is processed once. */
  messageId: string;
  text?: string;
  /** The index of the bot button pressed. */
  buttonIndex?: number;
  media: InboundMedia[];
  userName?: string;
}

export type WebhookOutcome =
  /** A verified delivery: the events to queue (maybe none), and the answer when not the default. */
  | { kind: 'events'; events: InboundEvent[]; response?: WebhookResponse; afterQueued?: () => Promise<void> }
  /** A handshake (Meta's hub.challenge): answered as is, nothing queued. */
  | { kind: 'response'; response: WebhookResponse };

/** What the adapter sees of the deployment when it receives a webhook. */
export interface WebhookContext<Cfg> {
  /** Every bot with this channel configured. */
  bots: BotChannel<Cfg>[];
  secret(ref: SecretRef): Promise<string>;
  apiUrl: string;
}

/** One bot's channel, resolved for a conversation: its config, secrets and API base. */
export interface ChannelTarget<Cfg> extends BotChannel<Cfg> {
  account: string;
  user: string;
  secret(ref: SecretRef): Promise<string>;
  apiUrl: string;
}

/** Where to fetch one inbound file (through the SSRF-safe fetcher), or why not to. */
export interface MediaSource {
  url: string;
  headers?: Record<string, string>;
  /** The channel's own cap (Telegram serves at most 20 MB to bots); the bot's limit applies too. */
  maxBytes?: number;
  fileName?: string;
  contentType?: string;
  /** Hex SHA-256 the bytes must have (WhatsApp), else `attachment_upload_failed`. */
  sha256?: string;
}

/** Files a send may need: a public `/files` link, or the bytes for the channel's own upload. */
export interface FileAccess {
  link(attachment: AttachmentMeta): string;
  open(attachment: AttachmentMeta): Promise<Readable>;
}

/** What a channel can carry (docs/channels.md; the bot config endpoint reports it). */
export interface ChannelLimits {
  /** Largest file the bot can receive from a user. */
  inboundMaxBytes: number;
  /** Largest file the bot can send (documents), and by type where the channel says. */
  outboundMaxBytes: number;
  outboundMaxBytesByType?: Record<string, number>;
  /** Buttons per message the channel shows as buttons (more are still sent, as the channel allows). */
  maxButtons: number;
  maxTextChars: number;
}

/** A failed send: `retryable` when trying later may succeed. Messages never hold tokens or URLs. */
export class ChannelSendError extends Error {
  override name = 'ChannelSendError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly code?: number,
    readonly subcode?: number,
  ) {
    super(message);
  }
}

/** A channel. `Cfg` is its `channels.<name>` object in a bot file; `Part` one send. */
export interface ChannelAdapter<Cfg = unknown, Part = unknown> {
  readonly name: string;
  /** How users know it ("Facebook Messenger", "Telegram"), in warnings. */
  readonly label: string;
  /** The bot file's `channels.<name>` schema (zod/mini). */
  readonly configSchema: z.ZodMiniType<Cfg>;
  /** Webhook routes, served by intake; `{botId}` may appear as a path parameter. */
  readonly routes: readonly { method: 'GET' | 'POST'; path: string }[];
  /**
   * How the webhook authenticates its caller without an API Gateway authorizer (the CDK
   * acknowledges each public route with this reason).
   */
  readonly webhookAuthentication: string;
  readonly apiUrlSetting: ChannelApiSetting;
  readonly limits: ChannelLimits;
  /**
   * How long after the user's last message the channel lets a business write to them freely
   * (WhatsApp's 24-hour customer-service window); none = no such window. An agent message
   * outside it is refused with `channel_window_closed` (bot replies answer a message, so are inside).
   */
  readonly replyWindowSeconds?: number;
  /** Prefix of its queue deduplication ids (`msgr`, `tg`, ...). */
  readonly eventPrefix: string;
  /** The secrets of one bot's channel: checking webhooks (intake) and calling the API (actions, agent). */
  secrets(config: Cfg): { webhook: SecretRef[]; delivery: SecretRef[] };
  /**
   * A problem with one of the channel's secret values (named `name`) that start-up should
   * report, e.g. a Telegram secret token Telegram would not accept; undefined when fine.
   */
  secretProblem?(config: Cfg, name: string, value: string): string | undefined;
  /** Advice about a secret value that works but is weak (start-up warns, nothing is refused); undefined when fine. */
  secretAdvice?(config: Cfg, name: string, value: string): string | undefined;
  /** The account one bot's channel is (its page id, its own id): the first half of the session key. */
  account(bot: BotChannel<Cfg>): string;
  /**
   * Verifies (fail closed: InvalidSignature / VerificationRefused before anything else) and
   * parses one webhook request (InvalidRequest for a malformed body).
   */
  receive(request: WebhookRequest, context: WebhookContext<Cfg>): Promise<WebhookOutcome>;
  /** Where the bytes of one inbound file are, or a warning (e.g. announced too large). */
  mediaSource(target: ChannelTarget<Cfg>, media: InboundMedia): Promise<MediaSource | WarningCode>;
  /** The sends for one transcript message, in order; the same message always gives the same parts. */
  render(message: TranscriptMessage, files: Pick<FileAccess, 'link'>): Part[];
  /**
   * For a channel that shows buttons as text (SMS, WhatsApp beyond 10: numbered options): which
   * of the offered buttons a text reply chooses (its number or its label), undefined when none.
   * The flow asks only while it waits for a button.
   */
  buttonFromText?(text: string, offered: readonly { label: string }[]): number | undefined;
  /** Sends one part; throws ChannelSendError. */
  send(target: ChannelTarget<Cfg>, part: Part, files: FileAccess): Promise<void>;
}

/**
 * A channel's parts, each its own module so a function bundles only what it runs (issue 10):
 * the definition (what bot files, grants, routes and limits need: no protocol code), the
 * receiver (webhooks: intake) and the sender (media, rendering, sending: actions, agent).
 * `<name>/adapter.ts` joins the three into the channel's `ChannelAdapter`.
 */
export type ChannelReceiving = 'receive';
export type ChannelSending = 'mediaSource' | 'render' | 'buttonFromText' | 'send';
export type ChannelDefinition<Cfg = unknown> = Omit<ChannelAdapter<Cfg, unknown>, ChannelReceiving | ChannelSending>;
export type ChannelReceiver<Cfg = unknown> = Pick<ChannelAdapter<Cfg, unknown>, ChannelReceiving>;
export type ChannelSender<Cfg = unknown, Part = unknown> = Pick<ChannelAdapter<Cfg, Part>, ChannelSending>;

/**
 * The queue deduplication id (and flow event id) of a channel message: fixed length whatever
 * the channel's id looks like, and scoped to the account.
 */
export const channelEventId = (prefix: string, account: string, messageId: string): string =>
  `${prefix}-${createHash('sha256').update(`${account}\n${messageId}`).digest('base64url')}`;

/** Cuts a label to `max` characters (code points), with an ellipsis when it was longer. */
export function cutLabel(label: string, max: number): string {
  const chars = [...label];
  return chars.length <= max ? label : `${chars.slice(0, max - 1).join('')}…`;
}

/** Splits on code points so no character is cut in half. */
export function chunks(text: string, size: number): string[] {
  const chars = [...text];
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}
