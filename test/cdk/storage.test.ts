import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { logicalId, SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

describe('storage', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthSatchel();
  }, SYNTH_TIMEOUT);

  it('has one on-demand table keyed pk/sk with TTL, a stream, PITR and the conversations GSI projecting only what the list needs', () => {
    s.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    s.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            // Only the agent list's fields, status inputs and search text (table-layout.ts);
            // activity, expiry and the counter as copies the transcript writes refresh, so
            // intake's per-message update of the originals costs the index nothing.
            Projection: {
              ProjectionType: 'INCLUDE',
              NonKeyAttributes: [
                'id',
                'botId',
                'channel',
                'userId',
                'userName',
                'listedActivityAt',
                'listedExpiresAt',
                'operator',
                'waitingForAgentSince',
                'defaultAnswers',
                'lastMessage',
                'offeredButtons',
                'searchText',
                'listedSeq',
              ],
            },
          },
        ],
      },
    });
  });

  it('keeps the attachments bucket private, encrypted, logged and unversioned', () => {
    const bucket = logicalId(s.stack.storage.bucket);
    const props = s.template.toJSON().Resources[bucket].Properties;
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
    expect(props.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: logicalId(s.stack.storage.accessLogsBucket) });
    expect(props.VersioningConfiguration).toBeUndefined();
  });

  it('denies every non-TLS request to the attachments bucket', () => {
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(s.stack.storage.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('allows browser POST uploads and GET/HEAD downloads through CORS, from the API\'s own origin only by default', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedMethods: ['POST', 'GET', 'HEAD'],
            // The chat page and console are served by the HTTP API: https://{id}.execute-api.{region}.{suffix}.
            AllowedOrigins: [{ 'Fn::GetAtt': [logicalId(s.stack.api.httpApi), 'ApiEndpoint'] }],
            AllowedHeaders: ['*'],
          }),
        ],
      },
    });
  });

  it('expires session files after 90 days as a backstop and aborts stale multipart uploads', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'ExpireSessionFiles', Prefix: 'sessions/', ExpirationInDays: 90, Status: 'Enabled' }),
          // Left-over upload keys (a used form posted again): unchecked bytes, gone within a day or two.
          Match.objectLike({ Id: 'ExpireUploads', Prefix: 'uploads/', ExpirationInDays: 1, Status: 'Enabled' }),
          Match.objectLike({ Id: 'AbortIncompleteMultipartUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
  });
});

describe('storage context', () => {
  it('honours fileRetentionDays, allowedOrigins and removalPolicy=destroy', () => {
    const s = synthSatchel({
      context: {
        fileRetentionDays: '7',
        allowedOrigins: 'https://chat.example.com,https://www.example.com',
        removalPolicy: 'destroy',
      },
    });
    const resources = s.template.toJSON().Resources;
    const bucket = resources[logicalId(s.stack.storage.bucket)];
    expect(bucket.DeletionPolicy).toBe('Delete');
    expect(bucket.Properties.CorsConfiguration.CorsRules[0].AllowedOrigins).toEqual([
      'https://chat.example.com',
      'https://www.example.com',
    ]);
    expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Id: 'ExpireSessionFiles', ExpirationInDays: 7 }),
    );
    const table = resources[logicalId(s.stack.storage.table)];
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
  }, SYNTH_TIMEOUT);

  it('rejects an invalid context value with its key', () => {
    expect(() => synthSatchel({ context: { fileRetentionDays: 'soon' } })).toThrow(/fileRetentionDays/);
    expect(() => synthSatchel({ context: { senderEmail: 'not-an-address' } })).toThrow(/senderEmail/);
  }, SYNTH_TIMEOUT);
});
