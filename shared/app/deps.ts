import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BotRegistry } from '../bots/loader';
import type { Config } from '../config';
import { TokenSigner } from '../domain/tokens';
import { dynamoDocumentClient, s3Client } from '../adapters/clients';
import { AttachmentStore } from '../adapters/attachment-store';
import { FileStore } from '../adapters/file-store';
import { botSecret, SecretsManagerSecrets, StaticSecrets, type Secrets } from '../adapters/secrets';
import { SessionStore } from '../adapters/session-store';
import { PresenceStore } from '../adapters/presence-store';
import { MessengerStore } from '../channels/messenger/messenger-store';
import { UploadSlotStore } from '../adapters/upload-slot-store';
import { DynamoMailClaims } from '../adapters/mail-claims';
import { SqsMailQueue } from '../adapters/mail-queue';
import { SesMailSender, sesClient } from '../adapters/mail-sender';
import { SqsEventQueue, type EventQueue } from './events';
import type { FlowPorts } from './flow-ports';
import { queueAttachmentEmail } from './mail-attachment';
import type { MailDelivery, MailQueue } from './mail-ports';
import { anyAgentOnline } from './presence';
import { acceptMessengerMedia, deliverToMessenger } from './messenger-channel';
import { acceptUploads } from './uploads';
import { createSendAttachment } from './send-attachment';

/** Everything a use case may touch, passed in so tests can wire real or fake adapters. */
export interface Deps {
  config: Config;
  bots: BotRegistry;
  sessions: SessionStore;
  attachments: AttachmentStore;
  files: FileStore;
  /** Upload slots and the per-conversation file reservations. */
  uploads: UploadSlotStore;
  /** Which Live Takeover agents are online (SPEC section 6). */
  presence: PresenceStore;
  /** Messenger's session pointers, seen message ids and delivery cursors. */
  messenger: MessengerStore;
  events: EventQueue;
  /** Attachment email jobs (the `onUserFile` port sends, the mailer consumes). */
  mailQueue: MailQueue;
  /** SES sending and the exactly-once claims, for the mailer. */
  mail: MailDelivery;
  secrets: Secrets;
  tokens: TokenSigner;
  now: () => number;
  newId: () => string;
  /** Channel-specific ports, filled in by the features that provide them. */
  ports: FlowPorts;
}

const unconfiguredQueue: EventQueue = {
  send: async () => {
    throw new Error('EVENTS_QUEUE_URL is not set');
  },
};

const unconfiguredMailQueue: MailQueue = {
  send: async () => {
    throw new Error('MAIL_QUEUE_URL is not set');
  },
};

/** Production wiring from configuration; `overrides` lets the local runtime swap adapters. */
export async function buildDeps(config: Config, overrides: Partial<Deps> = {}): Promise<Deps> {
  const secrets =
    overrides.secrets ??
    (config.SECRETS_SOURCE === 'file' ? StaticSecrets.fromFile(config.SECRETS_FILE) : new SecretsManagerSecrets());
  const tokens = overrides.tokens ?? new TokenSigner(await secrets.get(config.SIGNING_KEY_SECRET));
  // SPEC 1: a missing secret is a start-up error naming it (MissingSecret), not a surprise later.
  const botSecretNames = config.BOT_SECRETS.split(',').filter(Boolean);
  await Promise.all(botSecretNames.map((name) => botSecret(secrets, config.SECRETS_PREFIX, name)));
  const db = dynamoDocumentClient(config);
  const deps: Deps = {
    config,
    bots: overrides.bots ?? BotRegistry.fromDir(config.BOTS_DIR),
    sessions: overrides.sessions ?? new SessionStore(db, config.TABLE_NAME),
    attachments: overrides.attachments ?? new AttachmentStore(db, config.TABLE_NAME),
    files: overrides.files ?? new FileStore(s3Client(config), config.BUCKET_NAME),
    uploads: overrides.uploads ?? new UploadSlotStore(db, config.TABLE_NAME),
    presence: overrides.presence ?? new PresenceStore(db, config.TABLE_NAME),
    messenger: overrides.messenger ?? new MessengerStore(db, config.TABLE_NAME),
    events:
      overrides.events ??
      (config.EVENTS_QUEUE_URL ? new SqsEventQueue(new SQSClient({ region: config.AWS_REGION }), config.EVENTS_QUEUE_URL) : unconfiguredQueue),
    mailQueue:
      overrides.mailQueue ??
      (config.MAIL_QUEUE_URL ? new SqsMailQueue(new SQSClient({ region: config.AWS_REGION }), config.MAIL_QUEUE_URL) : unconfiguredMailQueue),
    mail: overrides.mail ?? { sender: new SesMailSender(sesClient(config)), claims: new DynamoMailClaims(db, config.TABLE_NAME) },
    secrets,
    tokens,
    now: overrides.now ?? Date.now,
    newId: overrides.newId ?? randomUUID,
    ports: overrides.ports ?? {},
  };
  // Ports that need the finished deps; an override (even `undefined`) wins.
  deps.ports = {
    performAction: createSendAttachment(deps),
    acceptChannelMedia: (session, media, mid) => acceptMessengerMedia(deps, session, media, mid),
    // Only Messenger pushes; the web reads its transcript by polling.
    deliver: async (session) => (session.channel === 'messenger' ? deliverToMessenger(deps, session) : undefined),
    acceptUploads: (session, uploadIds, eventId) => acceptUploads(deps, session, uploadIds, eventId),
    agentsOnline: () => anyAgentOnline(deps),
    onUserFile: (session, file) => queueAttachmentEmail(deps, session, file),
    ...deps.ports,
  };
  return deps;
}

/** A handler's deps, built on first use and kept for the container's life. */
export function lazyDeps<T = Deps>(build: () => Promise<T>): () => Promise<T> {
  let deps: Promise<T> | undefined;
  return () => {
    deps ??= build().catch((err: unknown) => {
      deps = undefined;
      throw err;
    });
    return deps;
  };
}
