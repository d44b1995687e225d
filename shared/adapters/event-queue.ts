import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventQueue, FlowEvent } from '../app/ports';

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
