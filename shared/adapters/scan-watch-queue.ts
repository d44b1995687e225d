import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ScanWatch, ScanWatchJob } from '../app/ports';
import { MAX_DELAY_SECONDS } from './mail-queue';

/**
 * The scan watch on AWS: a standard SQS queue whose messages are each delayed (DelaySeconds,
 * at most 900) before the scan-verdict function reads them. The message carries when the
 * check is due, so a longer wait is chained: the consumer sends it again for the time left.
 */
export class SqsScanWatch implements ScanWatch {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  async schedule(sessionId: string, attachmentId: string, delaySeconds: number): Promise<void> {
    const wait = Math.max(0, Math.round(delaySeconds));
    const job: ScanWatchJob = { sessionId, attachmentId, dueAt: this.now() + wait * 1000 };
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(job),
        DelaySeconds: Math.min(MAX_DELAY_SECONDS, wait),
      }),
    );
  }
}
