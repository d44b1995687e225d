import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { buildDeps, lazyDeps, type Deps } from '../shared/app/deps';
import { MailBusy, sendAttachmentEmail, type MailerOptions } from '../shared/app/mail-attachment';
import { loadConfig } from '../shared/config';
import { logger } from '../shared/logger';

const MailJobBody = z.object({
  sessionId: z.string().min(1),
  attachmentId: z.string().min(1),
  heldForAgentSince: z.number().optional(),
});

/**
 * Consumes the mail queue: one attachment email per record. A failed record is reported
 * alone (partial batch failure) so the queue retries just that one, and after its receive
 * limit moves it to the dead-letter queue (alarmed).
 */
export function createMailerHandler(getDeps: () => Promise<Deps>, options: Partial<MailerOptions> = {}) {
  return async function mailerHandler(event: SQSEvent): Promise<SQSBatchResponse> {
    const deps = await getDeps();
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let body: unknown;
      try {
        body = JSON.parse(record.body);
      } catch {
        body = undefined;
      }
      const job = MailJobBody.safeParse(body);
      if (!job.success) {
        // Retrying cannot fix a malformed job.
        logger.error('malformed mail job dropped', { messageId: record.messageId });
        continue;
      }
      try {
        await sendAttachmentEmail(deps, job.data, options);
      } catch (err) {
        const { sessionId, attachmentId } = job.data;
        if (err instanceof MailBusy) logger.info('attachment email busy; retrying later', { sessionId, attachmentId });
        else logger.error('attachment email failed', { sessionId, attachmentId, messageId: record.messageId, error: err as Error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}

export const handler = createMailerHandler(lazyDeps(() => buildDeps(loadConfig())));
