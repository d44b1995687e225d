import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AttachmentStore } from '../../shared/adapters/attachment-store';
import { dynamoDocumentClient, LOCAL_CREDENTIALS, s3Client } from '../../shared/adapters/clients';
import { FileStore } from '../../shared/adapters/file-store';
import { PresenceStore } from '../../shared/adapters/presence-store';
import { StaticSecrets } from '../../shared/adapters/secrets';
import { S3StreamUploader } from '../../shared/adapters/stream-uploader';
import { SocketConnectionStore } from '../../shared/adapters/socket-connections';
import { SessionStore } from '../../shared/adapters/session-store';
import { UploadSlotStore } from '../../shared/adapters/upload-slot-store';
import { BotRegistry } from '../../shared/bots/loader';
import { BotSchema, type Bot, type BotInput } from '../../shared/bots/schema';
import { newSession, type Session } from '../../shared/domain/session';
import type { EventQueue, FlowEvent, MailJob, MailQueue, Ports } from '../../shared/app/ports';
import { ChannelStore } from '../../shared/adapters/channel-store';
import type { Config } from '../../shared/config';
import type { PageSettings } from '../../shared/http/pages';
import { actionsWiring } from '../../functions/actions/wiring';
import { agentWiring } from '../../functions/agent/wiring';
import { expiryWiring } from '../../functions/expiry/wiring';
import { intakeWiring } from '../../functions/intake/wiring';
import { mailerWiring } from '../../functions/mailer/wiring';
import { proxyWiring } from '../../functions/proxy/wiring';
import { ensureBucket, ensureTable, startDynamo, startS3, startSes, type Emulator } from '../../local/emulators';

/**
 * Real local servers for integration tests: one dynalite, one s3rver and one SES server per
 * test file, on random free ports; each `freshDeps` call gets its own table and bucket so
 * tests never see each other's data.
 */
export interface TestEmulators {
  dynamo: Emulator;
  s3: Emulator;
  ses: Emulator;
  dir: string;
  close(): Promise<void>;
}

