/**
 * The one route table. The CDK HTTP API and the local runtime are both generated from it,
 * so the routes users call on AWS and on their laptop cannot drift apart.
 */
import { channelRoutes } from '../channels/definitions';

export type HttpFunctionName = 'intake' | 'proxy' | 'agent';

export interface RouteDef {
  method: 'GET' | 'POST';
  /** API Gateway v2 path syntax: `{name}` is one path segment. */
  path: string;
  fn: HttpFunctionName;
  /** `jwt` routes sit behind the Cognito JWT authorizer (locally: the same checks). */
  auth?: 'jwt';
  /** Only served by the local runtime. */
  localOnly?: boolean;
  /** For a public route the handler authenticates itself (channel webhooks): how it does. */
  publicReason?: string;
}

export const routes: readonly RouteDef[] = [
  { method: 'GET', path: '/', fn: 'intake' },
  { method: 'GET', path: '/agent', fn: 'intake' },
  { method: 'GET', path: '/web/bots/{botId}/config', fn: 'intake' },
  { method: 'POST', path: '/web/sessions', fn: 'intake' },
  { method: 'POST', path: '/web/sessions/{sessionId}/uploads', fn: 'intake' },
  { method: 'POST', path: '/web/sessions/{sessionId}/messages', fn: 'intake' },
  { method: 'GET', path: '/web/sessions/{sessionId}/messages', fn: 'intake' },
  // Every messaging channel's webhooks (shared/channels/registry.ts), served by intake.
  ...channelRoutes().map(({ method, path, publicReason }): RouteDef => ({ method, path, fn: 'intake', publicReason })),
  { method: 'GET', path: '/files/{token}', fn: 'proxy' },
  { method: 'GET', path: '/agent/conversations', fn: 'agent', auth: 'jwt' },
  { method: 'GET', path: '/agent/conversations/{sessionId}', fn: 'agent', auth: 'jwt' },
  { method: 'POST', path: '/agent/conversations/{sessionId}/takeover', fn: 'agent', auth: 'jwt' },
  { method: 'POST', path: '/agent/conversations/{sessionId}/release', fn: 'agent', auth: 'jwt' },
  { method: 'POST', path: '/agent/conversations/{sessionId}/messages', fn: 'agent', auth: 'jwt' },
  { method: 'POST', path: '/agent/conversations/{sessionId}/uploads', fn: 'agent', auth: 'jwt' },
  { method: 'POST', path: '/local/agent-token', fn: 'agent', localOnly: true },
  { method: 'GET', path: '/widget.js', fn: 'intake' },
  // The local Cognito stand-in (local/cognito-stand-in.ts), for the console's sign-in.
  { method: 'POST', path: '/local/cognito', fn: 'agent', localOnly: true },
];

/** Requests no route matches go here so they get the JSON 404 of the error contract. */
export const defaultRouteFn: HttpFunctionName = 'intake';

export const routeKey = (r: Pick<RouteDef, 'method' | 'path'>): string => `${r.method} ${r.path}`;

/** A path segment decoded, or undefined when its percent-encoding is malformed (`%`, `%E0%A4%A`). */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Whether every segment of a path decodes; a path that does not is answered 400 before routing. */
export const isWellFormedPath = (path: string): boolean => path.split('/').every((s) => decodePathSegment(s) !== undefined);

/**
 * Matches a concrete path against the table; returns the route and its path parameters.
 * Never throws: a parameter whose encoding is malformed is passed on as sent, and the
 * handlers refuse it as they refuse any other impossible id.
 */
export function matchRoute(
  method: string,
  path: string,
  table: readonly RouteDef[] = routes,
): { route: RouteDef; pathParameters: Record<string, string> } | undefined {
  const segments = path.split('/');
  for (const route of table) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i]!;
      const s = segments[i]!;
      if (p.startsWith('{') && p.endsWith('}')) {
        if (s === '') ok = false;
        else params[p.slice(1, -1)] = decodePathSegment(s) ?? s;
      } else if (p !== s) ok = false;
    }
    if (ok) return { route, pathParameters: params };
  }
  return undefined;
}
