import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { FilterCriteria, FilterRule } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ATTACHMENT_SK_PREFIX, META as SESSION_META_SK } from '../shared/adapters/table-layout';
import type { ConfigKey } from '../shared/config';
import { defaultRouteFn, routes } from '../shared/http/routes';
import { FUNCTION_CONFIG } from '../functions/config-keys';
import { type BotBundle, loadBotBundle } from './bots';
import { SatchelApi } from './constructs/api';
import { AgentAuth } from './constructs/auth';
import { SenderIdentity } from './constructs/mail';
import { Monitoring } from './constructs/monitoring';
import { FailureQueue, WorkQueue } from './constructs/queues';
import { SatchelFunction, type SatchelFunctionProps, SECRETS_PREFIX } from './constructs/satchel-function';
import { Storage } from './constructs/storage';
import { SatchelWebSocket } from './constructs/websocket';
import { readSettings } from './settings';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface SatchelStackProps extends StackProps {
  /** Directory of bot JSON files validated and bundled at synth. Default: `bots/` in the repo. */
  readonly botsDir?: string;
}

/** Sized for the work each function does; queue visibility timeouts derive from these. */
const FUNCTION_SIZES = {
  intake: { memorySize: 512, timeout: Duration.seconds(10) },
  // Streams files of up to 100 MB from bot endpoints into S3.
  actions: { memorySize: 1024, timeout: Duration.seconds(60) },
  proxy: { memorySize: 256, timeout: Duration.seconds(5) },
  agent: { memorySize: 512, timeout: Duration.seconds(10) },
  // Builds MIME messages of up to 40 MB (SES v2 limit) with the file attached.
  mailer: { memorySize: 1024, timeout: Duration.seconds(120) },
  expiry: { memorySize: 512, timeout: Duration.seconds(120) },
  // WebSocket routes and the $connect authorizer: one small read or write, or a token check.
  socket: { memorySize: 256, timeout: Duration.seconds(5) },
  'socket-authorizer': { memorySize: 256, timeout: Duration.seconds(5) },
} as const;

/** AWS recommends an SQS visibility timeout of at least 6x the consuming function's timeout. */
const visibilityFor = (timeout: Duration) => Duration.seconds(timeout.toSeconds() * 6);

export type SatchelFunctionName = keyof typeof FUNCTION_SIZES;

/**
 * Satchel on AWS (SPEC section 9): the HTTP API in front of intake/proxy/agent, a FIFO
 * queue from intake to actions (ordered per session), a mail queue to the SES mailer,
 * DynamoDB with TTL whose stream drives expiry, the attachments bucket, and Cognito for agents.
 */
export class SatchelStack extends Stack {
  readonly functions: Record<SatchelFunctionName, SatchelFunction>;
  readonly storage: Storage;
  readonly api: SatchelApi;
  readonly auth: AgentAuth;
  readonly webSocket: SatchelWebSocket;
  readonly eventsQueue: WorkQueue;
  readonly mailQueue: WorkQueue;
  readonly expiryFailures: FailureQueue;
  readonly signingKey: Secret;
  readonly bots: BotBundle;

  constructor(scope: Construct, id: string, props: SatchelStackProps = {}) {
    super(scope, id, props);
    const settings = readSettings(this);
    this.bots = loadBotBundle(props.botsDir ?? join(REPO_ROOT, 'bots'));
    // The lifecycle rule is a backstop for files expiry missed; it must never be the first to
    // act on a session that is still within its timeout.
    if (settings.fileRetentionDays * 86400 < this.bots.maxSessionTimeoutSeconds) {
      throw new Error(
        `fileRetentionDays (${settings.fileRetentionDays}) is shorter than the longest bot sessionTimeoutSeconds ` +
          `(${this.bots.maxSessionTimeoutSeconds} s): the S3 lifecycle rule would delete files of live sessions. ` +
          `Raise it with -c fileRetentionDays=${Math.ceil(this.bots.maxSessionTimeoutSeconds / 86400)} or more.`,
      );
    }

    const monitoring = new Monitoring(this, 'Monitoring');
    this.storage = new Storage(this, 'Storage', {
      removalPolicy: settings.removalPolicy,
      allowedOrigins: settings.allowedOrigins,
      fileRetentionDays: settings.fileRetentionDays,
    });
    const { table, bucket } = this.storage;

    this.eventsQueue = new WorkQueue(this, 'EventsQueue', {
      fifo: true,
      visibilityTimeout: visibilityFor(FUNCTION_SIZES.actions.timeout),
      purpose: 'inbound events (intake to actions)',
      monitoring,
    });
    this.mailQueue = new WorkQueue(this, 'MailQueue', {
      visibilityTimeout: visibilityFor(FUNCTION_SIZES.mailer.timeout),
      purpose: 'attachment email',
      monitoring,
    });
    this.expiryFailures = new FailureQueue(this, 'ExpiryFailures', {
      purpose: 'the session expiry stream consumer',
      monitoring,
    });

    this.signingKey = new Secret(this, 'SigningKey', {
      description: 'Satchel: HMAC key for session and file tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: settings.removalPolicy,
    });
    Validations.of(this.signingKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The HMAC key signs every live session token and file link; rotating it invalidates all of them at once, ' +
        'so automatic rotation would end every conversation on a schedule. Rotate it deliberately instead ' +
        '(put a new random value, see README) when it may have leaked.',
    });

