import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { channelSecretAdvice, channelSecretProblems, loadBotsDir, secretNames } from '../shared/bots/loader';
import { dynamoDocumentClient, endpointCredentials, s3Client, LOCAL_CREDENTIALS } from '../shared/adapters/clients';
import { AttachmentStore } from '../shared/adapters/attachment-store';
import { FileStore } from '../shared/adapters/file-store';
import { SessionStore } from '../shared/adapters/session-store';
import { StaticSecrets } from '../shared/adapters/secrets';
import type { EventQueue, FlowPorts, MailQueue, ScanWatch, Tokens } from '../shared/app/ports';
import { ChannelStore, MessengerStore } from '../shared/adapters/channel-store';
import type { Config } from '../shared/config';
import { createActionsHandler, createNotProcessedNotifier } from '../functions/actions/handler';
import { actionsWiring } from '../functions/actions/wiring';
import { createAgentHandler } from '../functions/agent/handler';
import { agentWiring } from '../functions/agent/wiring';
import { createExpiryHandler } from '../functions/expiry/handler';
import { expiryWiring } from '../functions/expiry/wiring';
import { createIntakeHandler } from '../functions/intake/handler';
import { intakeWiring } from '../functions/intake/wiring';
import { createMailerHandler } from '../functions/mailer/handler';
import { mailerWiring } from '../functions/mailer/wiring';
import { createProxyHandler } from '../functions/proxy/handler';
import { proxyWiring } from '../functions/proxy/wiring';
import { LocalAgentAuth, withLocalAgentToken } from './agent-auth';
import { COGNITO_STAND_IN_PATH, localCognito, withCognitoStandIn, type CognitoStandIn, type DemoAgent } from './cognito-stand-in';
import { DEMO_DOCS_DEFAULT_PORT, DEMO_DOCS_SECRET, startDemoDocs } from './demo-docs';
import { DEMO_SITE_DEFAULT_PORT, startDemoSite } from './demo-site';
import { frameAncestors } from '../shared/bots/origins';
import { ensureBucket, ensureTable, startDynamo, startS3, startSes, type Emulator } from './emulators';
import { startHttpServer, type LambdaHttpHandler } from './http-server';
import { LocalSocketGateway, LOCAL_SOCKET_PATH, type LocalSocketFunctions } from './socket-gateway';
import { createSocketHandler } from '../functions/socket/handler';
import { socketWiring } from '../functions/socket/wiring';
import { createSocketAuthorizerHandler } from '../functions/socket-authorizer/handler';
import { socketAuthorizerWiring } from '../functions/socket-authorizer/wiring';
import { DEFAULT_MAILER_OPTIONS } from '../shared/app/mail-attachment';
import { LOCAL_QUEUE_RETRY, QUEUE_MAX_RECEIVE_COUNT } from '../shared/app/retry-policy';
import { LocalQueue, type LocalQueueOptions } from './local-queue';
import { TtlSweeper } from './ttl-sweeper';
import { UploadSweeper } from './upload-sweeper';
import { createScanVerdictHandler } from '../functions/scan-verdict/handler';
import { scanVerdictWiring } from '../functions/scan-verdict/wiring';
import { clamdAddress, scannerChooser, type ClamdAddress } from './clamd';
import { LocalScanLoop } from './scan-loop';

