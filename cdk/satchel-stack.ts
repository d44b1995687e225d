import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import { MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterCriteria, FilterRule } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ATTACHMENT_SK_PREFIX, META as SESSION_META_SK } from '../shared/adapters/table-layout';
import type { ConfigKey } from '../shared/config';
import { defaultRouteFn, routes } from '../shared/http/routes';
import { FUNCTION_CONFIG } from '../functions/config-keys';
import { warnAboutEndpoints } from './bot-checks';
import { loadBotsDir, secretNames } from '../shared/bots/loader';
import { type BotBundle, loadBotBundle } from './bots';
import { SatchelApi } from './constructs/api';
import { AgentAuth } from './constructs/auth';
import { SenderIdentity } from './constructs/mail';
import { MalwareScan, SCAN_WATCH_BATCH_SIZE } from './constructs/malware-scan';
import { Monitoring } from './constructs/monitoring';
import { FailureQueue, WorkQueue } from './constructs/queues';
import { SatchelFunction, type SatchelFunctionProps } from './constructs/satchel-function';
import { Storage } from './constructs/storage';
import { SatchelWebSocket } from './constructs/websocket';
import { readSettings, secretsPrefixFor } from './settings';
import { fileBackstopDays, type QueueTiming, queueTiming } from './timing';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface SatchelStackProps extends StackProps {
  /** Directory of bot JSON files validated and bundled at synth. Default: `bots/` in the repo. */
  readonly botsDir?: string;
}

/**
 * Sized for the work each function does. The queue consumers' timeouts (actions, mailer),
 * batch sizes and their queues' visibility timeouts come from cdk/timing.ts.
 */
const FUNCTION_SIZES = (timing: QueueTiming) =>
  ({
    intake: { memorySize: 512, timeout: Duration.seconds(10) },
    // Streams files of up to 100 MB from bot endpoints into S3.
    actions: { memorySize: 1024, timeout: timing.actions.timeout },
    proxy: { memorySize: 256, timeout: Duration.seconds(5) },
    agent: { memorySize: 512, timeout: Duration.seconds(10) },
    // Builds MIME messages of up to 40 MB (SES v2 limit) with the file attached.
    mailer: { memorySize: 1024, timeout: timing.mailer.timeout },
    expiry: { memorySize: 512, timeout: Duration.seconds(120) },
    // WebSocket routes and the $connect authorizer: one small read or write, or a token check.
    socket: { memorySize: 256, timeout: Duration.seconds(5) },
    'socket-authorizer': { memorySize: 256, timeout: Duration.seconds(5) },
    // One malware verdict: a few reads and writes, maybe a push and a mail job.
    'scan-verdict': { memorySize: 256, timeout: Duration.seconds(30) },
  }) as const;

export type SatchelFunctionName = keyof ReturnType<typeof FUNCTION_SIZES>;

/**
 * Satchel on AWS (SPEC section 9): the HTTP API in front of intake/proxy/agent, a FIFO
 * queue from intake to actions (ordered per session), a mail queue to the SES mailer,
 * DynamoDB with TTL whose stream drives expiry, the attachments bucket, and Cognito for agents.
 */
export class SatchelStack extends Stack {
  /** Every function; the mailer only when email is enabled (a real `senderEmail`). */
  readonly functions: Record<Exclude<SatchelFunctionName, 'mailer' | 'scan-verdict'>, SatchelFunction> & { mailer?: SatchelFunction; 'scan-verdict'?: SatchelFunction };
  /** GuardDuty Malware Protection for S3 and its verdict path; absent with `-c malwareScan=off`. */
  readonly malwareScan?: MalwareScan;
  readonly storage: Storage;
  readonly api: SatchelApi;
  readonly auth: AgentAuth;
  readonly webSocket: SatchelWebSocket;
  readonly eventsQueue: WorkQueue;
  /** Only when email is enabled. */
  readonly mailQueue?: WorkQueue;
  readonly monitoring: Monitoring;
  /** Batch sizes, timeouts and visibility timeouts of the queue consumers (cdk/timing.ts). */
  readonly timing: QueueTiming;
  /** The lifecycle backstop of session files, in days (cdk/timing.ts fileBackstopDays). */
  readonly fileBackstopDays: number;
  readonly expiryFailures: FailureQueue;
  readonly signingKey: Secret;
  readonly bots: BotBundle;

