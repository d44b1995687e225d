import { describe, expect, it } from 'vitest';
import { LocalQueue } from '../../local/local-queue';
import { DEFAULT_MAILER_OPTIONS } from '../../shared/app/mail-attachment';
import { LOCAL_QUEUE_RETRY, QUEUE_MAX_RECEIVE_COUNT, RETRY_WINDOW_MS } from '../../shared/app/retry-policy';

/**
 * Issue 12: the numbers of the local retry policy, and the leases retries take over, hold
 * together (the AWS side, visibility timeouts against function timeouts and the lease, is in
 * test/cdk/queues.test.ts). Computed from the queue's own backoff, without waiting.
 */
const MINUTE = 60_000;

/** When each attempt of a message that always fails starts, and when it is dead-lettered, with the runtime's numbers. */
function localSchedule(): { attempts: number[]; deadAt: number } {
  const q = new LocalQueue({
    name: 'schedule',
    fifo: false,
    maxReceiveCount: QUEUE_MAX_RECEIVE_COUNT,
    retryDelayMs: LOCAL_QUEUE_RETRY.firstRetryDelayMs,
    maxRetryDelayMs: LOCAL_QUEUE_RETRY.maxRetryDelayMs,
    retryForMs: LOCAL_QUEUE_RETRY.retryForMs,
    handler: async () => undefined,
  });
  const attempts: number[] = [];
  let t = 0;
  for (let n = 1; ; n++) {
    attempts.push(t);
    // The queue's rule: dead-lettered once it failed maxReceiveCount times and its budget is spent.
    if (n >= QUEUE_MAX_RECEIVE_COUNT && t >= LOCAL_QUEUE_RETRY.retryForMs) return { attempts, deadAt: t };
    t += q.retryDelayAfter(n);
  }
}

describe('retry timing', () => {
  const { attempts, deadAt } = localSchedule();
  const cap = LOCAL_QUEUE_RETRY.maxRetryDelayMs;

  it('local queues back off up to a minute and retry for at least 15 minutes before dead-lettering', () => {
    expect(cap).toBeLessThanOrEqual(MINUTE);
    expect(RETRY_WINDOW_MS).toBeGreaterThanOrEqual(15 * MINUTE);
    expect(deadAt).toBeGreaterThanOrEqual(RETRY_WINDOW_MS);
    expect(attempts.length).toBeGreaterThanOrEqual(QUEUE_MAX_RECEIVE_COUNT);
    // Work resumes within a minute of an outage ending: no two attempts further apart than the cap.
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(cap);
    expect(attempts.length).toBe(21); // 1, 2, 4 ... 32 s, then every 60 s to 15 minutes
  });

  it('a mail claim left by a crashed holder ends before the retries do, and a retry takes it over within the backoff cap', () => {
    const lease = DEFAULT_MAILER_OPTIONS.claimLeaseMs;
    expect(lease + cap).toBeLessThan(RETRY_WINDOW_MS);
    // Whichever early attempt took the claim and died, a later attempt comes after the lease
    // ends (so it is not refused as busy), within a cap of it, and before the dead-letter list.
    for (const claimedAt of attempts.filter((t) => t + lease + cap <= deadAt)) {
      const takeover = attempts.find((t) => t >= claimedAt + lease);
      expect(takeover, `claim taken at ${claimedAt} ms`).toBeDefined();
      expect(takeover! - (claimedAt + lease)).toBeLessThanOrEqual(cap);
    }
    // A claim taken at the first attempt leaves most of the budget for the takeover.
    expect(attempts.filter((t) => t >= lease).length).toBeGreaterThanOrEqual(QUEUE_MAX_RECEIVE_COUNT);
  });
});