export async function startTestEmulators(opts: { ses?: boolean } = {}): Promise<TestEmulators> {
  const dir = mkdtempSync(join(tmpdir(), 'satchel-test-'));
  const dynamo = await startDynamo(0);
  const s3 = await startS3(0, join(dir, 's3'));
  const ses = opts.ses ? await startSes(0) : { url: 'http://127.0.0.1:9', port: 9, close: async () => undefined };
  return {
    dynamo,
    s3,
    ses,
    dir,
    close: async () => {
      await Promise.all([dynamo.close(), s3.close(), ses.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A queue that records what was sent, for tests that drive the handlers step by step. */
export class RecordingQueue implements EventQueue {
  readonly sent: { event: FlowEvent; dedupId: string }[] = [];
  async send(event: FlowEvent, dedupId: string): Promise<void> {
    this.sent.push({ event, dedupId });
  }
  /** Hands recorded events to `run` in order and forgets them. */
  async drainInto(run: (event: FlowEvent & { eventId: string }) => Promise<void>): Promise<void> {
    while (this.sent.length) {
      const { event, dedupId } = this.sent.shift()!;
      await run({ ...event, eventId: dedupId });
    }
  }
}

/** A mail queue that records jobs (with their delay) instead of running the mailer. */
export class RecordingMailQueue implements MailQueue {
  readonly sent: { job: MailJob; delaySeconds: number }[] = [];
  async send(job: MailJob, delaySeconds: number): Promise<void> {
    this.sent.push({ job, delaySeconds });
  }
}

export const testBot = (input: Partial<BotInput> & Pick<BotInput, 'interactions' | 'start'>): Bot =>
  BotSchema.parse({ id: 'test-bot', name: 'Test bot', ...input });

export const SIGNING_KEY = 'test-signing-key-0123456789abcdef';

/** The concrete stores tests look into, and every port some function uses. */
export type Deps = Omit<Ports, 'sessions' | 'attachments' | 'files' | 'uploads' | 'presence' | 'channelRecords'> & {
  sessions: SessionStore;
  attachments: AttachmentStore;
  files: FileStore;
  uploads: UploadSlotStore;
  presence: PresenceStore;
  channelRecords: ChannelStore;
  pages: PageSettings;
};

/**
 * Every function's composition root wired to the emulators with a fresh table and bucket,
 * sharing one set of stores, merged into one object: what any handler or use case takes.
 * `overrides` replace stores or ports in every function; `ports` (the flow ports) are the
 * actions function's object, so a test that swaps one changes what turns use.
 */
export async function freshDeps(
  emu: TestEmulators,
  opts: {
    bots: Bot[];
    secrets?: Record<string, string>;
    config?: Partial<Config>;
    overrides?: Partial<Deps>;
    /** Push over WebSockets: real connection records in the table, frames recorded in `posted` instead of sent. */
    liveSockets?: boolean;
  },
): Promise<Deps & { queue: RecordingQueue; mailJobs: RecordingMailQueue; posted: { connectionId: string; frame: unknown }[] }> {
  const suffix = randomUUID().slice(0, 8);
  const config: Config = {
    TABLE_NAME: `t-${suffix}`,
    BUCKET_NAME: `b-${suffix}`,
    BOTS_DIR: '/nonexistent',
    PUBLIC_BASE_URL: 'http://localhost:3000',
    SECRETS_SOURCE: 'file',
    SECRETS_PREFIX: '',
    SIGNING_KEY_SECRET: 'signing',
    BOT_SECRETS: '',
    SENDER_EMAIL: 'satchel@example.com',
    FETCH_ALLOW_HOSTS: '',
    MESSENGER_API_URL: 'http://127.0.0.1:9/graph',
    TELEGRAM_API_URL: 'http://127.0.0.1:9/telegram',
    WHATSAPP_API_URL: 'http://127.0.0.1:9/whatsapp',
    TWILIO_API_URL: 'http://127.0.0.1:9/twilio',
    DYNAMODB_ENDPOINT: emu.dynamo.url,
    S3_ENDPOINT: emu.s3.url,
    SES_ENDPOINT: emu.ses.url,
    AWS_REGION: 'us-east-1',
    ...opts.config,
  };
  await ensureTable(new DynamoDBClient({ region: 'us-east-1', endpoint: emu.dynamo.url, credentials: LOCAL_CREDENTIALS }), config.TABLE_NAME);
  await ensureBucket(s3Client(config), config.BUCKET_NAME);
  const queue = new RecordingQueue();
  // Email jobs are recorded unless a test wires a mail queue of its own.
  const mailJobs = new RecordingMailQueue();
  const db = dynamoDocumentClient(config);
  const s3 = s3Client(config);
  const { ports: flowPorts, ...overrides } = opts.overrides ?? {};
  const shared = {
    bots: new BotRegistry(opts.bots),
    sessions: new SessionStore(db, config.TABLE_NAME),
    attachments: new AttachmentStore(db, config.TABLE_NAME),
    files: new FileStore(s3, config.BUCKET_NAME),
    // One S3 client for files and streaming uploads, so a test can watch every S3 command.
    uploader: new S3StreamUploader(s3, config.BUCKET_NAME),
    uploads: new UploadSlotStore(db, config.TABLE_NAME),
    presence: new PresenceStore(db, config.TABLE_NAME),
    channelRecords: new ChannelStore(db, config.TABLE_NAME),
    events: queue,
    mailQueue: mailJobs,
    ...overrides,
  };
  const env = config as unknown as Record<string, string | undefined>;
  const secrets = new StaticSecrets({ signing: SIGNING_KEY, ...opts.secrets });
  const posted: { connectionId: string; frame: unknown }[] = [];
  const live = opts.liveSockets
    ? {
        sockets: new SocketConnectionStore(db, config.TABLE_NAME),
        socketPoster: { post: async (connectionId: string, frame: unknown) => (posted.push({ connectionId, frame }), 'sent' as const) },
      }
    : undefined;
  const withPorts = { ...shared, ...(flowPorts && { ports: flowPorts }), secrets, ...(live && { live }) };
  const [proxy, expiry, mailer, intake, agent, actions] = await Promise.all([
    proxyWiring(env, withPorts)(),
    expiryWiring(env, withPorts)(),
    mailerWiring(env, withPorts)(),
    intakeWiring(env, withPorts)(),
    agentWiring(env, withPorts)(),
    actionsWiring(env, withPorts)(),
  ]);
  const deps = { ...proxy, ...expiry, ...mailer, ...intake, ...agent, ...actions, ...shared } as Deps;
  return Object.assign(deps, { queue, mailJobs, posted, ...(live && { sockets: live.sockets }) });
}

/** A live Messenger session of `bot`, stored: what a first message from a new user makes. */
export async function newUserSession(deps: Deps, bot: Bot): Promise<Session> {
  const id = deps.newId();
  const session = newSession({ id, bot, channel: 'messenger', userId: `psid-${id}`, now: deps.now() });
  await deps.sessions.create(session);
  return session;
}
