import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';

/** An SQS record as Lambda receives it; `group` makes it a FIFO record (dedup id = message id). */
export function sqsRecord(body: unknown, opts: { messageId?: string; group?: string; queue?: string } = {}): SQSRecord {
  const messageId = opts.messageId ?? randomUUID();
  return {
    messageId,
    receiptHandle: messageId,
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: '0',
      ...(opts.group !== undefined && { MessageGroupId: opts.group, MessageDeduplicationId: messageId }),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${opts.queue ?? 'satchel-mail'}`,
    awsRegion: 'us-east-1',
  };
}
