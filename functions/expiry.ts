import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { lazyDeps, type Deps } from '../shared/app/deps';
import { dynamoDocumentClient, s3Client } from '../shared/adapters/clients';
import { FileStore } from '../shared/adapters/file-store';
import { SessionStore } from '../shared/adapters/session-store';
import { expireFile, expireSession } from '../shared/app/expire-session';
import { ATTACHMENT_SK_PREFIX } from '../shared/adapters/attachment-store';
import { META } from '../shared/adapters/session-store';
import { loadStorageConfig } from '../shared/config';
import { logger } from '../shared/logger';

type StreamRecord = DynamoDBStreamEvent['Records'][number];
const SESSION_PK_PREFIX = 'SESSION#';

/** TTL deletions are REMOVE records made by the DynamoDB service itself. */
const isTtlDeletion = (r: StreamRecord) =>
  r.eventName === 'REMOVE' &&
  r.userIdentity?.type === 'Service' &&
  r.userIdentity?.principalId === 'dynamodb.amazonaws.com' &&
  r.dynamodb?.Keys?.pk?.S?.startsWith(SESSION_PK_PREFIX) === true;

/**
 * What a stream record asks for: a session's META expired (delete everything of the
 * session), or an attachment record with its own TTL expired (delete that file). The CDK
 * stream filter lets exactly these two kinds through; anything else is ignored here too.
 */
function expiryWork(r: StreamRecord): { kind: 'session'; sessionId: string } | { kind: 'file'; sessionId: string; key: string } | undefined {
  if (!isTtlDeletion(r)) return undefined;
  const sessionId = r.dynamodb!.Keys!.pk!.S!.slice(SESSION_PK_PREFIX.length);
  const sk = r.dynamodb!.Keys!.sk?.S ?? '';
  if (sk === META) return { kind: 'session', sessionId };
  const key = r.dynamodb!.OldImage?.key?.S;
  if (sk.startsWith(ATTACHMENT_SK_PREFIX) && key) return { kind: 'file', sessionId, key };
  return undefined;
}

/** Consumes the table stream (filtered on AWS; checked again here) and deletes what expired. */
type ExpiryDeps = Pick<Deps, 'sessions' | 'files'>;

export function createExpiryHandler(getDeps: () => Promise<ExpiryDeps>) {
  return async function expiryHandler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const deps = await getDeps();
    const batchItemFailures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const work = expiryWork(record);
      if (!work) continue;
      const { sessionId } = work;
      try {
        if (work.kind === 'session') await expireSession(deps, sessionId);
        else await expireFile(deps, sessionId, work.key);
      } catch (err) {
        logger.error('expiry failed', { sessionId, kind: work.kind, error: err as Error });
        batchItemFailures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' });
        break; // stream records are ordered; retry from here
      }
    }
    return { batchItemFailures };
  };
}

/** Only the table and the bucket: no bots, secrets or queues, matching the function's role. */
function storageDeps(): ExpiryDeps {
  const config = loadStorageConfig();
  return { sessions: new SessionStore(dynamoDocumentClient(config), config.TABLE_NAME), files: new FileStore(s3Client(config), config.BUCKET_NAME) };
}

export const handler = createExpiryHandler(lazyDeps(async () => storageDeps()));
