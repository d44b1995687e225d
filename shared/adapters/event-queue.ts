import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventQueue, FlowEvent } from '../app/ports';
import type { Config } from '../config';
import { sqsClient } from './clients';

/** The events queue on AWS: SQS FIFO, one message group per session so turns run in order. */
export class SqsEventQueue implements EventQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(event: FlowEvent, dedupId: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(event),
        MessageGroupId: event.sessionId,
        MessageDeduplicationId: dedupId.slice(0, 128),
      }),
    );
  }
}

/** The events queue of `EVENTS_QUEUE_URL`; without it (a misconfigured function) every send fails, so nothing is dropped silently. */
export function eventQueueFrom(config: Pick<Config, 'EVENTS_QUEUE_URL' | 'AWS_REGION'>): EventQueue {
  const url = config.EVENTS_QUEUE_URL;
  return url ? new SqsEventQueue(sqsClient(config), url) : { send: async () => Promise.reject(new Error('EVENTS_QUEUE_URL is not set')) };
}
