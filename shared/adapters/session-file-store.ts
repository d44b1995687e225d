import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';
import type { SessionFileObjects } from '../app/ports';
import { sessionFileKey, sessionFilesPrefix, sessionOfFileKey, uploadKey } from './table-layout';

export const isMissing = (err: unknown) =>
  err instanceof NoSuchKey || err instanceof NotFound || ['NoSuchKey', 'NotFound'].includes((err as { name?: string }).name ?? '');

/**
 * S3 access for session files without reading, copying or listing them: keys, one object's
 * size, one object's deletion — what the scan verdict needs. FileStore (file-store.ts) adds
 * the rest; apart, a function that only settles verdicts does not bundle the S3 commands
 * (and checksum middleware) of reads and batch deletes (issue 10).
 */
export class SessionFileStore implements SessionFileObjects {
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

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
