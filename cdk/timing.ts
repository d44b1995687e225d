import { Duration } from 'aws-cdk-lib';
import { DEFAULT_MAILER_OPTIONS } from '../shared/app/mail-attachment';
import { QUEUE_MAX_RECEIVE_COUNT, RETRY_WINDOW_MS } from '../shared/app/retry-policy';
import { DEFAULT_SEND_ATTACHMENT_LIMITS } from '../shared/app/send-attachment';
import type { Bot } from '../shared/bots/schema';

/**
 * The timing of the two queue consumers, derived in one place so that no batch can outlive
 * its function (issue 13, point 4):
 *
 *   record budget  = turn overhead + actions per turn x (fetch budget + action overhead)
 *   timeout        = batch size x record budget
 *   visibility     = max(6 x timeout,      (AWS guidance for SQS event sources)
 *                        15 min / 4)       (a failing message is retried for at least
 *                                           RETRY_WINDOW_MS over QUEUE_MAX_RECEIVE_COUNT receives)
 *
 * - The **fetch budget** is the Send Attachment fetch's whole-response deadline, which the
 *   runtime enforces (DEFAULT_SEND_ATTACHMENT_LIMITS.timeoutMs, 45 s): a stalling endpoint
 *   ends in `onError`, never in a Lambda timeout.
 * - **Actions per turn** is read from the bots at synth: the longest run of Send Attachment
 *   actions one input can start without the flow waiting for the user again (`next` and
 *   `onError` of actions, `next` of messages without buttons). A loop of actions that never
 *   waits is refused, as is a chain that cannot fit Lambda's 15 minutes.
 * - **Batch size 1** for actions: records of one FIFO batch run one after another, so a batch
 *   of 10 needs 10 record budgets (over 10 minutes with one action each), and its 6x visibility
 *   timeout would delay every retry by an hour. One record per invocation keeps the timeout at
 *   one turn; sessions still run in parallel (one message group each), and the extra Lambda
 *   requests cost $0.20 per million turns. Nor would larger batches save SQS requests at chat
 *   rates: a FIFO event source has no batching window (MaximumBatchingWindowInSeconds is not
 *   supported for FIFO queues), so a receive returns what is waiting, about one record, and
 *   the receive + delete per event stay (issue 11 point 6; README "Data path and cost").
 * - The mailer keeps small batches: its per-record budget covers reading a file of up to 40 MB
 *   from S3, building the MIME message and one SES call, and the mail claim lease must outlast
 *   the whole invocation (checked below).
 */

/** The Send Attachment fetch deadline the runtime enforces (connect, redirects and body). */
export const FETCH_BUDGET = Duration.millis(DEFAULT_SEND_ATTACHMENT_LIMITS.timeoutMs);
/** After the body: completing the S3 multipart upload and writing the attachment record. */
export const ACTION_OVERHEAD = Duration.seconds(10);
/** A turn besides its actions: session reads and writes, replies, Messenger Send API calls, pushes, the mail job. */
export const TURN_OVERHEAD = Duration.seconds(15);
/** Events-queue records per actions invocation. */
export const ACTIONS_BATCH_SIZE = 1;
/** Mail-queue records per mailer invocation, and the budget of each. */
export const MAILER_BATCH_SIZE = 5;
export const MAILER_RECORD_BUDGET = Duration.seconds(24);
/** AWS: set the source queue's visibility timeout to at least six times the function timeout. */
export const VISIBILITY_FACTOR = 6;
/** Lambda's longest timeout. */
export const MAX_FUNCTION_TIMEOUT = Duration.minutes(15);
/** The flow engine's bound on interactions per input (shared/domain/flow.ts). */
const MAX_STEPS = 50;

export interface ConsumerTiming {
  readonly batchSize: number;
  /** Worst case of one record. */
  readonly recordBudget: Duration;
  /** batchSize x recordBudget. */
  readonly timeout: Duration;
  /** VISIBILITY_FACTOR x timeout, or longer so retries span RETRY_WINDOW_MS. */
  readonly visibilityTimeout: Duration;
}

export interface QueueTiming {
  /** Most Send Attachment actions one input can run, over every bot. */
  readonly actionsPerTurn: number;
  readonly actions: ConsumerTiming;
  readonly mailer: ConsumerTiming;
}

export class TimingError extends Error {
  override name = 'TimingError';
}

/** A consumer queue's visibility timeout: VISIBILITY_FACTOR x the consumer's timeout, or longer so retries span RETRY_WINDOW_MS. */
export const visibilityFor = (timeout: Duration): Duration =>
  Duration.seconds(Math.max(VISIBILITY_FACTOR * timeout.toSeconds(), Math.ceil(RETRY_WINDOW_MS / 1000 / (QUEUE_MAX_RECEIVE_COUNT - 1))));

function consumer(batchSize: number, recordBudgetSeconds: number): ConsumerTiming {
  const timeout = Duration.seconds(batchSize * recordBudgetSeconds);
  return {
    batchSize,
    recordBudget: Duration.seconds(recordBudgetSeconds),
    timeout,
    visibilityTimeout: visibilityFor(timeout),
  };
}

