import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadBotsDir, secretNames } from '../shared/bots/loader';
import { s3Client, LOCAL_CREDENTIALS } from '../shared/adapters/clients';
import { StaticSecrets } from '../shared/adapters/secrets';
import { buildDeps, type Deps } from '../shared/app/deps';
import type { EventQueue } from '../shared/app/events';
import type { Config } from '../shared/config';
import { createActionsHandler } from '../functions/actions';
import { createExpiryHandler } from '../functions/expiry';
import { createIntakeHandler } from '../functions/intake';
import { ensureBucket, ensureTable, startDynamo, startS3, startSes, type Emulator } from './emulators';
import { startHttpServer, type LambdaHttpHandler } from './http-server';
import { LocalQueue } from './local-queue';
import { TtlSweeper } from './ttl-sweeper';

/** Settings of the local runtime; `fromEnv` reads them as SPEC section 8 names them. */
export interface LocalOptions {
  port: number;
  dataDir: string;
  botsDir: string;
  secretsFile: string;
  senderEmail: string;
  fetchAllowHosts: string;
  messengerApiUrl: string;
  dynamoPort: number;
  s3Port: number;
  sesPort: number;
  ttlSweepSeconds: number;
  /** Keep DynamoDB data in memory instead of under dataDir (tests). */
  inMemoryDynamo?: boolean;
  /** Milliseconds before a failed queue message is retried. */
  retryDelayMs?: number;
}

export const TABLE_NAME = 'satchel';
export const BUCKET_NAME = 'satchel-attachments';
const SIGNING_KEY_SECRET = 'satchel-signing-key';

/** A problem the user must fix before the runtime can start; printed without a stack trace. */
export class StartupError extends Error {
  override name = 'StartupError';
}

const int = (v: string | undefined, fallback: number, name: string): number => {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new StartupError(`${name} must be a whole number, not "${v}"`);
  return n;
};

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LocalOptions {
  return {
    port: int(env.PORT, 3000, 'PORT'),
    dataDir: resolve(cwd, env.DATA_DIR ?? '.satchel'),
    botsDir: resolve(cwd, env.BOTS_DIR ?? 'bots'),
    secretsFile: resolve(cwd, env.SECRETS_FILE ?? 'secrets.local.json'),
    senderEmail: env.SENDER_EMAIL ?? 'satchel@example.com',
    fetchAllowHosts: env.FETCH_ALLOW_HOSTS ?? '',
    messengerApiUrl: env.MESSENGER_API_URL ?? 'https://graph.facebook.com/v21.0',
    dynamoPort: int(env.DYNAMODB_PORT, 4567, 'DYNAMODB_PORT'),
    s3Port: int(env.S3_PORT, 4568, 'S3_PORT'),
    sesPort: int(env.SES_PORT, 4569, 'SES_PORT'),
    ttlSweepSeconds: int(env.TTL_SWEEP_SECONDS, 5, 'TTL_SWEEP_SECONDS'),
  };
}

export interface LocalRuntime {
  urls: { app: string; chat: string; agent: string; mailbox: string; dynamodb: string; s3: string; ses: string };
  config: Config;
  deps: Deps;
  events: LocalQueue;
  sweeper: TtlSweeper;
  handlers: Record<string, unknown>;
  stop(): Promise<void>;
}

