import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { buildDeps, lazyDeps, type Deps } from '../shared/app/deps';
import { expireSession } from '../shared/app/expire-session';
import { META } from '../shared/adapters/session-store';
import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';

/** TTL deletions are REMOVE records made by the DynamoDB service itself. */
const isTtlDeletionOfSession = (r: DynamoDBStreamEvent['Records'][number]) =>
  r.eventName === 'REMOVE' &&
  r.userIdentity?.type === 'Service' &&
  r.userIdentity?.principalId === 'dynamodb.amazonaws.com' &&
  r.dynamodb?.Keys?.sk?.S === META &&
  r.dynamodb?.Keys?.pk?.S?.startsWith('SESSION#');

/** Consumes the table stream (filtered on AWS; checked again here) and deletes what expired. */
export function createExpiryHandler(getDeps: () => Promise<Pick<Deps, 'sessions' | 'files'>>) {
  return async function expiryHandler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const deps = await getDeps();
    const batchItemFailures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      if (!isTtlDeletionOfSession(record)) continue;
      const sessionId = record.dynamodb!.Keys!.pk!.S!.slice('SESSION#'.length);
      try {
        await expireSession(deps, sessionId);
      } catch (err) {
        logger.error('expiry failed', { sessionId, error: err as Error });
        batchItemFailures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' });
        break; // stream records are ordered; retry from here
      }
    }
    return { batchItemFailures };
  };
}

export const handler = createExpiryHandler(lazyDeps(() => buildDeps(loadConfig())));
