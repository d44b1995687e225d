import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
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
import type { FileObjects } from '../app/ports';
import { sessionFileKey, sessionFilesPrefix, sessionOfFileKey, uploadKey } from './table-layout';

/** Files of a session live under this prefix, each under a random key. */
export const sessionPrefix = sessionFilesPrefix;

const isMissing = (err: unknown) =>
  err instanceof NoSuchKey || err instanceof NotFound || ['NoSuchKey', 'NotFound'].includes((err as { name?: string }).name ?? '');

/**
 * S3 access for session files: keys, reads for the content checks, size-capped streaming
 * deletion. Knows nothing of bots or rules. Presigned forms and links (upload-forms.ts,
 * download-links.ts) and streaming uploads (stream-uploader.ts) are adapters of their own,
 * so each function carries only the SDK helpers it calls.
 */
export class FileStore implements FileObjects {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  newKey(sessionId: string): string {
    return sessionFileKey(sessionId, randomUUID());
  }

  newUploadKey(sessionId: string): string {
    return uploadKey(sessionId, randomUUID());
  }

  keyFor(sessionId: string, attachmentId: string): string {
    return sessionFileKey(sessionId, attachmentId);
  }

  isSessionKey(sessionId: string, key: string): boolean {
    return key.startsWith(sessionFilesPrefix(sessionId));
  }

  sessionOfKey(key: string): string | undefined {
    return sessionOfFileKey(key);
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
