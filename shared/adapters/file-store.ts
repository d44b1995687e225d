import { randomUUID } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ObjectTooLarge } from '../domain/errors';
import type { ByteSource, FileObjects } from '../app/ports';
import { sessionFileKey, sessionFilesPrefix } from './table-layout';

/** Files of a session live under this prefix, each under a random key. */
export const sessionPrefix = sessionFilesPrefix;

const isMissing = (err: unknown) =>
  err instanceof NoSuchKey || err instanceof NotFound || ['NoSuchKey', 'NotFound'].includes((err as { name?: string }).name ?? '');

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

/**
 * S3 access for session files: keys, reads for the content checks, size-capped streaming
 * uploads, deletion. Knows nothing of bots or rules. Presigning is FilePresigner's
 * (file-presigner.ts), so functions that never sign anything do not carry the presigners.
 */
export class FileStore implements FileObjects {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  newKey(sessionId: string): string {
    return sessionFileKey(sessionId, randomUUID());
  }

  keyFor(sessionId: string, attachmentId: string): string {
    return sessionFileKey(sessionId, attachmentId);
  }

  isSessionKey(sessionId: string, key: string): boolean {
    return key.startsWith(sessionFilesPrefix(sessionId));
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async open(key: string): Promise<Readable> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return out.Body as Readable;
  }

  async copy(from: string, to: string, contentType: string): Promise<boolean> {
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: `${this.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}`,
          MetadataDirective: 'REPLACE',
          ContentType: contentType,
        }),
      );
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

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
      await this.delete(key).catch(() => undefined);
      throw failure ?? err;
    } finally {
      source.off('error', onError);
      source.destroy();
    }
    if (failure) {
      await this.delete(key).catch(() => undefined);
      throw failure;
    }
    return { size: cap.bytes };
  }

  deleteSessionFiles(sessionId: string): Promise<number> {
    return this.deletePrefix(sessionFilesPrefix(sessionId));
  }

  /** Deletes every object under the prefix; returns how many were deleted. */
  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) {
        const out = await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
        if (out.Errors?.length) throw new Error(`S3 refused to delete ${out.Errors.length} objects under ${prefix}`);
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }
}