    const sender = new SenderIdentity(this, 'Sender', {
      email: settings.senderEmail,
      createIdentity: settings.createSenderIdentity,
    });
    this.auth = new AgentAuth(this, 'AgentAuth', {
      removalPolicy: settings.removalPolicy,
      mfa: settings.agentMfa,
      featurePlan: settings.cognitoFeaturePlan,
    });

    // Created before the functions because they need its URL for absolute links
    // (PUBLIC_BASE_URL); routes are added after them. The API resource itself references no
    // function, so there is no dependency cycle.
    this.api = new SatchelApi(this, 'Api', {
      rateLimit: settings.apiRateLimit,
      burstLimit: settings.apiBurstLimit,
      logRetention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });

    // Plain settings (no grant attached); each function gets only those its wiring reads.
    const plainSettings: Partial<Record<ConfigKey, string>> = {
      PUBLIC_BASE_URL: this.api.url,
      SENDER_EMAIL: settings.senderEmail,
      FETCH_ALLOW_HOSTS: settings.fetchAllowHosts,
      MESSENGER_API_URL: settings.messengerApiUrl,
      TELEGRAM_API_URL: settings.telegramApiUrl,
      WHATSAPP_API_URL: settings.whatsappApiUrl,
      TWILIO_API_URL: settings.twilioApiUrl,
    };
    const define = (name: SatchelFunctionName, description: string, extra: Partial<SatchelFunctionProps> = {}) => {
      const reads = new Set<ConfigKey>(FUNCTION_CONFIG[name]);
      return new SatchelFunction(this, pascal(name), {
        entry: join(REPO_ROOT, 'functions', name, 'index.ts'),
        description,
        ...FUNCTION_SIZES[name],
        logLevel: settings.logLevel,
        logRetention: settings.logRetention,
        removalPolicy: settings.removalPolicy,
        environment: Object.fromEntries(Object.entries(plainSettings).filter(([key]) => reads.has(key as ConfigKey))),
        // Bot files only for the functions whose wiring loads them.
        ...(reads.has('BOTS_DIR') && { bots: this.bots }),
        ...extra,
      });
    };

    // Real-time delivery (SPEC 10): the WebSocket API, its routes and its $connect authorizer.
    const socket = define('socket', 'Satchel WebSocket routes: records connections, answers pings').bindTable(table, 'readWrite');
    const socketAuthorizer = define('socket-authorizer', "Satchel WebSocket $connect authorizer: session tokens and agents' JWTs")
      .withEnvironment({ AGENT_JWT_ISSUER: this.auth.userPool.userPoolProviderUrl, COGNITO_CLIENT_ID: this.auth.client.userPoolClientId })
      .bindSigningKey(this.signingKey);
    this.webSocket = new SatchelWebSocket(this, 'WebSocket', {
      routesFn: socket.fn,
      authorizerFn: socketAuthorizer.fn,
      rateLimit: settings.apiRateLimit,
      burstLimit: settings.apiBurstLimit,
      logRetention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });

    // The pages (web/) ship inside intake's bundle; the console signs agents in with Cognito.
    const intake = define('intake', 'Satchel intake: web API, channel webhooks and pages', { assetDirs: [join(REPO_ROOT, 'web')] })
      .withEnvironment({ AGENT_SIGN_IN: 'cognito', COGNITO_CLIENT_ID: this.auth.client.userPoolClientId, SOCKET_URL: this.webSocket.url })
      .bindTable(table, 'readWrite')
      // Presigns upload forms; removes the uploads of slots left unused past their deadline.
      .bindBucket(bucket, ['put', 'delete'], ['put', 'delete'])
      .bindQueueSender(this.eventsQueue.queue, 'EVENTS_QUEUE_URL')
      .bindSigningKey(this.signingKey)
      .bindBotSecrets(this.bots.webhookSecretNames);

