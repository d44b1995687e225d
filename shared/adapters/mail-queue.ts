import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MailJob, MailQueue } from '../app/ports';

/** SQS allows message delays of 0 to 900 seconds. */
export const MAX_DELAY_SECONDS = 900;

/** The mail queue on AWS: a standard SQS queue (order does not matter; the claim dedupes). */
export class SqsMailQueue implements MailQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(job: MailJob, delaySeconds: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(job),
        DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(delaySeconds))),
      }),
    );
  }
}
