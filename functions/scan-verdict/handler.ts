import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { recordScanVerdict, type ScanVerdictDeps, type VerdictOutcome } from '../../shared/app/scan-verdict';
import { checkScanOverdue, type ScanWatchDeps } from '../../shared/app/scan-watch';
import { SCAN_RESULT_STATUSES } from '../../shared/domain/scan';
import { logger } from '../../shared/logger';
import '../../shared/zod-english';

export const SCAN_RESULT_DETAIL_TYPE = 'GuardDuty Malware Protection Object Scan Result';

/**
 * The EventBridge event GuardDuty Malware Protection for S3 publishes per scanned object
 * (https://docs.aws.amazon.com/guardduty/latest/ug/monitor-with-eventbridge-s3-malware-protection.html),
 * validated here at the edge; only what the verdict needs is required. The local scanner
 * emits the same shape.
 */
// Each schema is built on the first message of its kind, not at cold start (issue 10).
export const ScanResultEvent = z.lazy(() =>
  z.object({
    source: z.literal('aws.guardduty'),
    'detail-type': z.literal(SCAN_RESULT_DETAIL_TYPE),
    detail: z.object({
      s3ObjectDetails: z.object({ bucketName: z.string().check(z.minLength(1)), objectKey: z.string().check(z.minLength(1)) }),
      scanResultDetails: z.object({
        scanResultStatus: z.enum(SCAN_RESULT_STATUSES),
        threats: z.optional(z.nullable(z.array(z.object({ name: z.string() })))),
      }),
    }),
  }),
);
export type ScanResultEvent = z.infer<typeof ScanResultEvent>;

/** A scan watch job as the watch queue carries it, validated here at the edge. */
const ScanWatchJobBody = z.lazy(() =>
  z.object({
    sessionId: z.string().check(z.minLength(1)),
    attachmentId: z.string().check(z.minLength(1)),
    dueAt: z.number(),
  }),
);

const parseWatchJob = (body: string) => {
  try {
    return ScanWatchJobBody.safeParse(JSON.parse(body));
  } catch {
    return undefined;
  }
};

/** An SQS batch (the scan watch queue) rather than an EventBridge event. */
const isSqsEvent = (event: unknown): event is SQSEvent =>
  Array.isArray((event as SQSEvent | undefined)?.Records) && (event as SQSEvent).Records.every((r) => r?.eventSource === 'aws:sqs');

/** What the verdict function uses: the verdict's stores and ports, the watch, and the one bucket it answers for. */
export type ScanVerdictPorts = ScanVerdictDeps & Pick<ScanWatchDeps, 'scanWatch'> & { bucketName: string };

/**
 * The verdict function, with two inputs:
 * - one GuardDuty scan result per invocation (EventBridge → Lambda, asynchronous). A malformed
 *   event is logged and dropped (retrying cannot fix it); an event for another bucket is
 *   ignored; any other failure (a verdict that came before the file's record, a storage
 *   error) is thrown, so EventBridge's retry policy tries again and finally sends it to the
 *   rule's dead-letter queue (alarmed);
 * - batches of the scan watch queue: each file's overdue check (shared/app/scan-watch.ts).
 *   A failed check is reported alone (partial batch response, Powertools' batch processor),
 *   so the queue retries just that one and finally dead-letters it (alarmed).
 */
export function createScanVerdictHandler(getDeps: () => Promise<ScanVerdictPorts>) {
  const checkRecord = async (record: SQSRecord): Promise<void> => {
    const job = parseWatchJob(record.body);
    if (!job?.success) {
      logger.error('malformed scan watch job dropped', { messageId: record.messageId });
      return;
    }
    await checkScanOverdue(await getDeps(), job.data);
  };
  const handler = middy<unknown, VerdictOutcome | 'malformed' | 'other_bucket' | SQSBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async function scanVerdictHandler(event, context) {
      if (isSqsEvent(event)) {
        // A processor per invocation: it holds the batch's state.
        return processPartialResponse(event, checkRecord, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
      }
      const parsed = ScanResultEvent.safeParse(event);
      if (!parsed.success) {
        logger.error('malformed scan result event dropped', { issues: parsed.error.issues.map((i) => i.message) });
        return 'malformed';
      }
      const { s3ObjectDetails, scanResultDetails } = parsed.data.detail;
      const deps = await getDeps();
      if (s3ObjectDetails.bucketName !== deps.bucketName) {
        logger.warn('scan result for another bucket ignored', { bucketName: s3ObjectDetails.bucketName });
        return 'other_bucket';
      }
      return recordScanVerdict(deps, {
        objectKey: s3ObjectDetails.objectKey,
        status: scanResultDetails.scanResultStatus,
        threats: scanResultDetails.threats?.map((t) => t.name),
      });
    });
  // The local scanner and tests may call it without a Lambda context.
  function scanVerdict(event: SQSEvent, context?: Context): Promise<SQSBatchResponse>;
  function scanVerdict(event: unknown, context?: Context): Promise<VerdictOutcome | 'malformed' | 'other_bucket'>;
  function scanVerdict(event: unknown, context?: Context) {
    return handler(event, context ?? ({} as Context));
  }
  return scanVerdict;
}
