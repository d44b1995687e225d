import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import type { Ports, SocketClient } from '../../shared/app/ports';
import { authorizeSocket } from '../../shared/app/sockets';
import { NotAuthorized } from '../../shared/domain/errors';
import { logger } from '../../shared/logger';

/** What the WebSocket API's `$connect` authorizer uses: session tokens and agents' JWTs. */
export type SocketAuthorizerPorts = Pick<Ports, 'tokens' | 'verifyAgentToken'>;

/** The authorizer's context, handed to every route of the connection (values are strings). */
export type SocketAuthorizerContext = { kind: 'user'; sessionId: string } | { kind: 'agent'; agentId: string; name: string; until?: string };

const contextOf = (client: SocketClient): SocketAuthorizerContext =>
  client.kind === 'user'
    ? { kind: 'user', sessionId: client.sessionId }
    : { kind: 'agent', agentId: client.agentId, name: client.name, ...(client.until !== undefined && { until: String(client.until) }) };

/**
 * REQUEST authorizer of `$connect` (SPEC 10): reads `token` (a web user's session token) or
 * `agentToken` (an agent's Cognito JWT) from the query string. A missing or bad credential
 * throws "Unauthorized", which API Gateway answers with 401 on the upgrade; a good one gets an
 * Allow policy with who the client is as context.
 */
export function createSocketAuthorizerHandler(getPorts: () => Promise<SocketAuthorizerPorts>) {
  return middy<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async function socketAuthorizer(event) {
      const query = event.queryStringParameters ?? {};
      let client: SocketClient;
      try {
        client = await authorizeSocket(await getPorts(), { token: query.token, agentToken: query.agentToken, sessionId: query.sessionId });
      } catch (err) {
        if (err instanceof NotAuthorized) throw new Error('Unauthorized');
        throw err;
      }
      return {
        principalId: client.kind === 'user' ? `session:${client.sessionId}` : `agent:${client.agentId}`,
        policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
        context: contextOf(client),
      };
    });
}
