import { DescribeTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, s3Client } from '../../shared/adapters/clients';
import { BUCKET_NAME, optionsFromEnv, StartupError, TABLE_NAME } from '../../local/runtime';
import { startTestEmulators, type TestEmulators } from '../support/emulators';
import { eventually, startTestRuntime } from '../support/runtime';

/**
 * DYNAMODB_ENDPOINT, S3_ENDPOINT and SES_ENDPOINT (SPEC 8): the runtime uses servers someone
 * else runs instead of starting its own, creates the table and bucket there, and its requests
 * are visible on those servers.
 */
describe('local runtime against existing servers', () => {
  let emu: TestEmulators;
  beforeAll(async () => {
    emu = await startTestEmulators({ ses: true });
  });
  afterAll(async () => emu.close());

  it('reads the endpoints from the environment and refuses ones that are not URLs', () => {
    const opts = optionsFromEnv({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000/', S3_ENDPOINT: 'http://minio:9000', SES_ENDPOINT: '' });
    expect(opts).toMatchObject({ dynamoEndpoint: 'http://127.0.0.1:8000', s3Endpoint: 'http://minio:9000', sesEndpoint: undefined });
    expect(() => optionsFromEnv({ DYNAMODB_ENDPOINT: 'localhost:8000' })).toThrow(StartupError);
    expect(() => optionsFromEnv({ S3_ENDPOINT: 'ftp://example.com' })).toThrow(/S3_ENDPOINT/);
  });

  it('creates the table and bucket on the given servers and keeps the conversation there', async () => {
    const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: emu.dynamo.url, credentials: LOCAL_CREDENTIALS });
    const s3 = s3Client({ S3_ENDPOINT: emu.s3.url, AWS_REGION: 'us-east-1' });
    for (const round of [1, 2]) {
      // The second start finds the table and bucket and uses them as they are.
      const rt = await startTestRuntime({ dynamoEndpoint: emu.dynamo.url, s3Endpoint: emu.s3.url, sesEndpoint: emu.ses.url });
      try {
        expect(rt.urls).toMatchObject({ dynamodb: emu.dynamo.url, s3: emu.s3.url, ses: emu.ses.url });
        expect(rt.external).toEqual(['dynamodb', 's3', 'ses']);
        const table = await ddb.send(new DescribeTableCommand({ TableName: TABLE_NAME }));
        expect(table.Table?.GlobalSecondaryIndexes?.length).toBeGreaterThan(0);
        await s3.send(new HeadBucketCommand({ Bucket: BUCKET_NAME }));

        const res = await fetch(`${rt.urls.app}/web/sessions`, { method: 'POST', body: JSON.stringify({ botId: 'demo', userName: `round ${round}` }) });
        expect(res.status).toBe(201);
        const { sessionId } = (await res.json()) as { sessionId: string };
        // The session and the bot's greeting land in the existing DynamoDB server.
        await eventually(async () => {
          const items = await ddb.send(new ScanCommand({ TableName: TABLE_NAME }));
          const mine = (items.Items ?? []).filter((i) => i.pk?.S === `SESSION#${sessionId}`);
          return mine.length >= 2 ? mine : undefined;
        });
      } finally {
        await rt.stop();
      }
    }
  });
});
