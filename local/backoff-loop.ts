import { logger } from '../shared/logger';

/**
 * A background loop for the local runtime: runs `pass` every `intervalMs` until stopped. A
 * failed pass (storage down, throttled, a bad item) is logged and the next one waits twice
 * as long, up to `maxBackoffMs`; the loop never ends on an error, and the first good pass
 * goes back to the normal interval.
 */
export class BackoffLoop {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Passes that failed in a row. */
  private failures = 0;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly maxBackoffMs: number,
    private readonly pass: () => Promise<unknown>,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass().then(
        () => {
          if (this.failures) logger.info(`${this.name} works again`, { failedPasses: this.failures });
          this.failures = 0;
          this.schedule(this.intervalMs);
        },
        (err: unknown) => {
          this.failures++;
          const delay = Math.min(this.intervalMs * 2 ** this.failures, Math.max(this.maxBackoffMs, this.intervalMs));
          logger.error(`${this.name} failed; retrying`, { error: err as Error, failedPasses: this.failures, retryInMs: delay });
          this.schedule(delay);
        },
      );
    }, delayMs);
    this.timer.unref();
  }
}
