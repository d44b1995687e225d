import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { tellUserEventNotProcessed, type NoticeDeps } from '../../shared/app/event-not-processed';
import type { FlowEvent } from '../../shared/app/ports';
import { QUEUE_MAX_RECEIVE_COUNT } from '../../shared/app/retry-policy';
import { runFlowEvent, type TurnDeps } from '../../shared/app/run-flow';
import { MAX_FILES_PER_CHANNEL_MESSAGE } from '../../shared/domain/attachment';
import { logger } from '../../shared/logger';
import '../../shared/zod-english';

/** What actions uses: a turn's ports (the flow ports carry uploads, media, actions, delivery, email). */
export type ActionsPorts = TurnDeps & NoticeDeps;

const Media = z.array(z.object({ type: z.string(), url: z.string() })).check(z.maxLength(MAX_FILES_PER_CHANNEL_MESSAGE));
const ChannelMedia = z
  .array(
    z.object({
      kind: z.string(),
      ref: z.string().check(z.minLength(1)),
      fileName: z.optional(z.string()),
      contentType: z.optional(z.string()),
      size: z.optional(z.int().check(z.minimum(0))),
      sha256: z.optional(z.string().check(z.maxLength(100))),
    }),
  )
  .check(z.maxLength(MAX_FILES_PER_CHANNEL_MESSAGE));

/** A queued flow event, validated here at the edge. */
const FlowEventBody: z.ZodMiniType<FlowEvent> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session_started'), sessionId: z.string().check(z.minLength(1)) }),
  z.object({
    type: z.literal('user_message'),
    sessionId: z.string().check(z.minLength(1)),
    messageSeq: z.int().check(z.minimum(0)),
    text: z.optional(z.string()),
    buttonIndex: z.optional(z.int().check(z.minimum(0))),
    uploadIds: z.optional(z.array(z.string())),
    userMessage: z.optional(
      z.object({ seq: z.int().check(z.minimum(1)), at: z.number(), from: z.literal('user'), text: z.optional(z.string()) }),
    ),
  }),
  z.object({
    type: z.literal('channel_message'),
    sessionId: z.string().check(z.minLength(1)),
    channel: z.string().check(z.regex(/^[a-z0-9-]{1,40}$/)),
    messageId: z.string().check(z.minLength(1)),
    text: z.optional(z.string()),
    buttonIndex: z.optional(z.int().check(z.minimum(0))),
    media: z.optional(ChannelMedia),
  }),
  z.object({ type: z.literal('deliver'), sessionId: z.string().check(z.minLength(1)) }),
  z.object({
    type: z.literal('messenger_message'),
    sessionId: z.string().check(z.minLength(1)),
    mid: z.string().check(z.minLength(1)),
    text: z.optional(z.string()),
    buttonIndex: z.optional(z.int().check(z.minimum(0))),
    media: z.optional(Media),
  }),
]);

/** A queue body that is not a flow event. */
class MalformedEvent extends Error {
  override name = 'MalformedEvent';
}

function parseEvent(record: SQSRecord): FlowEvent {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    throw new MalformedEvent('not JSON');
  }
  const parsed = FlowEventBody.safeParse(json);
  if (!parsed.success) throw new MalformedEvent('not a flow event');
  return parsed.data;
}

/** The flow event id a record carries: its deduplication id (intake's), as the turn uses it. */
const eventIdOf = (record: SQSRecord) => record.attributes.MessageDeduplicationId ?? record.messageId;

/**
 * Tells the user a record's flow event will not be processed (it failed every retry), once per
 * event; never throws. Used by the handler at a record's last attempt on AWS, and by the local
 * runtime when its queue dead-letters a record.
 */
export function createNotProcessedNotifier(getPorts: () => Promise<ActionsPorts>) {
  return async (record: SQSRecord): Promise<void> => {
    try {
      const event = parseEvent(record);
      await tellUserEventNotProcessed(await getPorts(), { ...event, eventId: eventIdOf(record) });
    } catch (err) {
      // A malformed body has nobody to tell; a store still down loses the warning (logged).
      logger.error('could not tell the user their message was not processed', { messageId: record.messageId, error: err as Error });
    }
  };
}

/** The events queue's maxReceiveCount on AWS (the stack sets the same number). */
export const EVENTS_MAX_RECEIVE_COUNT = QUEUE_MAX_RECEIVE_COUNT;

export interface ActionsHandlerOptions {
  /**
   * The events queue's maxReceiveCount (AWS): a record that fails at this receive is about to
   * be dead-lettered, so the user is told now. Unset (the local runtime, whose queue retries
   * for a time rather than a count and tells the user when it dead-letters): nobody is told here.
   */
  maxReceiveCount?: number;
}

/**
 * Consumes the FIFO events queue with Powertools' FIFO batch processor. Records of one session
 * arrive in order; when one fails, it and every later record of the same session are
 * reported back (`skipGroupOnError`) so SQS retries them in order, while other sessions'
 * records in the batch still complete. A record reported back at its last receive (see
 * `maxReceiveCount`), whether it failed or was skipped behind one that did, moves to the
 * dead-letter queue next: its user gets a `message_not_processed` warning first.
 */
export function createActionsHandler(getPorts: () => Promise<ActionsPorts>, options: ActionsHandlerOptions = {}) {
  const notify = createNotProcessedNotifier(getPorts);
  const runRecord = async (record: SQSRecord): Promise<void> => {
    const sessionId = record.attributes.MessageGroupId ?? record.messageId;
    try {
      // A body that is not a flow event fails like any other, so it ends in the dead-letter
      // queue where it can be looked at, rather than vanishing.
      const event = parseEvent(record);
      await runFlowEvent(await getPorts(), { ...event, eventId: eventIdOf(record) });
    } catch (err) {
      logger.error('flow event failed', { messageId: record.messageId, sessionId, error: err as Error });
      throw err;
    }
  };
  const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async function actionsHandler(event, context) {
      // A processor per invocation: it holds the batch's state, and the local runtime may run two at once.
      const response = await processPartialResponse(event, runRecord, new SqsFifoPartialProcessorAsync(), {
        context,
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      });
      const { maxReceiveCount } = options;
      if (maxReceiveCount !== undefined && response.batchItemFailures.length) {
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        const last = event.Records.filter((r) => failed.has(r.messageId) && Number(r.attributes.ApproximateReceiveCount) >= maxReceiveCount);
        for (const record of last) await notify(record);
      }
      return response;
    });
  // The local runtime and tests may call it without a Lambda context.
  return (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => handler(event, context ?? ({} as Context));
}
