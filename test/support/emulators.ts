import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, s3Client } from '../../shared/adapters/clients';
import { StaticSecrets } from '../../shared/adapters/secrets';
import { BotRegistry } from '../../shared/bots/loader';
import { BotSchema, type Bot, type BotInput } from '../../shared/bots/schema';
import { buildDeps, type Deps } from '../../shared/app/deps';
import type { EventQueue, FlowEvent } from '../../shared/app/events';
import type { MailJob, MailQueue } from '../../shared/app/mail-ports';
import type { Config } from '../../shared/config';
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

/** Deps wired to the emulators with a fresh table and bucket. */
export async function freshDeps(
  emu: TestEmulators,
  opts: { bots: Bot[]; secrets?: Record<string, string>; config?: Partial<Config>; overrides?: Partial<Deps> },
): Promise<Deps & { queue: RecordingQueue; mailJobs: RecordingMailQueue }> {
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
  const deps = await buildDeps(config, {
    mailQueue: mailJobs,
    bots: new BotRegistry(opts.bots),
    secrets: new StaticSecrets({ signing: SIGNING_KEY, ...opts.secrets }),
    events: queue,
    ...opts.overrides,
  });
  return Object.assign(deps, { queue, mailJobs });
}