/** The signing key survives restarts so tokens handed out stay valid. */
function signingKey(dataDir: string): string {
  const file = join(dataDir, 'signing-key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** Validates bots and secrets up front so a mistake stops start-up with a clear message. */
function loadSecrets(opts: LocalOptions): StaticSecrets {
  const bots = loadBotsDir(opts.botsDir);
  const example = resolve(opts.secretsFile, '..', 'secrets.example.json');
  if (!existsSync(opts.secretsFile) && existsSync(example)) {
    copyFileSync(example, opts.secretsFile);
    console.log(`Created ${opts.secretsFile} from secrets.example.json (git-ignored; edit it for your own bots).`);
  }
  let secrets: StaticSecrets;
  try {
    secrets = StaticSecrets.fromFile(opts.secretsFile, { [SIGNING_KEY_SECRET]: signingKey(opts.dataDir) });
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
  for (const bot of bots) {
    for (const name of secretNames(bot)) {
      if (!secrets.has(name)) throw new StartupError(`Bot "${bot.id}" needs secret "${name}", which is not in ${opts.secretsFile}`);
    }
  }
  return secrets;
}

export async function startLocal(opts: LocalOptions): Promise<LocalRuntime> {
  mkdirSync(opts.dataDir, { recursive: true });
  const secrets = loadSecrets(opts);
  const started: Emulator[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const dynamo = await startDynamo(opts.dynamoPort, opts.inMemoryDynamo ? undefined : join(opts.dataDir, 'dynamodb'));
    started.push(dynamo);
    const s3 = await startS3(opts.s3Port, join(opts.dataDir, 's3'));
    started.push(s3);
    const ses = await startSes(opts.sesPort);
    started.push(ses);

    // The HTTP port is needed in the config (absolute links), so bind it first.
    const handlers: Partial<Record<'intake' | 'proxy' | 'agent', LambdaHttpHandler>> = {};
    const http = await startHttpServer({ port: opts.port, handlers });
    stops.push(http.close);
    const appUrl = `http://localhost:${http.port}`;

    const config: Config = {
      TABLE_NAME,
      BUCKET_NAME,
      BOTS_DIR: opts.botsDir,
      PUBLIC_BASE_URL: appUrl,
      SECRETS_SOURCE: 'file',
      SECRETS_FILE: opts.secretsFile,
      SECRETS_PREFIX: '',
      SIGNING_KEY_SECRET,
      SENDER_EMAIL: opts.senderEmail,
      FETCH_ALLOW_HOSTS: opts.fetchAllowHosts,
      MESSENGER_API_URL: opts.messengerApiUrl,
      DYNAMODB_ENDPOINT: dynamo.url,
      S3_ENDPOINT: s3.url,
      SES_ENDPOINT: ses.url,
      AWS_REGION: 'us-east-1',
    };
    const ddb = new DynamoDBClient({ region: config.AWS_REGION, endpoint: dynamo.url, credentials: LOCAL_CREDENTIALS });
    await ensureTable(ddb, TABLE_NAME);
    await ensureBucket(s3Client(config), BUCKET_NAME);

    let deps!: Deps;
    const depsReady = () => Promise.resolve(deps);
    const actions = createActionsHandler(depsReady);
    const events = new LocalQueue({
      name: 'satchel-events.fifo',
      fifo: true,
      maxReceiveCount: 5,
      retryDelayMs: opts.retryDelayMs ?? 2000,
      handler: (e) => actions(e),
      onDeadLetter: (_body, error) => console.error(`satchel-events: message moved to the dead-letter list (${error})`),
    });
    stops.push(() => events.close());
    const eventQueue: EventQueue = {
      send: async (event, dedupId) => events.send(JSON.stringify(event), { group: event.sessionId, dedupId }),
    };
    deps = await buildDeps(config, { secrets, events: eventQueue });

    handlers.intake = createIntakeHandler(depsReady) as LambdaHttpHandler;
    const expiry = createExpiryHandler(depsReady);
    const sweeper = new TtlSweeper(ddb, TABLE_NAME, (e) => expiry(e), opts.ttlSweepSeconds * 1000);
    if (opts.ttlSweepSeconds > 0) sweeper.start();
    stops.push(() => sweeper.stop());

    return {
      urls: {
        app: appUrl,
        chat: `${appUrl}/`,
        agent: `${appUrl}/agent`,
        mailbox: `${ses.url}/`,
        dynamodb: dynamo.url,
        s3: s3.url,
        ses: ses.url,
      },
      config,
      deps,
      events,
      sweeper,
      handlers: { ...handlers, actions, expiry },
      stop: async () => {
        for (const stop of stops.reverse()) await stop();
        for (const e of started.reverse()) await e.close();
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    for (const e of started.reverse()) await e.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError(`A port is already in use (${(err as Error).message}); set PORT, DYNAMODB_PORT, S3_PORT or SES_PORT`);
    }
    throw err;
  }
}
