import { Aws, type CfnElement, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, StartingPosition, Tracing } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { BotBundle } from '../bots';
import { nodejsBundling, RUNTIME } from '../bundling';
import { readSettings, secretsPrefixFor } from '../settings';
import { copyIntoCommand } from '../bundling';
import { CONVERSATIONS_INDEX, SESSION_FILES_PREFIX, UPLOADS_PREFIX } from './storage';
import type { SenderIdentity } from './mail';

export { RUNTIME };
/** Where bundled bot files land inside the function package. */
export const LAMBDA_BOTS_DIR = '/var/task/bots';
/**
 * Bot secret NAME is the Secrets Manager secret `satchel/NAME` in the default stage
 * (shared/config.ts SECRETS_PREFIX), `satchel/<stage>/NAME` with `-c stage=<stage>`.
 */
export const SECRETS_PREFIX = secretsPrefixFor('');

export interface SatchelFunctionProps {
  /** Absolute path of the handler module; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Merged over the defaults (service name, log level, source maps). */
  readonly environment?: Record<string, string>;
  /**
   * Let Node map stack traces through the bundle's source map (`--enable-source-maps`).
   * The map file ships either way; enabling this makes every cold start read and parse it.
   * Default: the `sourceMaps` context setting (off).
   */
  readonly sourceMaps?: boolean;
  /** Bot files copied into the bundle (`BOTS_DIR`). */
  readonly bots?: BotBundle;
  /** Directories copied next to the bundle (intake serves the pages from `web/`). */
  readonly assetDirs?: string[];
  readonly logLevel: string;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** How a function may use the table. */
export type TableAccess = 'read' | 'readWrite' | 'readDelete';
/**
 * How a function may use session files:
 * - `get` / `put` / `delete`: those object actions under `sessions/` (a copy is get + put);
 * - `list`: list keys under `sessions/` (ListBucket with an `s3:prefix` condition);
 * - `probe`: ListBucket on the bucket without a prefix condition. S3 answers a HEAD, GET
 *   or COPY of a missing key with 404 only to principals allowed to list the bucket, and
 *   with 403 to everyone else; code that treats "not there yet" as a normal outcome
 *   (upload checks) needs the 404. Keys are random ids, so listing reveals no file names.
 */
export type BucketAccess = 'get' | 'put' | 'delete' | 'list' | 'probe';
/** Object actions on upload keys (UPLOADS_PREFIX): presign forms (put), take the file (get, delete). */
export type UploadAccess = 'get' | 'put' | 'delete';
/** The env vars queue URLs are published under (shared/config.ts). */
export type QueueEnvVar = 'EVENTS_QUEUE_URL' | 'MAIL_QUEUE_URL' | 'SCAN_WATCH_QUEUE_URL';

const TABLE_ACTIONS: Record<TableAccess, string[]> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
  ],
  readDelete: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
};

const OBJECT_ACTIONS: Record<Exclude<BucketAccess, 'list' | 'probe'>, string[]> = {
  get: ['s3:GetObject'],
  // Streaming uploads use multipart uploads, which s3:PutObject covers except for aborting.
  put: ['s3:PutObject', 's3:AbortMultipartUpload'],
  delete: ['s3:DeleteObject'],
};

/**
 * One Satchel Lambda function with every default in one place: Node.js on arm64, an ESM
 * bundle built by the local esbuild (minified, source map file, AWS SDK included; see
 * cdk/bundling.ts), source maps applied to stack traces only on request, X-Ray, a log
 * group with retention, and its own role with no managed policies.
 *
 * Permissions are added only through the `bind*` and `consume*` helpers, each of which sets
 * the env var the handler reads *and* the narrowest grant that makes it work, so the two
 * cannot drift apart.
 */
export class SatchelFunction extends Construct {
  /** The handler module the bundle is built from. */
  readonly entry: string;
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** Where this stage's bot secrets live in Secrets Manager. */
  readonly secretsPrefix: string;