    const actions = define('actions', 'Satchel actions: runs bot flows per session, in order')
      .bindTable(table, 'readWrite')
      // Takes users' uploads: copies each out of its upload key, then deletes the key.
      .bindBucket(bucket, ['get', 'put', 'delete', 'probe'], ['get', 'delete'])
      .consumeQueue(this.eventsQueue.queue, { batchSize: 10 })
      .bindQueueSender(this.mailQueue.queue, 'MAIL_QUEUE_URL')
      .bindSigningKey(this.signingKey)
      .bindBotSecrets(this.bots.turnSecretNames);

    const proxy = define('proxy', 'Satchel file links: /files/{token} to presigned S3 URLs')
      .bindTable(table, 'read')
      .bindBucket(bucket, ['get'])
      .bindSigningKey(this.signingKey);

    // Agents' files go through upload slots like users' (copied to a fresh key, slot deleted),
    // and agent messages are pushed to Messenger directly, hence the page access tokens.
    const agent = define('agent', 'Satchel Live Takeover agent API')
      .bindTable(table, 'readWrite')
      .bindBucket(bucket, ['get', 'put', 'delete', 'probe'], ['put', 'get', 'delete'])
      .bindSigningKey(this.signingKey)
      .bindBotSecrets(this.bots.deliverySecretNames);

    const mailer = define('mailer', 'Satchel mailer: one SES email per attachment')
      .bindTable(table, 'readWrite')
      .bindBucket(bucket, ['get'])
      .consumeQueue(this.mailQueue.queue, { batchSize: 5 })
      .bindSender(sender)
      .bindSigningKey(this.signingKey);

    // Only TTL deletions (made by the DynamoDB service itself) of a session's META record or of
    // an attachment record with its own link lifetime (agent files): a user or agent deleting
    // items, or any other record expiring, must not trigger a deletion.
    const ttlDeletionOf = (sk: unknown) =>
      FilterCriteria.filter({
        eventName: FilterRule.isEqual('REMOVE'),
        userIdentity: {
          type: FilterRule.isEqual('Service'),
          principalId: FilterRule.isEqual('dynamodb.amazonaws.com'),
        },
        dynamodb: { Keys: { sk: { S: sk } } },
      });
    const expiry = define('expiry', "Satchel expiry: deletes expired sessions' records and files")
      .bindTable(table, 'readDelete')
      .bindBucket(bucket, ['list', 'delete'])
      .consumeTableStream(table, {
        onFailure: this.expiryFailures.queue,
        // Filters are ORed.
        filters: [ttlDeletionOf(FilterRule.isEqual(SESSION_META_SK)), ttlDeletionOf(FilterRule.beginsWith(ATTACHMENT_SK_PREFIX))],
      });

    // The functions that write transcripts and statuses push the changes.
    for (const pusher of [intake, actions, agent]) this.webSocket.bindPusher(pusher);

    this.functions = { intake, actions, proxy, agent, mailer, expiry, socket, 'socket-authorizer': socketAuthorizer };

    this.api.addRouteTable({
      routes,
      defaultRouteFn,
      handlers: { intake: intake.fn, proxy: proxy.fn, agent: agent.fn },
      jwtAuthorizer: this.auth.authorizer,
    });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.url, 'Base URL of the HTTP API; the web chat is at /, the agent console at /agent');
    output('SocketUrl', this.webSocket.url, 'WebSocket URL clients get as socketUrl from GET /web/bots/{botId}/config');
    output('UserPoolId', this.auth.userPool.userPoolId, 'Cognito user pool of Live Takeover agents');
    output('UserPoolClientId', this.auth.client.userPoolClientId, 'App client id of the agent console');
    output('BucketName', bucket.bucketName, 'Attachments bucket');
    output('TableName', table.tableName, 'DynamoDB table');
    output('AlarmTopicArn', monitoring.alarmTopic.topicArn, 'SNS topic of dead-letter alarms; subscribe to it');
    // Redrive after an outage: aws sqs start-message-move-task --source-arn <a dead-letter queue ARN> (docs/deploy.md).
    output('EventsDeadLetterQueueArn', this.eventsQueue.deadLetterQueue.queueArn, 'Dead-letter queue of the events queue (redrive with aws sqs start-message-move-task)');
    output('MailDeadLetterQueueArn', this.mailQueue.deadLetterQueue.queueArn, 'Dead-letter queue of the mail queue (redrive with aws sqs start-message-move-task)');
    output('SigningKeySecretArn', this.signingKey.secretArn, 'Secrets Manager secret holding the token signing key');
    output(
      'BotSecretNames',
      this.bots.secretNames.map((name) => `${SECRETS_PREFIX}${name}`).join(', ') || '(none)',
      'Secrets Manager secrets the bots reference; create each before use',
    );
  }
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** `socket-authorizer` -> `SocketAuthorizer`. */
const pascal = (s: string) => s.split('-').map(capitalize).join('');
