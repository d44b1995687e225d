import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { logger } from '../logger';
import { badRequest, clientError, notFound, zodMessage } from './errors';

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims: Record<string, string | number | boolean | string[]> } };
  };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type RouteHandler = (event: HttpEvent) => Promise<HttpResult>;

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

export const errorBody = (code: string, message: string) => ({ error: { code, message } });

/** The raw request body as bytes (API Gateway base64-encodes binary bodies). */
export const rawBody = (event: HttpEvent): Buffer =>
  Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');

/** Parses and validates a JSON body; anything else is a 400 `invalid_request`. */
export function parseJsonBody<S extends z.ZodMiniType>(event: HttpEvent, schema: S): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(rawBody(event).toString('utf8') || 'null');
  } catch {
    throw badRequest('Request body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw badRequest(zodMessage(parsed.error));
  return parsed.data;
}

/** A request header by name, whatever its case (API Gateway lower-cases them; other callers may not). */
export const header = (event: HttpEvent, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
};

export const bearerToken = (event: HttpEvent): string | undefined => {
  const h = header(event, 'authorization');
  const m = h?.match(/^Bearer\s+(\S+)$/i);
  return m?.[1];
};

/** Maps any thrown error to the JSON error contract; internals never leave in a 5xx. */
const httpErrorHandler = (): middy.MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async function httpErrorHandlerOnError(request) {
    const err = request.error;
    const known = clientError(err);
    if (known) {
      request.response = json(known.statusCode, errorBody(known.code, known.message), known.headers);
      return;
    }
    logger.error('request failed', { routeKey: request.event.routeKey, error: err as Error });
    request.response = json(500, errorBody('internal_error', 'Something went wrong on our side'));
  },
});

/**
 * One Lambda handler for a set of routes, dispatched on the API Gateway route key
 * (`GET /web/sessions/{sessionId}/messages`), which the local runtime sets the same way.
 */
export function httpHandler(routes: Record<string, RouteHandler>) {
  return middy<HttpEvent, HttpResult, Error, Context>()
    // Every log line of the request carries its request id and the function's name.
    .use(injectLambdaContext(logger))
    .use(httpErrorHandler())
    .handler(async function dispatchRoute(event) {
      const route = routes[event.routeKey];
      if (!route) throw notFound('not_found', `No route for ${event.requestContext?.http?.method ?? ''} ${event.rawPath ?? ''}`.trim());
      return route(event);
    });
}
