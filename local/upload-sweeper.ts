import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { UPLOADS_PREFIX } from '../shared/adapters/table-layout';
import { UPLOAD_KEY_MAX_AGE_MS } from '../shared/app/uploads';
import { logger } from '../shared/logger';
import { BackoffLoop } from './backoff-loop';

/**
 * The local stand-in for the bucket's `ExpireUploads` lifecycle rule: removes objects under
 * UPLOADS_PREFIX that no upload slot can still use (older than UPLOAD_KEY_MAX_AGE_MS plus a
 * margin), such as a form posted again after its slot was used. Scaled down from S3's one day,
 * as the TTL sweeper scales DynamoDB's TTL, so the effect is visible locally. A failed pass is
 * logged and retried later with a growing wait; the loop never ends on an error.
 */
export class UploadSweeper {
  static readonly MAX_AGE_MS = UPLOAD_KEY_MAX_AGE_MS + 5 * 60_000;
  static readonly MAX_BACKOFF_MS = 10 * 60_000;
  private readonly loop: BackoffLoop;
  private running?: Promise<number>;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    intervalMs: number,
  ) {
    this.loop = new BackoffLoop('upload sweep', intervalMs, UploadSweeper.MAX_BACKOFF_MS, () => this.sweep());
  }

  /** Sweeps every `intervalMs` until stopped; a failed pass is logged and retried with a growing wait (BackoffLoop). */
  start(): void {
    this.loop.start();
  }

  /** One pass: deletes left-over upload objects last written before `now - MAX_AGE_MS`; returns how many. */
  sweep(now = Date.now()): Promise<number> {
    this.running ??= this.sweepOnce(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(now: number): Promise<number> {
    const cutoff = now - UploadSweeper.MAX_AGE_MS;
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: UPLOADS_PREFIX, ContinuationToken: token }));
      const old = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && o.LastModified.getTime() < cutoff).map((o) => ({ Key: o.Key! }));
      if (old.length) {
        const out = await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: old, Quiet: true } }));
        deleted += old.length - (out.Errors?.length ?? 0);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (deleted) logger.info('left-over uploads removed', { deleted });
    return deleted;
  }

  async stop(): Promise<void> {
    this.loop.stop();
    await this.running?.catch(() => undefined);
  }
}
