import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config';

/** The emulators accept fixed credentials; real ones are never sent to them. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * SDK clients. Endpoints are set only locally (emulators); on AWS the SDK's defaults apply.
 * Handlers create these once per container, at cold start.
 */
export function dynamoDocumentClient(config: Pick<Config, 'DYNAMODB_ENDPOINT' | 'AWS_REGION'>): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    endpoint: config.DYNAMODB_ENDPOINT,
    ...(config.DYNAMODB_ENDPOINT && { credentials: LOCAL_CREDENTIALS }),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function s3Client(config: Pick<Config, 'S3_ENDPOINT' | 'AWS_REGION'>): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    endpoint: config.S3_ENDPOINT,
    // The local S3 server only understands path-style addressing.
    forcePathStyle: config.S3_ENDPOINT !== undefined,
    ...(config.S3_ENDPOINT && { credentials: S3RVER_CREDENTIALS }),
  });
}

export function sqsClient(config: Pick<Config, 'AWS_REGION'>): SQSClient {
  return new SQSClient({ region: config.AWS_REGION });
}
