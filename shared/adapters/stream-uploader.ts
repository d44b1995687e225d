import { Readable, Transform, type TransformCallback } from 'node:stream';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ByteSource, StreamUploader } from '../app/ports';
import { ObjectTooLarge } from '../domain/errors';

/** Counts bytes through and fails the stream as soon as the cap is passed. */
class SizeCap extends Transform {
  bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) done(new ObjectTooLarge(this.maxBytes));
    else done(null, chunk);
  }
}

/** Size-capped streaming uploads into S3 with lib-storage (actions only). */
export class S3StreamUploader implements StreamUploader {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * Streams `body` into S3 under `key` (multipart when large), never holding more than
   * `queueSize` parts in memory, and stops with ObjectTooLarge once more than `maxBytes`
   * arrive. The body's own failure is reported rather than the upload's. On any failure the
   * multipart upload is aborted and the key deleted (a body that failed late may already be
   * there when it fitted in one part), so no partial file outlives it.
   */
  async upload(
    key: string,
    body: ByteSource,
    opts: { contentType: string; maxBytes: number; partSize?: number; queueSize?: number },
  ): Promise<{ size: number }> {
    const source = body instanceof Readable ? body : Readable.from(body, { objectMode: false });
    const cap = new SizeCap(opts.maxBytes);
    let failure: unknown;
    const onError = (err: unknown) => {
      failure ??= err;
      cap.destroy(err as Error);
    };
    source.once('error', onError);
    cap.once('error', (err) => (failure ??= err));
    source.pipe(cap);
    try {
      await new Upload({
        client: this.s3,
        params: { Bucket: this.bucket, Key: key, Body: cap, ContentType: opts.contentType },
        queueSize: opts.queueSize ?? 1,
        ...(opts.partSize !== undefined && { partSize: opts.partSize }),
      }).done();
    } catch (err) {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
      throw failure ?? err;
    } finally {
      source.off('error', onError);
      source.destroy();
    }
    if (failure) {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
      throw failure;
    }
    return { size: cap.bytes };
  }
}