/** Settings of the local runtime; `fromEnv` reads them as SPEC section 8 names them. */
export interface LocalOptions {
  port: number;
  dataDir: string;
  botsDir: string;
  secretsFile: string;
  senderEmail: string;
  fetchAllowHosts: string;
  messengerApiUrl: string;
  /** Channel API bases (SPEC 8); tests point them at local stand-ins. */
  telegramApiUrl?: string;
  whatsappApiUrl?: string;
  twilioApiUrl?: string;
  /** Origin of absolute links given to channels and emails; default `http://localhost:<PORT>`. */
  publicBaseUrl?: string;
  dynamoPort: number;
  s3Port: number;
  sesPort: number;
  ttlSweepSeconds: number;
  /**
   * Existing servers to use instead of the embedded ones (`DYNAMODB_ENDPOINT`, `S3_ENDPOINT`,
   * `SES_ENDPOINT`): DynamoDB Local, MinIO, a real account. The table and bucket are created
   * there if missing. Credentials come from the usual AWS environment when it has any.
   */
  dynamoEndpoint?: string;
  s3Endpoint?: string;
  sesEndpoint?: string;
  /** Port of the demo document server (started when the demo token secret exists); unset or 0: a random free port. */
  demoDocsPort?: number;
  /** Port of the widget demo site, a second origin embedding a bot's chat (`DEMO_SITE_PORT`); unset or 0: a random free port. */
  demoSitePort?: number;
  /** Keep DynamoDB data in memory instead of under dataDir (tests). */
  inMemoryDynamo?: boolean;
  /** Milliseconds before a failed queue message is first retried; each retry then waits twice as long (default 1 s). */
  retryDelayMs?: number;
  /** The longest wait between retries (`QUEUE_RETRY_MAX_SECONDS`, default 60 s). */
  maxRetryDelayMs?: number;
  /** How long failing work is retried before it is dead-lettered (`QUEUE_RETRY_FOR_SECONDS`, default 15 minutes). */
  retryForMs?: number;
  /**
   * How long an email attempt's claim shields it (`MAIL_CLAIM_LEASE_SECONDS`, default 180 s): after a
   * crash mid-send, a retry takes the email over only once this has passed. Must stay longer than
   * one email can take to send; the fault tests shorten it so a restart resumes within seconds.
   */
  mailClaimLeaseMs?: number;
  /** The clock every handler reads (tests move it forward to reach expiry); default Date.now. */
  now?: () => number;
  /**
   * How the agent console signs in (`AGENT_SIGN_IN`): `cognito` (default for `npm start`) with a
   * user name and password against the local Cognito stand-in and its demo agent; `local`
   * (default here, so tests opt in) by typing a name. `/local/agent-token` works either way.
   */
  agentSignIn?: 'cognito' | 'local';
  /** The stand-in's pool: `AGENT_MFA` optional (default) or required, like `-c agentMfa`. */
  agentMfa?: 'optional' | 'required';
  /** The stand-in's ID and access token lifetime (`COGNITO_TOKEN_SECONDS`, default 3600 as on AWS). */
  cognitoTokenSeconds?: number;
  /** Malware scanning of files users and agents send (`MALWARE_SCAN`, default on; SPEC 13). */
  malwareScan?: 'on' | 'off';
  /** How often the local scanner looks for new files (`SCAN_INTERVAL_MS`, default 500). */
  scanIntervalMs?: number;
  /** A file pending this many minutes raises the overdue alarm (`SCAN_PENDING_ALARM_MINUTES`, default 15). */
  scanPendingAlarmMinutes?: number;
  /** The ClamAV daemon to scan with while it answers (`CLAMD_HOST`/`CLAMD_PORT`, else clamd.conf); none: the built-in scanner. */
  clamd?: ClamdAddress;
}

export const TABLE_NAME = 'satchel';
export const BUCKET_NAME = 'satchel-attachments';
const SIGNING_KEY_SECRET = 'satchel-signing-key';
/**
 * aws-ses-v2-local reads request bodies of at most 25 MiB, and SES requests carry the MIME
 * message in base64; larger messages get a /files link instead of the file, as over 40 MB on AWS.
 */
export const LOCAL_MAX_MESSAGE_BYTES = 18 * 1024 * 1024;

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

/** `PUBLIC_BASE_URL`: an http(s) origin (a tunnel's, say), kept without a trailing slash. */
const publicBaseUrl = (v: string): string => endpoint(v, 'PUBLIC_BASE_URL')!.replace(/\/+$/, '');

