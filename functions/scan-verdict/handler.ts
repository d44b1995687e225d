import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { recordScanVerdict, type ScanVerdictDeps, type VerdictOutcome } from '../../shared/app/scan-verdict';
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
export const ScanResultEvent = z.object({
  source: z.literal('aws.guardduty'),
  'detail-type': z.literal(SCAN_RESULT_DETAIL_TYPE),
  detail: z.object({
    s3ObjectDetails: z.object({ bucketName: z.string().check(z.minLength(1)), objectKey: z.string().check(z.minLength(1)) }),
    scanResultDetails: z.object({
      scanResultStatus: z.enum(SCAN_RESULT_STATUSES),
      threats: z.optional(z.nullable(z.array(z.object({ name: z.string() })))),
    }),
  }),
});
export type ScanResultEvent = z.infer<typeof ScanResultEvent>;

/**
 * The verdict function: one GuardDuty scan result per invocation (EventBridge → Lambda,
 * asynchronous). A malformed event is logged and dropped (retrying cannot fix it); an
 * event for another bucket is ignored; any other failure (a verdict that came before the
 * file's record, a storage error) is thrown, so EventBridge's retry policy tries again and
 * finally sends it to the rule's dead-letter queue (alarmed).
 */
/** What the verdict function uses: the verdict's stores and ports, and the one bucket it answers for. */
export type ScanVerdictPorts = ScanVerdictDeps & { bucketName: string };

export function createScanVerdictHandler(getDeps: () => Promise<ScanVerdictPorts>) {
  const handler = middy<unknown, VerdictOutcome | 'malformed' | 'other_bucket', Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async function scanVerdictHandler(event) {
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
  return (event: unknown, context?: Context) => handler(event, context ?? ({} as Context));
}
