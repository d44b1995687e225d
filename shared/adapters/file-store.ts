import type { Readable } from 'node:stream';
import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { FileObjects } from '../app/ports';
import { isMissing, SessionFileStore } from './session-file-store';
import { sessionFilesPrefix } from './table-layout';

/** Files of a session live under this prefix, each under a random key. */
export const sessionPrefix = sessionFilesPrefix;

/**
 * S3 access for session files: SessionFileStore's keys, sizes and deletes, plus reads for
 * the content checks, copies and deleting a session's files. Knows nothing of bots or rules.
 * Presigned forms and links (upload-forms.ts, download-links.ts) and streaming uploads (stream-uploader.ts) are adapters of their own,
 * so each function carries only the SDK helpers it calls.
 */
export class FileStore extends SessionFileStore implements FileObjects {
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
