import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ATTACHMENT_SK_PREFIX, META, SESSION_PK_PREFIX } from '../../shared/adapters/table-layout';
import { expireFile, expireSession } from '../../shared/app/expire-session';
import type { Ports, WithSessionAdmin } from '../../shared/app/ports';
import { logger } from '../../shared/logger';

/** What expiry uses: the table and the bucket, nothing else (matching its role). */
export type ExpiryPorts = Pick<Ports, 'files'> & WithSessionAdmin<'deleteAll'>;

/** TTL deletions are REMOVE records made by the DynamoDB service itself. */
const isTtlDeletion = (r: DynamoDBRecord) =>
  r.eventName === 'REMOVE' &&
  r.userIdentity?.type === 'Service' &&
  r.userIdentity?.principalId === 'dynamodb.amazonaws.com' &&
  r.dynamodb?.Keys?.pk?.S?.startsWith(SESSION_PK_PREFIX) === true;

/**
 * What a stream record asks for: a session's META expired (delete everything of the
 * session), or an attachment record with its own TTL expired (delete that file). The CDK
 * stream filter lets exactly these two kinds through; anything else is ignored here too.
 */
function expiryWork(r: DynamoDBRecord): { kind: 'session'; sessionId: string } | { kind: 'file'; sessionId: string; key: string } | undefined {
  if (!isTtlDeletion(r)) return undefined;
  const sessionId = r.dynamodb!.Keys!.pk!.S!.slice(SESSION_PK_PREFIX.length);
  const sk = r.dynamodb!.Keys!.sk?.S ?? '';
  if (sk === META) return { kind: 'session', sessionId };
  const key = r.dynamodb!.OldImage?.key?.S;
  if (sk.startsWith(ATTACHMENT_SK_PREFIX) && key) return { kind: 'file', sessionId, key };
  return undefined;
}

/**
 * Consumes the table stream (filtered on AWS; checked again here) and deletes what expired.
 * Powertools' batch processor reports each failed record; the stream resumes from the
 * earliest of them, and the work is idempotent, so records after it may safely run again.
 */
export function createExpiryHandler(getPorts: () => Promise<ExpiryPorts>) {
  const expireRecord = async (record: DynamoDBRecord): Promise<void> => {
    const work = expiryWork(record);
    if (!work) return;
    const ports = await getPorts();
    try {
      if (work.kind === 'session') await expireSession(ports, work.sessionId);
      else await expireFile(ports, work.sessionId, work.key);
    } catch (err) {
      logger.error('expiry failed', { sessionId: work.sessionId, kind: work.kind, error: err as Error });
      throw err;
    }
  };
  const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async function expiryHandler(event, context) {
      // A processor per invocation: it holds the batch's state, and the local runtime may run two at once.
      return processPartialResponse(event, expireRecord, new BatchProcessor(EventType.DynamoDBStreams), { context, throwOnFullBatchFailure: false });
    });
  // The local runtime and tests may call it without a Lambda context.
  return (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => handler(event, context ?? ({} as Context));
}
