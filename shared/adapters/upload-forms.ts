import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { UploadForms } from '../app/ports';

/**
 * Presigned browser upload forms for session files (intake, agent). A form is for exactly one
 * key: its size must be within [1, maxBytes] and its Content-Type the given one. S3 enforces
 * the policy on AWS; the checks after arrival do not rely on it (the local server ignores it).
 */
export class S3UploadForms implements UploadForms {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  presign(opts: { key: string; contentType: string; maxBytes: number; expiresSeconds: number }): Promise<{ url: string; fields: Record<string, string> }> {
    return createPresignedPost(this.s3, {
      Bucket: this.bucket,
      Key: opts.key,
      Conditions: [
        ['content-length-range', 1, opts.maxBytes],
        ['eq', '$Content-Type', opts.contentType],
      ],
      Fields: { 'Content-Type': opts.contentType },
      Expires: opts.expiresSeconds,
    });
  }
}
