import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config';

/** The emulators accept fixed credentials; real ones are never sent to them. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * Credentials for a client with an explicit endpoint: the embedded emulators' fixed ones,
 * unless the environment names real credentials (an existing DynamoDB Local, MinIO or a real
 * account: `DYNAMODB_ENDPOINT` and friends with `AWS_ACCESS_KEY_ID` or `AWS_PROFILE` set).
 */
export const endpointCredentials = (fixed: { accessKeyId: string; secretAccessKey: string }, env: NodeJS.ProcessEnv = process.env) =>
  env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE ? {} : { credentials: fixed };

/**
 * Connection and idle-socket limits for every SDK client (the SDK's default is none): a server
 * that accepts a connection and then goes silent (a dead route, a hung emulator) fails the
 * request after this, the SDK retries it, and the work goes on instead of waiting for good.
 * Generous against each service's real latency; the Lambda timeout bounds it on AWS anyway.
 */
export const SDK_TIMEOUTS = {
  dynamodb: { connectionTimeout: 3_000, socketTimeout: 10_000 },
  /** Idle, not total: a large upload's parts keep the socket busy. */
  s3: { connectionTimeout: 3_000, socketTimeout: 30_000 },
  other: { connectionTimeout: 3_000, socketTimeout: 20_000 },
} as const;

/**
 * SDK clients. Endpoints are set only locally (emulators); on AWS the SDK's defaults apply.
 * Handlers create these once per container, at cold start.
 */
export function dynamoDocumentClient(config: Pick<Config, 'DYNAMODB_ENDPOINT' | 'AWS_REGION'>): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    endpoint: config.DYNAMODB_ENDPOINT,
    requestHandler: SDK_TIMEOUTS.dynamodb,
    ...(config.DYNAMODB_ENDPOINT && endpointCredentials(LOCAL_CREDENTIALS)),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function s3Client(config: Pick<Config, 'S3_ENDPOINT' | 'AWS_REGION'>): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    endpoint: config.S3_ENDPOINT,
    requestHandler: SDK_TIMEOUTS.s3,
    // The local S3 server only understands path-style addressing.
    forcePathStyle: config.S3_ENDPOINT !== undefined,
    ...(config.S3_ENDPOINT && endpointCredentials(S3RVER_CREDENTIALS)),
  });
}

const sqsClients = new Map<string, SQSClient>();
/**
 * The SQS client, one per region for the container's life: a function that sends to several
 * queues (mail, events, scan watch) builds one client at cold start, not one per queue.
 */
export function sqsClient(config: Pick<Config, 'AWS_REGION'>): SQSClient {
  const region = config.AWS_REGION ?? '';
  let client = sqsClients.get(region);
  if (!client) sqsClients.set(region, (client = new SQSClient({ region: config.AWS_REGION, requestHandler: SDK_TIMEOUTS.other })));
  return client;
}
