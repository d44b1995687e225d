import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { MailBusy, sendAttachmentEmail, type MailDeps, type MailerOptions } from '../../shared/app/mail-attachment';
import { logger } from '../../shared/logger';
import '../../shared/zod-english';

/** What the mailer uses: bots (recipients), records, files, tokens (links), SES and the claims. */
export type MailerPorts = MailDeps;

/** A mail job as the queue carries it, validated here at the edge. */
const MailJobBody = z.object({
  sessionId: z.string().check(z.minLength(1)),
  attachmentId: z.string().check(z.minLength(1)),
  heldForAgentSince: z.optional(z.number()),
});

const parseJob = (body: string) => {
  try {
    return MailJobBody.safeParse(JSON.parse(body));
  } catch {
    return undefined;
  }
};

/**
 * Consumes the mail queue: one attachment email per record. A failed record is reported
 * alone (partial batch response, from Powertools' batch processor) so the queue retries
 * just that one, and after its receive limit moves it to the dead-letter queue (alarmed).
 */
export function createMailerHandler(getPorts: () => Promise<MailerPorts>, options: Partial<MailerOptions> = {}) {
  const mailRecord = async (record: SQSRecord): Promise<void> => {
    const job = parseJob(record.body);
    if (!job?.success) {
      // Retrying cannot fix a malformed job.
      logger.error('malformed mail job dropped', { messageId: record.messageId });
      return;
    }
    try {
      await sendAttachmentEmail(await getPorts(), job.data, options);
    } catch (err) {
      const { sessionId, attachmentId } = job.data;
      if (err instanceof MailBusy) logger.info('attachment email busy; retrying later', { sessionId, attachmentId });
      else logger.error('attachment email failed', { sessionId, attachmentId, messageId: record.messageId, error: err as Error });
      throw err;
    }
  };
  const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async function mailerHandler(event, context) {
      // A processor per invocation: it holds the batch's state, and the local runtime may run two at once.
      // One email at a time: each may hold a file of up to 40 MB in memory while it is encoded.
      return processPartialResponse(event, mailRecord, new BatchProcessor(EventType.SQS), {
        context,
        processInParallel: false,
        throwOnFullBatchFailure: false,
      });
    });
  // The local runtime and tests may call it without a Lambda context.
  return (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => handler(event, context ?? ({} as Context));
}
