import type { Context } from 'aws-lambda';
import { matchRoute, routeKey } from '../../shared/http/routes';
import type { HttpEvent, HttpResult } from '../../shared/http/http-handler';

/** An API Gateway v2 event for a request, routed by the shared route table. */
export function httpEvent(
  method: 'GET' | 'POST',
  path: string,
  opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; query?: Record<string, string> } = {},
): HttpEvent {
  const match = matchRoute(method, path);
  const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const key = match ? routeKey(match.route) : '$default';
  return {
    version: '2.0',
    routeKey: key,
    rawPath: path,
    rawQueryString: new URLSearchParams(opts.query).toString(),
    headers: { 'content-type': 'application/json', ...opts.headers },
    queryStringParameters: opts.query,
    pathParameters: match?.pathParameters,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'test',
      apiId: 'test',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req',
      routeKey: key,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  } as HttpEvent;
}

export const invoke = async (handler: (e: HttpEvent, c: Context) => Promise<HttpResult>, event: HttpEvent) => {
  const res = await handler(event, {} as Context);
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers ?? {} };
};

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
