import { Readable, Transform, type TransformCallback } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FileStore } from './file-store';

/**
 * S3 object operations for attachments: presigned upload and download, the reads the
 * content checks need, and size-capped streaming uploads. No business rules here.
 */

const isMissing = (err: unknown) =>
  err instanceof NoSuchKey || err instanceof NotFound || ['NoSuchKey', 'NotFound'].includes((err as { name?: string }).name ?? '');

/** The object's real size in bytes, or undefined when there is no such object. */
export async function objectSize(files: FileStore, key: string): Promise<number | undefined> {
  try {
    const out = await files.s3.send(new HeadObjectCommand({ Bucket: files.bucket, Key: key }));
    return out.ContentLength ?? 0;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** A stream of the object's bytes; the caller destroys it when it has read enough. */
export async function openObject(files: FileStore, key: string): Promise<Readable> {
  const out = await files.s3.send(new GetObjectCommand({ Bucket: files.bucket, Key: key }));
  return out.Body as Readable;
}

/** Server-side copy with a new Content-Type; false when the source does not exist. */
export async function copyObject(files: FileStore, from: string, to: string, contentType: string): Promise<boolean> {
  try {
    await files.s3.send(
      new CopyObjectCommand({
        Bucket: files.bucket,
        Key: to,
        CopySource: `${files.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}`,
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

export async function deleteObject(files: FileStore, key: string): Promise<void> {
  await files.s3.send(new DeleteObjectCommand({ Bucket: files.bucket, Key: key }));
}

/** The streamed body went past `maxBytes`; what was uploaded has been aborted. */
export class ObjectTooLarge extends Error {
  override name = 'ObjectTooLarge';
  constructor(readonly maxBytes: number) {
    super(`body exceeds ${maxBytes} bytes`);
  }
}

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
 * Streams `body` into S3 under `key` (multipart when large), never holding more than a part
 * in memory, and stops with ObjectTooLarge once more than `maxBytes` arrive. A failed upload
 * leaves nothing behind (lib-storage aborts the multipart upload; a single put never completes).
 */
export async function uploadStream(
  files: FileStore,
  key: string,
  body: Readable | AsyncIterable<Uint8Array>,
  opts: { contentType: string; maxBytes: number },
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
      client: files.s3,
      params: { Bucket: files.bucket, Key: key, Body: cap, ContentType: opts.contentType },
      queueSize: 1,
    }).done();
  } catch (err) {
    throw failure ?? err;
  } finally {
    source.off('error', onError);
    source.destroy();
  }
  if (failure) throw failure;
  return { size: cap.bytes };
}

/**
 * A browser upload form for exactly one key: its size must be within [1, maxBytes] and its
 * Content-Type the given one. S3 enforces the policy on AWS; the checks after arrival do
 * not rely on it (the local server ignores policies).
 */
export async function presignUpload(
  files: FileStore,
  opts: { key: string; contentType: string; maxBytes: number; expiresSeconds: number },
): Promise<{ url: string; fields: Record<string, string> }> {
  return createPresignedPost(files.s3, {
    Bucket: files.bucket,
    Key: opts.key,
    Conditions: [
      ['content-length-range', 1, opts.maxBytes],
      ['eq', '$Content-Type', opts.contentType],
    ],
    Fields: { 'Content-Type': opts.contentType },
    Expires: opts.expiresSeconds,
  });
}

/** A short-lived GET whose response carries the given Content-Disposition and Content-Type. */
export function presignDownload(
  files: FileStore,
  key: string,
  opts: { contentDisposition: string; contentType: string; expiresSeconds: number },
): Promise<string> {
  return getSignedUrl(
    files.s3,
    new GetObjectCommand({
      Bucket: files.bucket,
      Key: key,
      ResponseContentDisposition: opts.contentDisposition,
      ResponseContentType: opts.contentType,
    }),
    { expiresIn: opts.expiresSeconds },
  );
}