  constructor(scope: Construct, id: string, props: SatchelStackProps = {}) {
    super(scope, id, props);
    const settings = readSettings(this);
    this.bots = loadBotBundle(props.botsDir ?? join(REPO_ROOT, 'bots'));
    // Send Attachment endpoints the deployed fetcher will refuse (the demo's loopback one) are synth warnings.
    warnAboutEndpoints(this, this.bots.bots, settings.fetchAllowHosts);
    if (settings.stage) Tags.of(this).add('satchel:stage', settings.stage);
    // The lifecycle rule is a backstop for files expiry missed; it must never be the first to
    // act on a session that is still within its timeout.
    this.fileBackstopDays = fileBackstopDays(this.bots.maxSessionTimeoutSeconds, settings.fileRetentionDays);
    this.timing = queueTiming(loadBotsDir(this.bots.dir));
    const sizes = FUNCTION_SIZES(this.timing);
    const emailEnabled = settings.senderEmail !== undefined;
    if (!emailEnabled) {
      const emailing = this.bots.emailBotIds;
      Annotations.of(this).addWarning(
        `Email is disabled: ${settings.emailDisabledReason}. ` +
          (emailing.length
            ? `Files sent to bots ${emailing.join(', ')} (attachments.recipientEmail) will not be emailed; each is logged by the actions function instead. `
            : 'No bot sets attachments.recipientEmail, so nothing would be emailed. ') +
          'Deploy with -c senderEmail=team@yourcompany.com (an address or domain verified in SES) to turn email on.',
      );
    }

    const monitoring = new Monitoring(this, 'Monitoring', { alarmEmail: settings.alarmEmail });
    this.monitoring = monitoring;

    // Created before the functions because they need its URL for absolute links
    // (PUBLIC_BASE_URL), and before the bucket, whose CORS allows its origin; routes are added
    // after the functions. The API resource itself references no function, so there is no cycle.
    this.api = new SatchelApi(this, 'Api', {
      rateLimit: settings.apiRateLimit,
      burstLimit: settings.apiBurstLimit,
      logRetention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
      customDomain: settings.customDomain,
    });

    this.storage = new Storage(this, 'Storage', {
      removalPolicy: settings.removalPolicy,
      // The chat page and console are served by the API itself, so its origin is the one that uploads.
      allowedOrigins: settings.allowedOrigins ?? [this.api.url],
      fileRetentionDays: this.fileBackstopDays,
    });
    const { table, bucket } = this.storage;

    this.eventsQueue = new WorkQueue(this, 'EventsQueue', {
      fifo: true,
      visibilityTimeout: this.timing.actions.visibilityTimeout,
      purpose: 'inbound events (intake to actions)',
      monitoring,
    });
    if (emailEnabled) {
      this.mailQueue = new WorkQueue(this, 'MailQueue', {
        visibilityTimeout: this.timing.mailer.visibilityTimeout,
        purpose: 'attachment email',
        monitoring,
      });
    }
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

    const sender =
      settings.senderEmail !== undefined
        ? new SenderIdentity(this, 'Sender', { email: settings.senderEmail, createIdentity: settings.createSenderIdentity })
        : undefined;
    this.auth = new AgentAuth(this, 'AgentAuth', {
      removalPolicy: settings.removalPolicy,
      mfa: settings.agentMfa,
      featurePlan: settings.cognitoFeaturePlan,
    });

    // Plain settings (no grant attached); each function gets only those its wiring reads.
    const plainSettings: Partial<Record<ConfigKey, string>> = {
      PUBLIC_BASE_URL: this.api.url,
      FETCH_ALLOW_HOSTS: settings.fetchAllowHosts,
      MESSENGER_API_URL: settings.messengerApiUrl,
      TELEGRAM_API_URL: settings.telegramApiUrl,
      WHATSAPP_API_URL: settings.whatsappApiUrl,
      TWILIO_API_URL: settings.twilioApiUrl,
      // Files users and agents send are held for the malware verdict unless scanning is off (SPEC 13).
      MALWARE_SCAN: settings.malwareScan,
      // How long a held file may wait for its verdict before its overdue check alarms (only with scanning on).
      ...(settings.malwareScan === 'on' && { SCAN_PENDING_ALARM_MINUTES: String(settings.scanPendingAlarmMinutes) }),
    };
    const define = (name: SatchelFunctionName, description: string, extra: Partial<SatchelFunctionProps> = {}) => {
      const reads = new Set<ConfigKey>(FUNCTION_CONFIG[name]);
      return new SatchelFunction(this, pascal(name), {
        entry: join(REPO_ROOT, 'functions', name, 'index.ts'),
        description,
        ...sizes[name],
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
      .consumeQueue(this.eventsQueue.queue, { batchSize: this.timing.actions.batchSize })
      .bindSigningKey(this.signingKey)
      .bindBotSecrets(this.bots.turnSecretNames);
    // Without a mail queue (email disabled) actions logs each file it would have emailed.
    if (this.mailQueue) actions.bindQueueSender(this.mailQueue.queue, 'MAIL_QUEUE_URL');

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

    const mailer =
      this.mailQueue && sender
        ? define('mailer', 'Satchel mailer: one SES email per attachment')
            .bindTable(table, 'readWrite')
            .bindBucket(bucket, ['get'])
            .consumeQueue(this.mailQueue.queue, { batchSize: this.timing.mailer.batchSize })
            .bindSender(sender)
            .bindSigningKey(this.signingKey)
        : undefined;

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

    // Malware scanning (SPEC 13): GuardDuty's results for the bucket go to the verdict function,
    // which settles the file, deletes refused bytes, queues the email of a clean user file and
    // pushes the change. Bucket: read (probe) and delete session files only.
    const scanVerdict =
      settings.malwareScan === 'on'
        ? define('scan-verdict', 'Satchel malware verdicts: records GuardDuty Malware Protection for S3 results, checks held files for overdue verdicts')
            .bindTable(table, 'readWrite')
            .bindBucket(bucket, ['get', 'delete', 'probe'])
            .bindSigningKey(this.signingKey)
        : undefined;
    if (scanVerdict && this.mailQueue) scanVerdict.bindQueueSender(this.mailQueue.queue, 'MAIL_QUEUE_URL');
    // An agent's file to a channel user, settled by the verdict, is delivered by actions.
    if (scanVerdict) scanVerdict.bindQueueSender(this.eventsQueue.queue, 'EVENTS_QUEUE_URL');
    if (scanVerdict) {
      this.malwareScan = new MalwareScan(this, 'MalwareScan', {
        bucket,
        verdictFn: scanVerdict.fn,
        monitoring,
        alarmMinutes: settings.scanPendingAlarmMinutes,
        verdictTimeout: sizes['scan-verdict'].timeout,
      });
      // Each file actions or agent holds gets its overdue check on the scan watch queue, which
      // the verdict function consumes; it sends an early check back only when one SQS delay
      // (15 minutes) is shorter than the alarm time.
      const watch = this.malwareScan.watch.queue;
      actions.bindQueueSender(watch, 'SCAN_WATCH_QUEUE_URL');
      agent.bindQueueSender(watch, 'SCAN_WATCH_QUEUE_URL');
      scanVerdict.consumeQueue(watch, { batchSize: SCAN_WATCH_BATCH_SIZE });
      if (this.malwareScan.chainsDelays) scanVerdict.bindQueueSender(watch, 'SCAN_WATCH_QUEUE_URL');
    }

    // The functions that write transcripts and statuses push the changes.
    for (const pusher of [intake, actions, agent, ...(scanVerdict ? [scanVerdict] : [])]) this.webSocket.bindPusher(pusher);

    this.functions = {
      intake,
      actions,
      proxy,
      agent,
      ...(mailer && { mailer }),
      expiry,
      socket,
      'socket-authorizer': socketAuthorizer,
      ...(scanVerdict && { 'scan-verdict': scanVerdict }),
    };

    // Alarms (to the alarm topic) and the dashboard: every function's errors and throttles,
    // queue ages, the stream consumer's lag, both APIs' error rates and SES feedback. The
    // dead-letter queues are alarmed where they are made (constructs/queues.ts).
    for (const [name, fn] of Object.entries(this.functions)) monitoring.watchFunction(pascal(name), fn.fn);
    // A turn waiting longer than one visibility timeout has failed at least once.
    monitoring.alarmOnQueueAge('EventsQueueAge', this.eventsQueue.queue, this.timing.actions.visibilityTimeout, 'user message (events queue)');
    if (this.mailQueue) {
      // Emails may be held up to 15 minutes for an agent (waitForAgentSeconds) before their first try.
      const held = Duration.seconds(900);
      monitoring.alarmOnQueueAge('MailQueueAge', this.mailQueue.queue, Duration.seconds(this.timing.mailer.visibilityTimeout.toSeconds() + held.toSeconds()), 'attachment email (mail queue)');
    }
    monitoring.alarmOnIteratorAge('ExpiryIteratorAge', expiry.fn);
    const httpApi = this.api.httpApi;
    monitoring.alarmOnErrorRate(
      'HttpApi5xxRate',
      httpApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      httpApi.metricCount({ period: Duration.minutes(5), statistic: 'Sum' }),
      'HTTP API requests answered 5xx',
    );
    const socketStage = this.webSocket.stage;
    monitoring.alarmOnErrorRate(
      'WebSocketErrorRate',
      new MathExpression({
        expression: 'execution + integration',
        usingMetrics: {
          execution: socketStage.metric('ExecutionError', { period: Duration.minutes(5), statistic: 'Sum' }),
          integration: socketStage.metric('IntegrationError', { period: Duration.minutes(5), statistic: 'Sum' }),
        },
        period: Duration.minutes(5),
      }),
      new MathExpression({
        expression: 'connects + messages',
        usingMetrics: {
          connects: socketStage.metric('ConnectCount', { period: Duration.minutes(5), statistic: 'Sum' }),
          messages: socketStage.metric('MessageCount', { period: Duration.minutes(5), statistic: 'Sum' }),
        },
        period: Duration.minutes(5),
      }),
      'WebSocket connects and messages failing in API Gateway or the function',
    );
    if (sender) monitoring.watchSes(sender.configurationSet.configurationSetName);
    monitoring.alarmOnBotSecrets(this.bots.bots.filter((b) => secretNames(b).length > 0).map((b) => b.id));
    monitoring.addAlarmOverview();

    this.api.addRouteTable({
      routes,
      defaultRouteFn,
      handlers: { intake: intake.fn, proxy: proxy.fn, agent: agent.fn },
      jwtAuthorizer: this.auth.authorizer,
    });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.api.url, 'Base URL of the HTTP API; the web chat is at /, the agent console at /agent');
    if (this.api.domainName) {
      output('ApiDomainTarget', this.api.domainName.regionalDomainName, 'Point a CNAME (or alias record) for the custom domain at this name');
    }
    output('DashboardName', monitoring.dashboard.dashboardName, 'CloudWatch dashboard of this stack');
    output('SocketUrl', this.webSocket.url, 'WebSocket URL clients get as socketUrl from GET /web/bots/{botId}/config');
    output('UserPoolId', this.auth.userPool.userPoolId, 'Cognito user pool of Live Takeover agents');
    output('UserPoolClientId', this.auth.client.userPoolClientId, 'App client id of the agent console');
    output('BucketName', bucket.bucketName, 'Attachments bucket');
    output('TableName', table.tableName, 'DynamoDB table');
    output('AlarmTopicArn', monitoring.alarmTopic.topicArn, 'SNS topic of every alarm; -c alarmEmail=... subscribes an address');
    // Redrive after an outage: aws sqs start-message-move-task --source-arn <a dead-letter queue ARN> (docs/deploy.md).
    output('EventsDeadLetterQueueArn', this.eventsQueue.deadLetterQueue.queueArn, 'Dead-letter queue of the events queue (redrive with aws sqs start-message-move-task)');
    if (this.mailQueue) {
      output('MailDeadLetterQueueArn', this.mailQueue.deadLetterQueue.queueArn, 'Dead-letter queue of the mail queue (redrive with aws sqs start-message-move-task)');
    }
    output('SigningKeySecretArn', this.signingKey.secretArn, 'Secrets Manager secret holding the token signing key');
    output(
      'BotSecretNames',
      this.bots.secretNames.map((name) => `${secretsPrefixFor(settings.stage)}${name}`).join(', ') || '(none)',
      'Secrets Manager secrets the bots reference; create each before use',
    );
  }
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** `socket-authorizer` -> `SocketAuthorizer`. */
const pascal = (s: string) => s.split('-').map(capitalize).join('');
