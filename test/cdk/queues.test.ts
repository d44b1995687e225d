import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTACHMENT_SK_PREFIX } from '../../shared/adapters/attachment-store';
import { META } from '../../shared/adapters/session-store';
import { DEFAULT_MAILER_OPTIONS } from '../../shared/app/mail-attachment';
import { QUEUE_MAX_RECEIVE_COUNT, RETRY_WINDOW_MS } from '../../shared/app/retry-policy';
import { functionProps, logicalId, SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

describe('queues and event sources', () => {
  let s: Synthesized;
  let resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  beforeAll(() => {
    s = synthSatchel();
    resources = s.template.toJSON().Resources;
  }, SYNTH_TIMEOUT);
  const props = (construct: Parameters<typeof logicalId>[0]) => resources[logicalId(construct)]!.Properties;
  const arnOf = (construct: Parameters<typeof logicalId>[0]) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });

  it('events queue is FIFO, encrypted, with a FIFO DLQ after 5 receives', () => {
    const { queue, deadLetterQueue } = s.stack.eventsQueue;
    expect(props(queue)).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: arnOf(deadLetterQueue), maxReceiveCount: 5 },
    });
    expect(props(deadLetterQueue)).toMatchObject({ FifoQueue: true, SqsManagedSseEnabled: true });
  });

  it('events queue visibility timeout is at least 6x the actions timeout', () => {
    const actionsTimeout = functionProps(s, 'actions').Timeout as number;
    // One turn with one Send Attachment (the fixtures' longest run): 15 s + 45 s fetch + 10 s (cdk/timing.ts).
    expect(actionsTimeout).toBe(70);
    expect(props(s.stack.eventsQueue.queue).VisibilityTimeout).toBeGreaterThanOrEqual(6 * actionsTimeout);
  });

  it('mail queue is standard and encrypted, with a DLQ, and outlasts 6 mailer timeouts', () => {
    const { queue, deadLetterQueue } = s.stack.mailQueue!;
    expect(props(queue).FifoQueue).toBeUndefined();
    expect(props(queue)).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: arnOf(deadLetterQueue), maxReceiveCount: 5 },
    });
    expect(props(queue).VisibilityTimeout).toBeGreaterThanOrEqual(6 * (functionProps(s, 'mailer').Timeout as number));
  });

  it('retries each queue for at least 15 minutes: a failed message returns a visibility timeout later', () => {
    expect(QUEUE_MAX_RECEIVE_COUNT).toBe(5);
    for (const q of [s.stack.eventsQueue, s.stack.mailQueue!]) {
      const { VisibilityTimeout, RedrivePolicy } = props(q.queue);
      expect((RedrivePolicy.maxReceiveCount - 1) * VisibilityTimeout * 1000).toBeGreaterThanOrEqual(RETRY_WINDOW_MS);
    }
  });

  it('the mail claim lease outlasts a mailer run and ends before the retry after a crash (the visibility timeout)', () => {
    const leaseSeconds = DEFAULT_MAILER_OPTIONS.claimLeaseMs / 1000;
    const mailerTimeout = functionProps(s, 'mailer').Timeout as number;
    const visibility = props(s.stack.mailQueue!.queue).VisibilityTimeout as number;
    // A live holder is never overtaken (its Lambda stops at the timeout, before the lease ends) ...
    expect(mailerTimeout).toBeLessThan(leaseSeconds);
    // ... and a crashed holder never blocks the receive that should take over.
    expect(leaseSeconds).toBeLessThan(visibility);
  });

  it('outputs the dead-letter queue ARNs for aws sqs start-message-move-task', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.EventsDeadLetterQueueArn!.Value).toEqual(arnOf(s.stack.eventsQueue.deadLetterQueue));
    expect(outputs.MailDeadLetterQueueArn!.Value).toEqual(arnOf(s.stack.mailQueue!.deadLetterQueue));
  });

  it('every queue refuses non-TLS requests', () => {
    const queues = [s.stack.eventsQueue, s.stack.mailQueue!].flatMap((q) => [q.queue, q.deadLetterQueue]);
    queues.push(s.stack.expiryFailures.queue);
    for (const queue of queues) {
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('alarms as soon as a dead-letter queue holds a message', () => {
    const dlqs = [s.stack.eventsQueue.deadLetterQueue, s.stack.mailQueue!.deadLetterQueue, s.stack.expiryFailures.queue];
    for (const dlq of dlqs) {
      s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(dlq), 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') }],
      });
    }
  });

  it('actions consumes the events queue one record at a time with partial batch responses', () => {
    // Batch size 1: a batch's records run one after another, so a larger one would need a
    // timeout (and a 6x visibility timeout) of several turns (cdk/timing.ts, test/cdk/timing.test.ts).
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(s.stack.eventsQueue.queue),
      FunctionName: { Ref: logicalId(s.stack.functions.actions.fn) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('mailer consumes the mail queue in small batches with partial batch responses', () => {
    const [mapping] = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(r.Properties.FunctionName) === JSON.stringify({ Ref: logicalId(s.stack.functions.mailer!.fn) }),
    );
    expect(mapping!.Properties.EventSourceArn).toEqual(arnOf(s.stack.mailQueue!.queue));
    expect(mapping!.Properties.BatchSize).toBeGreaterThanOrEqual(1);
    expect(mapping!.Properties.BatchSize).toBeLessThanOrEqual(5);
    expect(mapping!.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });

  it('expiry only receives TTL deletions of session META and attachment records, with retries and an on-failure queue', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(s.stack.storage.table), 'StreamArn'] },
      FunctionName: { Ref: logicalId(s.stack.functions.expiry.fn) },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: arnOf(s.stack.expiryFailures.queue) } },
    });
    const mapping = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FilterCriteria,
    )!;
    const ttlDeletionOf = (sk: unknown) => ({
      eventName: ['REMOVE'],
      userIdentity: { type: ['Service'], principalId: ['dynamodb.amazonaws.com'] },
      dynamodb: { Keys: { sk: { S: sk } } },
    });
    const patterns = (mapping.Properties.FilterCriteria.Filters as { Pattern: string }[]).map((f) => JSON.parse(f.Pattern));
    expect(patterns).toEqual([ttlDeletionOf([META]), ttlDeletionOf([{ prefix: ATTACHMENT_SK_PREFIX }])]);
  });
});
