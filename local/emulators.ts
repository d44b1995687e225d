import { mkdirSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, PutBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
// The emulators are CommonJS packages without types.
// @ts-expect-error no types
import dynalite from 'dynalite';
// @ts-expect-error no types
import S3rver from 's3rver';
import * as sesModule from 'aws-ses-v2-local';
import { TABLE_DEFINITION } from '../shared/adapters/table-layout';

export interface Emulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** DynamoDB-compatible server; data on disk under `dir` so it survives restarts. */
export async function startDynamo(port: number, dir?: string): Promise<Emulator> {
  if (dir) mkdirSync(dir, { recursive: true });
  const server: Server = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${actual}`, port: actual, close: () => closeServer(server) };
}

/** S3-compatible server; objects on disk under `dir`. */
export async function startS3(port: number, dir: string): Promise<Emulator> {
  mkdirSync(dir, { recursive: true });
  const s3 = new S3rver({ port, address: '127.0.0.1', directory: dir, silent: true });
  const address = (await s3.run()) as AddressInfo;
  return { url: `http://127.0.0.1:${address.port}`, port: address.port, close: () => s3.close() };
}

/** SES-v2-compatible server; `GET /store` lists the mail it was asked to send. */
export async function startSes(port: number): Promise<Emulator> {
  // CommonJS with `exports.default`: under Node's ESM interop the function is one level down.
  const mod = sesModule as unknown as { default: typeof sesModule.default | { default: typeof sesModule.default } };
  const sesServer = typeof mod.default === 'function' ? mod.default : mod.default.default;
  const server = await sesServer({ host: '127.0.0.1', port });
  const actual = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${actual}`, port: actual, close: () => closeServer(server) };
}

/** Creates the table as the CDK stack defines it (keys and GSI), if it does not exist. */
export async function ensureTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
  }
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: TABLE_DEFINITION.attributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: TABLE_DEFINITION.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_DEFINITION.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE_DEFINITION.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: index.projection.type, NonKeyAttributes: [...index.projection.nonKeyAttributes] },
      })),
    }),
  );
}

/** Creates the bucket with the CORS rule browsers need for direct uploads. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: bucket,
      CORSConfiguration: {
        CORSRules: [{ AllowedMethods: ['GET', 'POST', 'HEAD'], AllowedOrigins: ['*'], AllowedHeaders: ['*'], MaxAgeSeconds: 3000 }],
      },
    }),
  );
}
