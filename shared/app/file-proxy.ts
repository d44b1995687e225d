import { create as contentDisposition } from 'content-disposition';
import { AttachmentBlocked, AttachmentScanPending, InvalidToken, SessionExpired } from '../domain/errors';
import { isRefusedByScan } from '../domain/scan';
import { isExpired } from '../domain/session';
import { FILE_TOKEN, type FileClaims } from './file-links';
import type { Ports } from './ports';

/** How long the S3 URL a /files hit redirects to stays valid. */
export const DOWNLOAD_URL_SECONDS = 60;

const invalidToken = () => new InvalidToken();
/** Every way a good link stops working looks the same to its holder. */
const linkExpired = () => new SessionExpired('This file link has expired');

const isClaims = (c: unknown): c is FileClaims => {
  const v = c as Partial<FileClaims> | undefined;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.sid === 'string' &&
    typeof v.aid === 'string' &&
    (v.exp === undefined || typeof v.exp === 'number')
  );
};

/**
 * `GET /files/{token}`: where a file link leads right now.
 * Primary course: verify the token's signature, check the link, its session and its file
 * are all still alive, that the malware scan let the file through (409 while it is pending,
 * 410 once it refused it), and presign a short GET that downloads the file under its name
 * (RFC 6266 / 5987, so non-ASCII names survive) with its stored content type.
 */
export async function resolveFileLink(deps: Pick<Ports, 'tokens' | 'sessions' | 'attachments' | 'downloadLinks' | 'now'>, token: string): Promise<string> {
  const claims = deps.tokens.verify<unknown>(FILE_TOKEN, token);
  if (!isClaims(claims)) throw invalidToken();
  const now = deps.now();
  if (claims.exp !== undefined && now >= claims.exp * 1000) throw linkExpired();
  const session = await deps.sessions.get(claims.sid);
  if (!session || isExpired(session, now)) throw linkExpired();
  const file = await deps.attachments.get(claims.sid, claims.aid);
  if (!file || (file.linkExpiresAt !== undefined && now >= file.linkExpiresAt * 1000)) throw linkExpired();
  // The malware gate (SPEC 13): nobody opens a file before its verdict, or one it refused.
  if (file.scan === 'pending') throw new AttachmentScanPending();
  if (isRefusedByScan(file.scan)) throw new AttachmentBlocked(file.scan === 'infected' ? 'attachment_infected' : 'attachment_unscannable');
  return deps.downloadLinks.presign(file.key, {
    contentDisposition: contentDisposition(file.fileName, { type: 'attachment' }),
    contentType: file.contentType,
    expiresSeconds: DOWNLOAD_URL_SECONDS,
  });
}
