import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Work queued from the intake side to the actions function, in order per session. */
export type FlowEvent =
  | { type: 'session_started'; sessionId: string }
  | {
      type: 'user_message';
      sessionId: string;
      /** Transcript position of the user's message, written by intake. */
      messageSeq: number;
      text?: string;
      buttonIndex?: number;
      /** Web upload slots to check and attach (SPEC section 3). */
      uploadIds?: string[];
    }
  | {
      /** A Messenger user's message; unlike the web, its transcript entry is written by actions. */
      type: 'messenger_message';
      sessionId: string;
      mid: string;
      /** What the user wrote, or the title of the quick reply / button they pressed. */
      text?: string;
      buttonIndex?: number;
      /** Files to download from Meta's CDN (`payload.url`) and check. */
      media?: { type: string; url: string }[];
    };

export interface EventQueue {
  /** `dedupId` makes a redelivered send harmless (FIFO deduplication). */
  send(event: FlowEvent, dedupId: string): Promise<void>;
}

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