/** Worst case of one events-queue record with `actions` Send Attachment actions, in seconds. */
export const actionsRecordBudgetSeconds = (actions: number): number =>
  TURN_OVERHEAD.toSeconds() + actions * (FETCH_BUDGET.toSeconds() + ACTION_OVERHEAD.toSeconds());

export function queueTiming(bots: readonly Bot[]): QueueTiming {
  let actionsPerTurn = 0;
  for (const bot of bots) {
    const { count, via } = longestActionRun(bot);
    const seconds = actionsRecordBudgetSeconds(count);
    if (!Number.isFinite(count) || ACTIONS_BATCH_SIZE * seconds > MAX_FUNCTION_TIMEOUT.toSeconds()) {
      throw new TimingError(
        `Bot "${bot.id}": interactions ${via.join(' -> ')} run ${Number.isFinite(count) ? count : 'endless'} Send Attachment actions ` +
          `for one input without waiting for the user; each may take ${FETCH_BUDGET.toSeconds()} s, more than the actions ` +
          `function's ${MAX_FUNCTION_TIMEOUT.toMinutes()} minutes allow. Put a message with buttons or a question between them.`,
      );
    }
    actionsPerTurn = Math.max(actionsPerTurn, count);
  }
  const timing = {
    actionsPerTurn,
    actions: consumer(ACTIONS_BATCH_SIZE, actionsRecordBudgetSeconds(actionsPerTurn)),
    mailer: consumer(MAILER_BATCH_SIZE, MAILER_RECORD_BUDGET.toSeconds()),
  };
  // A live mail claim is never overtaken: the mailer is stopped before its lease ends.
  if (timing.mailer.timeout.toMilliseconds() >= DEFAULT_MAILER_OPTIONS.claimLeaseMs) {
    throw new TimingError(`The mailer timeout (${timing.mailer.timeout.toSeconds()} s) must stay below the mail claim lease (${DEFAULT_MAILER_OPTIONS.claimLeaseMs / 1000} s)`);
  }
  return timing;
}

/**
 * The longest run of Send Attachment actions one input can trigger in `bot`, following only
 * the edges the flow takes without waiting for input. `count` is Infinity for a loop that
 * holds an action (the engine would run it MAX_STEPS times); `via` names the interactions.
 */
export function longestActionRun(bot: Bot): { count: number; via: string[] } {
  const memo = new Map<string, { count: number; via: string[] }>();
  const onPath: string[] = [];
  const isAction = (id: string) => bot.interactions[id]?.type === 'action';
  const successors = (id: string): string[] => {
    const it = bot.interactions[id];
    if (!it) return [];
    if (it.type === 'action') return [it.next, it.onError].filter((n): n is string => n !== undefined);
    if (it.type === 'message' && !it.buttons?.length) return it.next ? [it.next] : [];
    return []; // questions and messages with buttons wait for the user
  };
  const visit = (id: string): { count: number; via: string[] } => {
    const known = memo.get(id);
    if (known) return known;
    const at = onPath.indexOf(id);
    if (at >= 0) {
      const loop = [...onPath.slice(at), id];
      return loop.some(isAction) ? { count: Infinity, via: loop } : { count: 0, via: [] };
    }
    onPath.push(id);
    let best = { count: 0, via: [] as string[] };
    for (const next of successors(id)) {
      const run = visit(next);
      if (run.count > best.count) best = run;
    }
    onPath.pop();
    const own = isAction(id) ? 1 : 0;
    const result = Number.isFinite(best.count)
      ? { count: Math.min(best.count + own, MAX_STEPS), via: own || best.count ? [id, ...best.via] : [] }
      : best;
    memo.set(id, result);
    return result;
  };
  let longest = { count: 0, via: [] as string[] };
  for (const id of Object.keys(bot.interactions)) {
    const run = visit(id);
    if (run.count > longest.count) longest = run;
  }
  return longest;
}

/**
 * Session files are deleted by the expiry function when their session's TTL deletion reaches
 * it; the bucket's lifecycle rule (by object age) is only a backstop for files expiry missed
 * (a record that failed every retry lands in the alarmed expiry-failures queue). S3 can only
 * count an object's age, while a session slides with every message, so a conversation that
 * stays active for longer than the backstop would lose its oldest files: the backstop is
 * therefore long by default, never shorter than the longest bot session (a file is usable
 * until its session expires), and it only costs storage for files expiry already failed on.
 */
export const DEFAULT_FILE_BACKSTOP_DAYS = 90;

/** Days of the lifecycle backstop: `configured` (-c fileRetentionDays) or the default, checked against the bots. */
export function fileBackstopDays(maxSessionTimeoutSeconds: number, configured: number | undefined): number {
  const floor = Math.ceil(maxSessionTimeoutSeconds / 86400);
  if (configured === undefined) return Math.max(DEFAULT_FILE_BACKSTOP_DAYS, floor);
  if (configured * 86400 < maxSessionTimeoutSeconds) {
    throw new TimingError(
      `fileRetentionDays (${configured}) is shorter than the longest bot sessionTimeoutSeconds ` +
        `(${maxSessionTimeoutSeconds} s): the S3 lifecycle rule would delete files of live sessions. ` +
        `Raise it with -c fileRetentionDays=${floor} or more, or leave it out (default ${Math.max(DEFAULT_FILE_BACKSTOP_DAYS, floor)}).`,
    );
  }
  return configured;
}