const endpoint = (v: string | undefined, name: string): string | undefined => {
  if (v === undefined || v === '') return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new StartupError(`${name} must be a URL such as http://localhost:8000, not "${v}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StartupError(`${name} must be an http or https URL, not "${v}"`);
  return url.href.replace(/\/+$/, '');
};

/** The first of `values` when unset. */
const oneOf = <T extends string>(v: string | undefined, values: readonly T[], name: string): T => {
  if (v === undefined || v === '') return values[0]!;
  if (!(values as readonly string[]).includes(v)) throw new StartupError(`${name} must be one of ${values.join(', ')}, not "${v}"`);
  return v as T;
};

/** A server someone else runs: nothing to close. */
const external = (url: string): Emulator => ({ url, port: Number(new URL(url).port) || (url.startsWith('https:') ? 443 : 80), close: async () => undefined });

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LocalOptions {
  return {
    port: int(env.PORT, 3000, 'PORT'),
    dataDir: resolve(cwd, env.DATA_DIR ?? '.satchel'),
    botsDir: resolve(cwd, env.BOTS_DIR ?? 'bots'),
    secretsFile: resolve(cwd, env.SECRETS_FILE ?? 'secrets.local.json'),
    senderEmail: env.SENDER_EMAIL ?? 'satchel@example.com',
    fetchAllowHosts: env.FETCH_ALLOW_HOSTS ?? '',
    messengerApiUrl: env.MESSENGER_API_URL ?? 'https://graph.facebook.com/v21.0',
    telegramApiUrl: env.TELEGRAM_API_URL ?? 'https://api.telegram.org',
    whatsappApiUrl: env.WHATSAPP_API_URL ?? 'https://graph.facebook.com/v21.0',
    twilioApiUrl: env.TWILIO_API_URL ?? 'https://api.twilio.com',
    ...(env.PUBLIC_BASE_URL && { publicBaseUrl: publicBaseUrl(env.PUBLIC_BASE_URL) }),
    dynamoPort: int(env.DYNAMODB_PORT, 4567, 'DYNAMODB_PORT'),
    s3Port: int(env.S3_PORT, 4568, 'S3_PORT'),
    sesPort: int(env.SES_PORT, 4569, 'SES_PORT'),
    ttlSweepSeconds: int(env.TTL_SWEEP_SECONDS, 5, 'TTL_SWEEP_SECONDS'),
    // At least a second between retries: 0 would retry in a tight loop.
    maxRetryDelayMs: Math.max(1, int(env.QUEUE_RETRY_MAX_SECONDS, LOCAL_QUEUE_RETRY.maxRetryDelayMs / 1000, 'QUEUE_RETRY_MAX_SECONDS')) * 1000,
    retryForMs: int(env.QUEUE_RETRY_FOR_SECONDS, LOCAL_QUEUE_RETRY.retryForMs / 1000, 'QUEUE_RETRY_FOR_SECONDS') * 1000,
    mailClaimLeaseMs: Math.max(1, int(env.MAIL_CLAIM_LEASE_SECONDS, DEFAULT_MAILER_OPTIONS.claimLeaseMs / 1000, 'MAIL_CLAIM_LEASE_SECONDS')) * 1000,
    dynamoEndpoint: endpoint(env.DYNAMODB_ENDPOINT, 'DYNAMODB_ENDPOINT'),
    s3Endpoint: endpoint(env.S3_ENDPOINT, 'S3_ENDPOINT'),
    sesEndpoint: endpoint(env.SES_ENDPOINT, 'SES_ENDPOINT'),
    demoDocsPort: int(env.DEMO_DOCS_PORT, DEMO_DOCS_DEFAULT_PORT, 'DEMO_DOCS_PORT'),
    demoSitePort: int(env.DEMO_SITE_PORT, DEMO_SITE_DEFAULT_PORT, 'DEMO_SITE_PORT'),
    agentSignIn: oneOf(env.AGENT_SIGN_IN, ['cognito', 'local'] as const, 'AGENT_SIGN_IN'),
    agentMfa: oneOf(env.AGENT_MFA, ['optional', 'required'] as const, 'AGENT_MFA'),
    cognitoTokenSeconds: Math.max(60, int(env.COGNITO_TOKEN_SECONDS, 3600, 'COGNITO_TOKEN_SECONDS')),
    malwareScan: oneOf(env.MALWARE_SCAN, ['on', 'off'] as const, 'MALWARE_SCAN'),
    scanIntervalMs: Math.max(50, int(env.SCAN_INTERVAL_MS, 500, 'SCAN_INTERVAL_MS')),
    scanPendingAlarmMinutes: Math.max(1, int(env.SCAN_PENDING_ALARM_MINUTES, 15, 'SCAN_PENDING_ALARM_MINUTES')),
    clamd: clamdAddress(env),
  };
}

/** Stores on the runtime's servers, and the actions function's flow ports, for looking inside (tests, tools). */
export interface LocalInspection {
  sessions: SessionStore;
  attachments: AttachmentStore;
  files: FileStore;
  messenger: MessengerStore;
  channels: ChannelStore;
  secrets: StaticSecrets;
  tokens: Tokens;
  ports: FlowPorts;
}

export interface LocalRuntime {
  urls: { app: string; chat: string; agent: string; mailbox: string; dynamodb: string; s3: string; ses: string; demoDocs?: string; demoSite?: string };
  /** The widget demo site (SPEC 11): which bot it embeds, and whether that bot allows the site's origin. */
  demoSite?: { botId: string; origin: string; allowed: boolean };
  /** Which of the servers are existing ones (from `*_ENDPOINT`) rather than embedded. */
  external: ('dynamodb' | 's3' | 'ses')[];
  config: Config;
  deps: LocalInspection;
  events: LocalQueue;
  /** The mail queue (standard: no order, delays honoured) feeding the mailer. */
  mail: LocalQueue;
  sweeper: TtlSweeper;
  /** Stands in for the bucket's lifecycle rule on upload keys (left-over, unchecked uploads). */
  uploadSweeper: UploadSweeper;
  /** Stands in for GuardDuty Malware Protection for S3 (running unless MALWARE_SCAN=off). */
  scanLoop: LocalScanLoop;
  handlers: Record<string, unknown>;
  /** The WebSocket API on PORT at /socket, with its Management API emulation. */
  sockets: LocalSocketGateway;
  /** The Cognito stand-in and its demo agent, with AGENT_SIGN_IN=cognito. */
  cognito?: { standIn: CognitoStandIn; demoAgent: DemoAgent };
  stop(): Promise<void>;
}

/** The Lambda context of one local invocation: each log line carries its function and request id. */
const invocation = (fn: string): Context =>
  ({ functionName: `satchel-${fn}`, functionVersion: '$LATEST', awsRequestId: randomUUID(), memoryLimitInMB: '0', invokedFunctionArn: `local:${fn}` }) as unknown as Context;

/** The signing key survives restarts so tokens handed out stay valid. */
function signingKey(dataDir: string): string {
  const file = join(dataDir, 'signing-key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** Validates bots and secrets up front so a mistake stops start-up with a clear message. */
function loadSecrets(opts: LocalOptions): StaticSecrets {
  const bots = loadBotsDir(opts.botsDir);
  // The demo bot's secrets ship in the project's secrets.example.json.
  const example = fileURLToPath(new URL('../secrets.example.json', import.meta.url));
  if (!existsSync(opts.secretsFile) && existsSync(example)) {
    copyFileSync(example, opts.secretsFile);
    console.log(`Created ${opts.secretsFile} from secrets.example.json (git-ignored; edit it for your own bots).`);
  }
  const extra = { [SIGNING_KEY_SECRET]: signingKey(opts.dataDir) };
  const load = (fallbacks: Record<string, string>) => {
    try {
      return StaticSecrets.fromFile(opts.secretsFile, { ...fallbacks, ...extra });
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
  };
  const needed = bots.flatMap((bot) => secretNames(bot).map((name) => ({ bot, name })));
  const fromFile = load({});
  // A secrets file made before a demo secret was added: take the demo value, and say so.
  const exampleValues = existsSync(example) ? StaticSecrets.fromFile(example) : new StaticSecrets({});
  const fallbacks: Record<string, string> = {};
  for (const { name } of needed) {
    if (!fromFile.has(name) && exampleValues.has(name) && !(name in fallbacks)) {
      fallbacks[name] = exampleValues.value(name);
      console.log(`Secret "${name}" is not in ${opts.secretsFile}; using the demo value from secrets.example.json.`);
    }
  }
  const secrets = Object.keys(fallbacks).length ? load(fallbacks) : fromFile;
  for (const { bot, name } of needed) {
    if (!secrets.has(name)) throw new StartupError(`Bot "${bot.id}" needs secret "${name}", which is not in ${opts.secretsFile}`);
  }
  const problems = bots.flatMap((bot) => channelSecretProblems(bot, (name) => secrets.value(name)));
  if (problems.length) throw new StartupError(problems.join('\n'));
  for (const advice of bots.flatMap((bot) => channelSecretAdvice(bot, (name) => secrets.value(name)))) console.warn(`Warning: ${advice}`);
  return secrets;
}

export async function startLocal(opts: LocalOptions): Promise<LocalRuntime> {
  mkdirSync(opts.dataDir, { recursive: true });
  const secrets = loadSecrets(opts);
  const started: Emulator[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const dynamo = opts.dynamoEndpoint
      ? external(opts.dynamoEndpoint)
      : await startDynamo(opts.dynamoPort, opts.inMemoryDynamo ? undefined : join(opts.dataDir, 'dynamodb'));
    started.push(dynamo);
    const s3 = opts.s3Endpoint ? external(opts.s3Endpoint) : await startS3(opts.s3Port, join(opts.dataDir, 's3'));
    started.push(s3);
    const ses = opts.sesEndpoint ? external(opts.sesEndpoint) : await startSes(opts.sesPort);
    started.push(ses);
    // The demo bot's document endpoint: loopback, so it must be allowlisted for the fetcher.
    const demoDocs = secrets.has(DEMO_DOCS_SECRET) ? await startDemoDocs(opts.demoDocsPort ?? 0, await secrets.get(DEMO_DOCS_SECRET)) : undefined;
    if (demoDocs) stops.push(demoDocs.close);

    // The HTTP port is needed in the config (absolute links), so bind it first.
    const handlers: Partial<Record<'intake' | 'proxy' | 'agent', LambdaHttpHandler>> = {};
    // Stands in for Cognito and API Gateway's JWT authorizer on the /agent routes.
    const agentAuth = await LocalAgentAuth.load(opts.dataDir);
    // With AGENT_SIGN_IN=cognito, the console signs in as on AWS, against a local stand-in of the user pool.
    const cognito = opts.agentSignIn === 'cognito' ? localCognito({ dataDir: opts.dataDir, auth: agentAuth, mfa: opts.agentMfa ?? 'optional', tokenSeconds: opts.cognitoTokenSeconds }) : undefined;
    // The WebSocket API and its Management API on the same port (SPEC 8, 10).
    const sockets = new LocalSocketGateway();
    // A tunnel (PUBLIC_BASE_URL on another host) may reach the channel webhooks and file links.
    const publicHost = opts.publicBaseUrl ? new URL(opts.publicBaseUrl).host.toLowerCase() : undefined;
    const http = await startHttpServer({ port: opts.port, handlers, authorizeJwt: agentAuth.verify, sockets, ...(publicHost && { publicHost }) });
    stops.push(http.close);
    const appUrl = `http://localhost:${http.port}`;
    // A second origin embedding the chat with the widget: the demo bot, else the first web bot.
    const webBots = loadBotsDir(opts.botsDir).filter((b) => b.channels.web);
    const siteBot = webBots.find((b) => b.id === 'demo') ?? webBots[0];
    const site = siteBot ? await startDemoSite(opts.demoSitePort ?? 0, () => ({ appUrl, botId: siteBot.id })) : undefined;
    if (site) stops.push(site.close);

    const config: Config = {
      TABLE_NAME,
      BUCKET_NAME,
      BOTS_DIR: opts.botsDir,
      PUBLIC_BASE_URL: opts.publicBaseUrl ?? appUrl,
      SECRETS_SOURCE: 'file',
      SECRETS_FILE: opts.secretsFile,
      SECRETS_PREFIX: '',
      SIGNING_KEY_SECRET,
      // Every bot secret was checked above, before any server started.
      BOT_SECRETS: '',
      SENDER_EMAIL: opts.senderEmail,
      FETCH_ALLOW_HOSTS: [opts.fetchAllowHosts, demoDocs?.hostPort].filter(Boolean).join(','),
      MESSENGER_API_URL: opts.messengerApiUrl,
      TELEGRAM_API_URL: opts.telegramApiUrl ?? 'https://api.telegram.org',
      WHATSAPP_API_URL: opts.whatsappApiUrl ?? 'https://graph.facebook.com/v21.0',
      TWILIO_API_URL: opts.twilioApiUrl ?? 'https://api.twilio.com',
      DYNAMODB_ENDPOINT: dynamo.url,
      S3_ENDPOINT: s3.url,
      SES_ENDPOINT: ses.url,
      AGENT_SIGN_IN: cognito ? 'cognito' : 'local',
      ...(cognito && { COGNITO_CLIENT_ID: cognito.standIn.clientId, COGNITO_ENDPOINT: COGNITO_STAND_IN_PATH }),
      SOCKET_URL: `ws://{host}${LOCAL_SOCKET_PATH}`,
      SOCKET_ENDPOINT: `http://127.0.0.1:${http.port}`,
      AWS_REGION: 'us-east-1',
      MALWARE_SCAN: opts.malwareScan ?? 'on',
    };
    const ddb = new DynamoDBClient({ region: config.AWS_REGION, endpoint: dynamo.url, ...endpointCredentials(LOCAL_CREDENTIALS) });
    await ensureTable(ddb, TABLE_NAME);
    await ensureBucket(s3Client(config), BUCKET_NAME);

    // Both queues retry as SQS would (backoff up to a minute, for at least 15 minutes, at least
    // as many receives as the stack's maxReceiveCount), keep their messages and dead letters on
    // disk, and answer `npm run redrive`.
    const localQueue = (name: string, fifo: boolean, handler: LocalQueueOptions['handler'], onDeadLetter?: LocalQueueOptions['onDeadLetter']) => {
      const queue = new LocalQueue({
        name,
        fifo,
        maxReceiveCount: QUEUE_MAX_RECEIVE_COUNT,
        retryDelayMs: opts.retryDelayMs ?? LOCAL_QUEUE_RETRY.firstRetryDelayMs,
        maxRetryDelayMs: opts.maxRetryDelayMs ?? LOCAL_QUEUE_RETRY.maxRetryDelayMs,
        retryForMs: opts.retryForMs ?? LOCAL_QUEUE_RETRY.retryForMs,
        handler,
        onDeadLetter: (body, error, record) => {
          console.error(`${name}: message moved to the dead-letter list (${error}); \`npm run redrive\` sends it back`);
          onDeadLetter?.(body, error, record);
        },
        persistFile: join(opts.dataDir, 'queues', `${name}.json`),
      });
      stops.push(() => queue.close());
      return queue;
    };
    // Each function is built by its own composition root from the same settings it gets on
    // AWS; only the queues (local ones), the secrets (the checked file) and the clock differ.
    const env = config as unknown as Record<string, string | undefined>;
    const clock = opts.now && { now: opts.now };
    let eventQueue: EventQueue | undefined;
    let mailQueue: MailQueue | undefined;
    // The per-file scan-overdue check (SPEC 13) is the scan loop's own here (LocalScanLoop alarms
    // each file pending past SCAN_PENDING_ALARM_MINUTES), so the functions' watch port is a no-op:
    // a local watch queue would raise the same alarm twice for one file.
    const scanWatch: ScanWatch = { schedule: async () => undefined };
    const actionsPorts = actionsWiring(env, { secrets, mailQueue: { send: (job, delay) => mailQueue!.send(job, delay) }, scanWatch, ...clock });
    const actions = createActionsHandler(actionsPorts);
    // A flow event that exhausted its retries: its user is told (a message_not_processed warning).
    const notifyNotProcessed = createNotProcessedNotifier(actionsPorts);
    const events = localQueue('satchel-events.fifo', true, (e) => actions(e, invocation('actions')), (_body, _error, record) => void notifyNotProcessed(record));
    eventQueue = { send: async (event, dedupId) => events.send(JSON.stringify(event), { group: event.sessionId, dedupId }) };
    const mailer = createMailerHandler(mailerWiring(env, { secrets, ...clock }), {
      maxMessageBytes: LOCAL_MAX_MESSAGE_BYTES,
      ...(opts.mailClaimLeaseMs !== undefined && { claimLeaseMs: opts.mailClaimLeaseMs }),
    });
    const mail = localQueue('satchel-mail', false, (e) => mailer(e, invocation('mailer')));
    mailQueue = { send: async (job, delaySeconds) => mail.send(JSON.stringify(job), { delaySeconds }) };
    // Cold starts now, as on AWS: a missing secret stops start-up here, naming it.
    const world = await actionsPorts();
    // Messages kept from the last run (a held email, a turn awaiting retry) go out now.
    events.start();
    mail.start();

    handlers.intake = createIntakeHandler(intakeWiring(env, { secrets, events: eventQueue, ...clock })) as LambdaHttpHandler;
    handlers.proxy = createProxyHandler(proxyWiring(env, { secrets, ...clock })) as LambdaHttpHandler;
    handlers.agent = withLocalAgentToken(createAgentHandler(agentWiring(env, { secrets, scanWatch, ...clock })) as LambdaHttpHandler, agentAuth);
    if (cognito) handlers.agent = withCognitoStandIn(handlers.agent, cognito.standIn);
    sockets.attach({
      // Agents' tokens are the local stand-in for Cognito's, checked as the HTTP routes check them.
      authorizer: createSocketAuthorizerHandler(socketAuthorizerWiring(env, { secrets, verifyAgentToken: agentAuth.verify })) as unknown as LocalSocketFunctions['authorizer'],
      routes: createSocketHandler(socketWiring(env, { ...clock })) as unknown as LocalSocketFunctions['routes'],
    });
    const expiry = createExpiryHandler(expiryWiring(env));
    const db = dynamoDocumentClient(config);
    const deps: LocalInspection = {
      sessions: new SessionStore(db, TABLE_NAME),
      attachments: new AttachmentStore(db, TABLE_NAME),
      files: new FileStore(s3Client(config), BUCKET_NAME),
      messenger: new MessengerStore(db, TABLE_NAME),
      channels: new ChannelStore(db, TABLE_NAME),
      secrets,
      tokens: world.tokens,
      ports: world.ports,
    };
    const sweeper = new TtlSweeper(ddb, TABLE_NAME, (e) => expiry(e, invocation('expiry')), opts.ttlSweepSeconds * 1000);
    if (opts.ttlSweepSeconds > 0) sweeper.start();
    stops.push(() => sweeper.stop());
    const uploadSweeper = new UploadSweeper(s3Client(config), BUCKET_NAME, 60_000);
    if (opts.ttlSweepSeconds > 0) uploadSweeper.start();
    stops.push(() => uploadSweeper.stop());
    // The local stand-in for GuardDuty Malware Protection for S3: the same event to the same verdict handler (SPEC 13).
    const scanVerdict = createScanVerdictHandler(scanVerdictWiring(env, { secrets, events: eventQueue, mailQueue: { send: (job, delay) => mailQueue!.send(job, delay) }, scanWatch, ...clock }));
    const scanLoop = new LocalScanLoop({
      s3: s3Client(config),
      bucket: BUCKET_NAME,
      scanner: scannerChooser(opts.clamd),
      deliver: (event) => scanVerdict(event, invocation('scan-verdict')),
      intervalMs: opts.scanIntervalMs ?? 500,
      alarmAfterMs: (opts.scanPendingAlarmMinutes ?? 15) * 60_000,
    });
    if (config.MALWARE_SCAN === 'on') scanLoop.start();
    stops.push(() => scanLoop.stop());

    return {
      urls: {
        app: appUrl,
        chat: `${appUrl}/`,
        agent: `${appUrl}/agent`,
        mailbox: `${ses.url}/`,
        dynamodb: dynamo.url,
        s3: s3.url,
        ses: ses.url,
        ...(demoDocs && { demoDocs: demoDocs.url }),
        ...(site && { demoSite: site.url }),
      },
      ...(site && siteBot && { demoSite: { botId: siteBot.id, origin: site.origin, allowed: frameAncestors(siteBot).includes(site.origin) } }),
      external: [opts.dynamoEndpoint && 'dynamodb', opts.s3Endpoint && 's3', opts.sesEndpoint && 'ses'].filter(
        (x): x is 'dynamodb' | 's3' | 'ses' => typeof x === 'string',
      ),
      config,
      deps,
      events,
      mail,
      sweeper,
      uploadSweeper,
      scanLoop,
      handlers: { ...handlers, actions, mailer, expiry, scanVerdict },
      sockets,
      ...(cognito && { cognito }),
      stop: async () => {
        for (const stop of stops.reverse()) await stop();
        for (const e of started.reverse()) await e.close();
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    for (const e of started.reverse()) await e.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError(`A port is already in use (${(err as Error).message}); set PORT, DYNAMODB_PORT, S3_PORT, SES_PORT, DEMO_DOCS_PORT or DEMO_SITE_PORT`);
    }
    throw err;
  }
}
