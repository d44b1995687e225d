import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { defaultRouteFn, isWellFormedPath, matchRoute, routeKey, routes, type HttpFunctionName, type RouteDef } from '../shared/http/routes';
import type { HttpEvent, HttpResult } from '../shared/http/http-handler';
import { logger } from '../shared/logger';
import type { LocalSocketGateway } from './socket-gateway';

export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/** API Gateway's own payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface LocalHttpOptions {
  port: number;
  handlers: Partial<Record<HttpFunctionName, LambdaHttpHandler>>;
  /**
   * The JWT authorizer's part for `auth: 'jwt'` routes: claims for a good token, or
   * undefined, which answers 401 before the function runs (as API Gateway does).
   */
  authorizeJwt?: (token: string | undefined) => Promise<Record<string, string | number | boolean | string[]> | undefined>;
  /** The WebSocket API on `/socket` and its Management API emulation on `/@connections/` (SPEC 10). */
  sockets?: LocalSocketGateway;
  /**
   * `PUBLIC_BASE_URL`'s host when it is not this machine (a tunnel's): requests carrying it may
   * reach the channel webhooks and file links only, never the pages, APIs or local-only routes.
   */
  publicHost?: string;
}

const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|javascript|xml)|text\/)/i;

/** Serves the route table by turning each request into the API Gateway v2 event AWS would send. */
export async function startHttpServer(opts: LocalHttpOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      // A request the server could not finish (the client went away, a handler broke the
      // Lambda contract): it gets a 500, the server goes on.
      logger.error('local HTTP server could not answer a request', { error: err as Error, method: req.method });
      if (res.destroyed || res.writableEnded) return;
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal_error', message: 'Something went wrong on our side' } }));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    if (!opts.sockets || !isLocalHost(req.headers.host)) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    // A client that resets the connection mid-upgrade must not take the process down.
    socket.on('error', () => socket.destroy());
    opts.sockets.upgrade(req, socket, head).catch((err: unknown) => {
      logger.error('local WebSocket upgrade failed', { error: err as Error });
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        opts.sockets?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The local server answers only requests addressed to this machine by name or loopback
 * address: a web page that rebinds its own domain to 127.0.0.1 (DNS rebinding) would
 * otherwise reach the API, and mint agent tokens, from the developer's browser.
 */
const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const isLocalHost = (host: string | undefined) => {
  if (!host) return false;
  try {
    return LOCAL_HOSTNAMES.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
};

/** The request target as a URL on this server, or undefined when it is not a path (`//`, `*`). */
function requestUrl(target: string | undefined): URL | undefined {
  if (!target?.startsWith('/')) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/** What a tunnel in front of the local runtime may reach: what a channel calls or fetches. */
const TUNNEL_PATHS = /^\/(channels|files)\//;

async function handle(req: IncomingMessage, res: ServerResponse, opts: LocalHttpOptions): Promise<void> {
  const viaTunnel = opts.publicHost !== undefined && req.headers.host?.toLowerCase() === opts.publicHost && TUNNEL_PATHS.test(req.url ?? '');
  if (!isLocalHost(req.headers.host) && !viaTunnel) {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'forbidden_host', message: 'The local runtime only answers requests to localhost' } }));
    return;
  }
  const url = requestUrl(req.url);
  const method = req.method ?? 'GET';
  if (!url || !isWellFormedPath(url.pathname)) {
    // What API Gateway answers for a path it cannot decode, in the error contract's shape.
    req.resume();
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'invalid_request', message: 'The request path is not valid' } }));
    return;
  }
  const match = matchRoute(method, url.pathname, routes.filter((r) => r.method === method));
  const route: RouteDef | undefined = match?.route;
  const fn = route?.fn ?? defaultRouteFn;
  const handler = opts.handlers[fn];
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'Request Entity Too Large' }));
    return;
  }
  if (opts.sockets && url.pathname.startsWith('/@connections/')) return opts.sockets.manage(req, res, body);
  if (!handler) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: `No route for ${method} ${url.pathname}` } }));
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;

  let authorizer: HttpEvent['requestContext']['authorizer'];
  if (route?.auth === 'jwt') {
    const token = headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const claims = opts.authorizeJwt ? await opts.authorizeJwt(token) : undefined;
    if (!claims) {
      // What API Gateway's JWT authorizer answers, before any function runs.
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      res.end(JSON.stringify({ message: 'Unauthorized' }));
      return;
    }
    authorizer = { jwt: { claims } };
  }

  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const isText = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const key = route ? routeKey(route) : '$default';
  const now = new Date();
  const event: HttpEvent = {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies: headers.cookie?.split(/;\s*/),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: match && Object.keys(match.pathParameters).length ? match.pathParameters : undefined,
    body: body.length ? body.toString(isText ? 'utf8' : 'base64') : undefined,
    isBase64Encoded: !isText,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      ...(authorizer && { authorizer }),
    },
  } as HttpEvent;

  const result = await handler(event, { awsRequestId: event.requestContext.requestId } as Context);
  const outHeaders: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) outHeaders[k] = String(v);
  if (result.cookies?.length) outHeaders['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, outHeaders);
  res.end(result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
}
