/**
 * How queued work is retried (SPEC 8, issue 12): the numbers the stack, the local runtime and
 * the actions function share. The relations between them and the leases that retries take
 * over are held by test/unit/retry-timing.test.ts and test/cdk/queues.test.ts:
 *
 * - every queue retries failing work for at least RETRY_WINDOW_MS before dead-lettering it;
 * - a lease or claim a crashed holder leaves behind (the mail claim, DEFAULT_MAILER_OPTIONS.
 *   claimLeaseMs) ends before the retry that should take it over: on AWS the next receive comes
 *   a visibility timeout (6x the function timeout) later, which is longer than the lease, and
 *   the lease is longer than the function timeout, so a live holder is never overtaken;
 *   locally retries come at most LOCAL_QUEUE_RETRY.maxRetryDelayMs apart, so one comes within
 *   that of the lease ending, well before the window closes.
 */

/** Receives before SQS moves a message to its dead-letter queue (both work queues). */
export const QUEUE_MAX_RECEIVE_COUNT = 5;

/** The least time failing work is retried before it is dead-lettered. */
export const RETRY_WINDOW_MS = 15 * 60_000;

/**
 * The local queues: exponential backoff from 1 s, doubling, capped at 60 s (so work resumes
 * within a minute of an outage ending), for at least RETRY_WINDOW_MS and QUEUE_MAX_RECEIVE_COUNT
 * receives: about 20 attempts. `QUEUE_RETRY_MAX_SECONDS` and `QUEUE_RETRY_FOR_SECONDS` change them.
 */
export const LOCAL_QUEUE_RETRY = {
  firstRetryDelayMs: 1_000,
  maxRetryDelayMs: 60_000,
  retryForMs: RETRY_WINDOW_MS,
} as const;
