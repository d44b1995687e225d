import { Duration, Validations } from 'aws-cdk-lib';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUE_MAX_RECEIVE_COUNT, RETRY_WINDOW_MS } from '../../shared/app/retry-policy';
import type { Monitoring } from './monitoring';

const DEAD_LETTER_RETENTION = Duration.days(14);

export interface WorkQueueProps {
  /** FIFO keeps one session's events in order (MessageGroupId = session id). */
  readonly fifo?: boolean;
  /** At least 6x the consumer's timeout, as AWS recommends for Lambda event sources. */
  readonly visibilityTimeout: Duration;
  /** What the queue carries, for the dead-letter alarm's description. */
  readonly purpose: string;
  readonly monitoring: Monitoring;
  /**
   * Receives before a message moves to the dead-letter queue (default QUEUE_MAX_RECEIVE_COUNT).
   * A failed message comes back one visibility timeout later, so the retries last
   * (maxReceiveCount - 1) x visibilityTimeout, which must reach RETRY_WINDOW_MS (15 minutes).
   */
  readonly maxReceiveCount?: number;
}

/**
 * A queue feeding a Lambda consumer, with its dead-letter queue and an alarm on it. Both
 * queues are encrypted (SSE-SQS) and refuse non-TLS requests.
 */
export class WorkQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const fifo = props.fifo ?? false;
    const maxReceiveCount = props.maxReceiveCount ?? QUEUE_MAX_RECEIVE_COUNT;
    const retryWindowMs = (maxReceiveCount - 1) * props.visibilityTimeout.toMilliseconds();
    if (retryWindowMs < RETRY_WINDOW_MS) {
      throw new Error(
        `${id}: ${maxReceiveCount} receives ${props.visibilityTimeout.toSeconds()} s apart retry for ${retryWindowMs / 1000} s, ` +
          `less than the ${RETRY_WINDOW_MS / 60_000} minutes failing work must be retried; raise maxReceiveCount`,
      );
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      fifo: fifo || undefined,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    acknowledgeTerminalQueue(this.deadLetterQueue, `it is the dead-letter queue of the ${props.purpose} queue`, [
      'Serverless-SQSRedrivePolicy',
    ]);

    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      // Senders set an explicit MessageDeduplicationId; high-throughput mode scales per session.
      ...(fifo && {
        fifo: true,
        contentBasedDeduplication: false,
        deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
        fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      }),
    });

    props.monitoring.alarmWhenNotEmpty(
      `${id}DeadLetterAlarm`,
      this.deadLetterQueue,
      `Messages of the ${props.purpose} queue failed ${maxReceiveCount} times and were moved to its dead-letter queue.`,
    );
  }
}

/**
 * A standard queue that only ever receives failures (a DLQ or an on-failure destination):
 * encrypted, TLS-only, 14-day retention, alarmed.
 */
export class FailureQueue extends Construct {
  readonly queue: Queue;

  constructor(scope: Construct, id: string, props: { purpose: string; monitoring: Monitoring }) {
    super(scope, id);
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    // AwsSolutions-SQS3 only recognises queues named in another queue's redrive policy as DLQs.
    acknowledgeTerminalQueue(this.queue, `it is the on-failure destination of ${props.purpose}`, [
      'AwsSolutions-SQS3',
      'Serverless-SQSRedrivePolicy',
    ]);
    props.monitoring.alarmWhenNotEmpty(`${id}Alarm`, this.queue, `Records of ${props.purpose} failed every retry.`);
  }
}

/** A queue at the end of the failure chain has nowhere further to redrive to. */
function acknowledgeTerminalQueue(queue: Queue, why: string, ruleIds: string[]): void {
  const reason =
    `No redrive policy because ${why}: it is the end of the failure chain, keeps messages ` +
    `for ${DEAD_LETTER_RETENTION.toDays()} days for inspection and raises a CloudWatch alarm as soon as it is not empty.`;
  Validations.of(queue).acknowledge(...ruleIds.map((id) => ({ id, reason })));
}
