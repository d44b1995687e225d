import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FilePresigner } from '../app/ports';

/**
 * Presigned S3 forms and links for session files. Only the functions that hand out forms
 * or links (intake, agent, proxy) wire it.
 */
export class S3FilePresigner implements FilePresigner {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * A browser upload form for exactly one key: its size must be within [1, maxBytes] and its
   * Content-Type the given one. S3 enforces the policy on AWS; the checks after arrival do
   * not rely on it (the local server ignores policies).
   */
  uploadForm(opts: { key: string; contentType: string; maxBytes: number; expiresSeconds: number }): Promise<{ url: string; fields: Record<string, string> }> {
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

  /** A short-lived GET whose response carries the given Content-Disposition and Content-Type. */
  downloadUrl(key: string, opts: { contentDisposition: string; contentType: string; expiresSeconds: number }): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: opts.contentDisposition, ResponseContentType: opts.contentType }),
      { expiresIn: opts.expiresSeconds },
    );
  }
}