  constructor(scope: Construct, id: string, props: SatchelFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    const settings = readSettings(this);
    const sourceMaps = props.sourceMaps ?? settings.sourceMaps;
    this.secretsPrefix = secretsPrefixFor(settings.stage);

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Satchel ${id} function`,
    });
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // Instead of AWSLambdaBasicExecutionRole (log writes to any log group): this group only.
    this.logGroup.grantWrite(this.role);

    const bots = props.bots;
    this.fn = new NodejsFunction(this, 'Resource', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      // SDK v3 keeps connections alive by itself; the v2-era env var would only add noise.
      awsSdkConnectionReuse: false,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'satchel',
        LOG_LEVEL: props.logLevel,
        ...(sourceMaps && { NODE_OPTIONS: '--enable-source-maps' }),
        ...(bots && { BOTS_DIR: LAMBDA_BOTS_DIR }),
        ...props.environment,
      },
      bundling: {
        // Shared with the bundle benchmark (bench/bundles.ts): cdk/bundling.ts.
        ...nodejsBundling(),
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // Node copies the files (cdk/copy-into.mjs), so bundling works in cmd.exe and PowerShell too.
          afterBundling: (_inputDir: string, outputDir: string) => [
            ...(bots ? [copyIntoCommand(`${outputDir}/bots`, bots.files)] : []),
            ...(props.assetDirs?.length ? [copyIntoCommand(outputDir, props.assetDirs)] : []),
          ],
        },
      },
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
        'resource-level permissions (AWS Service Authorization Reference), so their resource must be "*".',
    });
    Validations.of(this.fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'A function dead-letter queue only receives failed asynchronous invocations, and this function is never ' +
        'invoked asynchronously: API Gateway calls it synchronously or a Lambda event source mapping polls for it, ' +
        'and those failures go to the source queue redrive DLQ or the stream on-failure queue instead.',
    });
  }

  /** Plain settings that carry no permission. */
  withEnvironment(env: Record<string, string>): this {
    for (const [k, v] of Object.entries(env)) this.fn.addEnvironment(k, v);
    return this;
  }

  /** `TABLE_NAME`, with item-level actions on the table and the conversations index only. */
  bindTable(table: ITable, access: TableAccess): this {
    this.fn.addEnvironment('TABLE_NAME', table.tableName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: TABLE_ACTIONS[access],
        resources: [table.tableArn, `${table.tableArn}/index/${CONVERSATIONS_INDEX}`],
      }),
    );
    return this;
  }

  /**
   * `BUCKET_NAME`, with the given object actions on session files only, and `uploads` actions
   * on upload keys only (where browsers POST files before their checks).
   */
  bindBucket(bucket: IBucket, access: readonly BucketAccess[], uploads: readonly UploadAccess[] = []): this {
    this.fn.addEnvironment('BUCKET_NAME', bucket.bucketName);
    const objectActions = access.flatMap((a) => (a === 'list' || a === 'probe' ? [] : OBJECT_ACTIONS[a]));
    if (objectActions.length > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: objectActions, resources: [bucket.arnForObjects(`${SESSION_FILES_PREFIX}*`)] }),
      );
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalIdHint(bucket)}.Arn>/${SESSION_FILES_PREFIX}*]`,
        reason:
          `Object keys are random per session and file and only exist at run time; access is limited to the ` +
          `${SESSION_FILES_PREFIX} prefix of this one bucket and to the actions ${objectActions.join(', ')}.`,
      });
    }
    const uploadActions = uploads.flatMap((a) => (a === 'put' ? ['s3:PutObject'] : OBJECT_ACTIONS[a]));
    if (uploadActions.length > 0) {
      this.role.addToPrincipalPolicy(new PolicyStatement({ actions: uploadActions, resources: [bucket.arnForObjects(`${UPLOADS_PREFIX}*`)] }));
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalIdHint(bucket)}.Arn>/${UPLOADS_PREFIX}*]`,
        reason:
          `Upload keys are random per upload slot and only exist at run time; access is limited to the ` +
          `${UPLOADS_PREFIX} prefix of this one bucket and to the actions ${uploadActions.join(', ')}.`,
      });
    }
    if (access.includes('probe')) {
      this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    } else if (access.includes('list')) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${SESSION_FILES_PREFIX}*`] } },
        }),
      );
    }
    return this;
  }

  /** Sends to `queue` (`EVENTS_QUEUE_URL` / `MAIL_QUEUE_URL`), including delayed sends. */
  bindQueueSender(queue: IQueue, envVar: QueueEnvVar): this {
    this.fn.addEnvironment(envVar, queue.queueUrl);
    queue.grantSendMessages(this.role);
    return this;
  }

  /** `SIGNING_KEY_SECRET`: the HMAC key for session and file tokens, read-only. */
  bindSigningKey(secret: ISecret): this {
    this.fn.addEnvironment('SIGNING_KEY_SECRET', secret.secretArn);
    secret.grantRead(this.role);
    return this;
  }

  /**
   * Bot secrets: GetSecretValue on exactly `satchel/NAME` for each of `names` (the `-??????`
   * suffix is the random part Secrets Manager appends to every secret ARN).
   */
  bindBotSecrets(names: readonly string[]): this {
    this.fn.addEnvironment('SECRETS_SOURCE', 'secrets-manager');
    this.fn.addEnvironment('SECRETS_PREFIX', this.secretsPrefix);
    // What the function is granted; each is read on first use, so a missing one fails only its bot.
    if (names.length > 0) this.fn.addEnvironment('BOT_SECRETS', names.join(','));
    if (names.length > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: names.map(
            (name) => `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${this.secretsPrefix}${name}-??????`,
          ),
        }),
      );
    }
    return this;
  }

  /**
   * `SENDER_EMAIL` and `SES_CONFIGURATION_SET`, with SES sends allowed only as that address
   * (or its domain) through that configuration set.
   */
  bindSender(sender: SenderIdentity): this {
    this.fn.addEnvironment('SENDER_EMAIL', sender.email);
    this.fn.addEnvironment('SES_CONFIGURATION_SET', sender.configurationSet.configurationSetName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ses:SendEmail', 'ses:SendRawEmail'], resources: sender.identityArns }),
    );
    return this;
  }

  /**
   * Consumes `queue` with partial batch responses: the handler returns `batchItemFailures`
   * and only those messages are retried (and dead-lettered after the queue's maxReceiveCount).
   */
  consumeQueue(queue: IQueue, options: { batchSize: number; maxBatchingWindow?: Duration }): this {
    this.fn.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize,
        maxBatchingWindow: options.maxBatchingWindow,
        reportBatchItemFailures: true,
      }),
    );
    Validations.of(this.fn).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'Event source mappings for SQS do not support an on-failure destination; messages that keep failing ' +
        'are moved by the source queue redrive policy (maxReceiveCount 5) to its dead-letter queue, which is alarmed.',
    });
    return this;
  }

  /**
   * Consumes the table's stream, filtered server-side so only matching records invoke the
   * function. Failed batches are bisected and retried, then their metadata is sent to `onFailure`.
   */
  consumeTableStream(
    table: ITable,
    options: { filters: Record<string, unknown>[]; onFailure: IQueue; batchSize?: number },
  ): this {
    this.fn.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: options.batchSize ?? 25,
        bisectBatchOnError: true,
        // The handler reports the first failed record; the batch resumes from there.
        reportBatchItemFailures: true,
        retryAttempts: 5,
        maxRecordAge: Duration.hours(24),
        onFailure: new SqsDlq(options.onFailure),
        filters: options.filters,
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Resource "*" covers actions without resource-level permissions only: xray:PutTraceSegments and ' +
        'xray:PutTelemetryRecords for active tracing, and dynamodb:ListStreams for the stream event source ' +
        '(the stream read actions themselves are scoped to this table\'s stream ARN).',
    });
    return this;
  }
}

/** cdk-nag names a resource in a finding by its logical id: `<LogicalId.Arn>`. */
function logicalIdHint(bucket: IBucket): string {
  return Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
}
