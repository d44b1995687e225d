import { buildDeps, lazyDeps, type Deps } from '../shared/app/deps';
import { resolveFileLink } from '../shared/app/file-proxy';
import { loadConfig } from '../shared/config';
import { httpHandler } from '../shared/http/http-handler';

/** `/files/{token}`: a signed link becomes a 302 to a short-lived S3 download. */
export function createProxyHandler(getDeps: () => Promise<Deps>) {
  return httpHandler({
    'GET /files/{token}': async (e) => {
      const location = await resolveFileLink(await getDeps(), e.pathParameters?.token ?? '');
      // The redirect target expires in seconds, so neither it nor this answer may be cached.
      return { statusCode: 302, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } };
    },
  });
}

export const handler = createProxyHandler(lazyDeps(() => buildDeps(loadConfig())));
