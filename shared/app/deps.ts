import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BotRegistry } from '../bots/loader';
import type { Config } from '../config';
import { TokenSigner } from '../domain/tokens';
import { dynamoDocumentClient, s3Client } from '../adapters/clients';
import { AttachmentStore } from '../adapters/attachment-store';
import { FileStore } from '../adapters/file-store';
import { SecretsManagerSecrets, StaticSecrets, type Secrets } from '../adapters/secrets';
import { SessionStore } from '../adapters/session-store';
import { SqsEventQueue, type EventQueue } from './events';
import type { FlowPorts } from './flow-ports';

/** Everything a use case may touch, passed in so tests can wire real or fake adapters. */
export interface Deps {
  config: Config;
  bots: BotRegistry;
  sessions: SessionStore;
  attachments: AttachmentStore;
  files: FileStore;
  events: EventQueue;
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

/** Production wiring from configuration; `overrides` lets the local runtime swap adapters. */
export async function buildDeps(config: Config, overrides: Partial<Deps> = {}): Promise<Deps> {
  const secrets =
    overrides.secrets ??
    (config.SECRETS_SOURCE === 'file' ? StaticSecrets.fromFile(config.SECRETS_FILE) : new SecretsManagerSecrets());
  const tokens = overrides.tokens ?? new TokenSigner(await secrets.get(config.SIGNING_KEY_SECRET));
  const db = dynamoDocumentClient(config);
  return {
    config,
    bots: overrides.bots ?? BotRegistry.fromDir(config.BOTS_DIR),
    sessions: overrides.sessions ?? new SessionStore(db, config.TABLE_NAME),
    attachments: overrides.attachments ?? new AttachmentStore(db, config.TABLE_NAME),
    files: overrides.files ?? new FileStore(s3Client(config), config.BUCKET_NAME),
    events:
      overrides.events ??
      (config.EVENTS_QUEUE_URL ? new SqsEventQueue(new SQSClient({ region: config.AWS_REGION }), config.EVENTS_QUEUE_URL) : unconfiguredQueue),
    secrets,
    tokens,
    now: overrides.now ?? Date.now,
    newId: overrides.newId ?? randomUUID,
    ports: overrides.ports ?? {},
  };
}

/** A handler's deps, built on first use and kept for the container's life. */
export function lazyDeps(build: () => Promise<Deps>): () => Promise<Deps> {
  let deps: Promise<Deps> | undefined;
  return () => {
    deps ??= build().catch((err: unknown) => {
      deps = undefined;
      throw err;
    });
    return deps;
  };
}
