import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { buildDeps, lazyDeps, type Deps } from '../shared/app/deps';
import type { FlowEvent } from '../shared/app/events';
import { runFlowEvent } from '../shared/app/run-flow';
import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';

/**
 * Consumes the FIFO events queue. Records of one session arrive in order; when one fails,
 * it and every later record of the same session are reported back so SQS retries them in
 * order, while other sessions' records in the batch still complete.
 */
export function createActionsHandler(getDeps: () => Promise<Deps>) {
  return async function actionsHandler(event: SQSEvent): Promise<SQSBatchResponse> {
    const deps = await getDeps();
    const failedGroups = new Set<string>();
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const group = record.attributes.MessageGroupId ?? record.messageId;
      if (failedGroups.has(group)) {
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        const body = JSON.parse(record.body) as FlowEvent;
        await runFlowEvent(deps, { ...body, eventId: record.attributes.MessageDeduplicationId ?? record.messageId });
      } catch (err) {
        logger.error('flow event failed', { messageId: record.messageId, sessionId: group, error: err as Error });
        failedGroups.add(group);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}

export const handler = createActionsHandler(lazyDeps(() => buildDeps(loadConfig())));
