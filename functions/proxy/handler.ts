import { resolveFileLink } from '../../shared/app/file-proxy';
import type { Ports } from '../../shared/app/ports';
import { httpHandler } from '../../shared/http/http-handler';

/** What the proxy uses: tokens, the session and attachment records, and the download link presigner. */
export type ProxyPorts = Pick<Ports, 'tokens' | 'sessions' | 'attachments' | 'downloadLinks' | 'now'>;

/** `/files/{token}`: a signed link becomes a 302 to a short-lived S3 download. */
export function createProxyHandler(getPorts: () => Promise<ProxyPorts>) {
  return httpHandler({
    'GET /files/{token}': async (e) => {
      const location = await resolveFileLink(await getPorts(), e.pathParameters?.token ?? '');
      // The redirect target expires in seconds, so neither it nor this answer may be cached.
      return { statusCode: 302, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } };
    },
  });
}
