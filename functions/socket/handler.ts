import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import type { Ports, SocketClient } from '../../shared/app/ports';
import { answerSocketFrame, closeSocket, openSocket } from '../../shared/app/sockets';
import { clientError } from '../../shared/http/errors';
import { errorBody } from '../../shared/http/http-handler';
import { logger } from '../../shared/logger';

/** What the WebSocket routes use: the connection records and, at connect, the session. */
export type SocketPorts = Pick<Ports, 'sockets' | 'sessions' | 'now'>;

/** A WebSocket route event with the context the `$connect` authorizer returned. */
export type SocketEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & { authorizer?: Record<string, unknown> };
};
export type SocketResult = { statusCode: number; body?: string };

/** Who holds the connection, from the authorizer's context; undefined when it did not run. */
function clientOf(event: SocketEvent): SocketClient | undefined {
  const ctx = event.requestContext.authorizer;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const sessionId = str(ctx?.sessionId);
  const agentId = str(ctx?.agentId);
  if (ctx?.kind === 'user' && sessionId) return { kind: 'user', sessionId };
  const until = Number(ctx?.until);
  if (ctx?.kind === 'agent' && agentId) return { kind: 'agent', agentId, name: str(ctx.name) ?? agentId, ...(Number.isFinite(until) && until > 0 && { until }) };
  return undefined;
}

/**
 * The WebSocket API's routes (SPEC 10): `$connect` records the connection (410 when the
 * user's session has expired), `$disconnect` forgets it, `$default` answers a ping with a pong
 * (the route returns its response to the client). Pushes go out from the functions that write.
 */
export function createSocketHandler(getPorts: () => Promise<SocketPorts>) {
  return middy<SocketEvent, APIGatewayProxyResultV2, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async function socketRoute(event): Promise<SocketResult> {
      const { routeKey, connectionId } = event.requestContext;
      if (routeKey === '$default') return { statusCode: 200, body: JSON.stringify(answerSocketFrame(event.body)) };
      const client = clientOf(event);
      if (!client) {
        logger.warn('socket route without authorizer context', { routeKey });
        return { statusCode: routeKey === '$connect' ? 401 : 200 };
      }
      const ports = await getPorts();
      if (routeKey === '$disconnect') {
        await closeSocket(ports, connectionId, client);
        return { statusCode: 200 };
      }
      try {
        await openSocket(ports, connectionId, client);
        return { statusCode: 200 };
      } catch (err) {
        const known = clientError(err);
        if (!known) throw err;
        return { statusCode: known.statusCode, body: JSON.stringify(errorBody(known.code, known.message)) };
      }
    });
}
