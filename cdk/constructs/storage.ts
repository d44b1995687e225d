import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SESSION_FILES_PREFIX, TABLE_DEFINITION, TTL_ATTRIBUTE, UPLOADS_PREFIX, UPLOADS_RETENTION_DAYS } from '../../shared/adapters/table-layout';

/** The layout lives in shared/adapters/table-layout.ts, shared with the adapters and the local runtime. */
export { CONVERSATIONS_INDEX, SESSION_FILES_PREFIX, TTL_ATTRIBUTE, UPLOADS_PREFIX } from '../../shared/adapters/table-layout';

export interface StorageProps {
  readonly removalPolicy: RemovalPolicy;
  /** Browser origins allowed to POST uploads straight to the bucket (by default the API's own origin). */
  readonly allowedOrigins: string[];
  /** Lifecycle backstop for session files (cdk/timing.ts fileBackstopDays); expiry normally deletes them much earlier. */
  readonly fileRetentionDays: number;
}

/**
 * The single-table DynamoDB store and the attachments bucket. Sessions expire through
 * DynamoDB TTL; the stream carries the deletion to the expiry function, which removes the
 * session's other records and files. The bucket lifecycle rule is only a backstop.
 */
export class Storage extends Construct {
  readonly table: Table;
  readonly bucket: Bucket;
  readonly accessLogsBucket: Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    // Deliver server access logs through a bucket policy rather than the legacy
    // LogDeliveryWrite ACL, so both buckets can keep ACLs disabled (BucketOwnerEnforced).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;
    // With removalPolicy=destroy, `cdk destroy` empties the buckets first (CDK's auto-delete
    // custom resource), so teardown needs no manual step.
    const autoDeleteObjects = props.removalPolicy === RemovalPolicy.DESTROY;

    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_DEFINITION.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_DEFINITION.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: retain,
      removalPolicy: props.removalPolicy,
    });
    for (const index of TABLE_DEFINITION.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        // Only what the agent list shows and searches (see table-layout.ts), not whole sessions.
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.projection.nonKeyAttributes],
      });
    }

    // Server access logs for the attachments bucket. Object keys are random per session, so
    // the logs carry no user file names.
    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(90) }],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects,
    });

    // Versioning stays off on purpose: a deleted attachment must be gone, not a noncurrent version.
    this.bucket = new Bucket(this, 'Attachments', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'attachments/',
      cors: [
        {
          // Browsers POST uploads with a presigned form and read files through 60-s presigned GETs.
          allowedMethods: [HttpMethods.POST, HttpMethods.GET, HttpMethods.HEAD],
          allowedOrigins: props.allowedOrigins,
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag'],
          maxAge: 3000,
        },
      ],
      lifecycleRules: [
        {
          id: 'ExpireSessionFiles',
          prefix: SESSION_FILES_PREFIX,
          expiration: Duration.days(props.fileRetentionDays),
        },
        {
          // Upload keys hold unchecked bytes: a file is copied out of its key when its slot is
          // used, so what is left there (a form posted again, an upload never sent) goes soon.
          id: 'ExpireUploads',
          prefix: UPLOADS_PREFIX,
          expiration: Duration.days(UPLOADS_RETENTION_DAYS),
        },
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects,
    });
  }
}

