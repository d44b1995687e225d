import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DownloadLinks } from '../app/ports';

/** Short-lived presigned GETs of session files (the proxy), answering with the given disposition and type. */
export class S3DownloadLinks implements DownloadLinks {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  presign(key: string, opts: { contentDisposition: string; contentType: string; expiresSeconds: number }): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: opts.contentDisposition, ResponseContentType: opts.contentType }),
      { expiresIn: opts.expiresSeconds },
    );
  }
}
