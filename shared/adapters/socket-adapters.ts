import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SocketConnections, SocketPoster } from '../app/ports';
import type { Config } from '../config';
import { SocketConnectionStore } from './socket-connections';
import { managementApiPoster } from './socket-poster';

/** The connection records and the poster a push uses. */
export interface LiveSockets {
  sockets: SocketConnections;
  socketPoster: SocketPoster;
}

/**
 * Where pushes go (SPEC 10): connection records in the table and the API Gateway Management
 * API at `SOCKET_ENDPOINT`. Undefined when no endpoint is set: nothing is pushed, clients poll.
 */
export function socketAdapters(
  db: DynamoDBDocumentClient,
  config: Pick<Config, 'TABLE_NAME' | 'SOCKET_ENDPOINT' | 'AWS_REGION'>,
  /** Given ones (tests) win over the configured ones. */
  given?: LiveSockets,
): LiveSockets | undefined {
  if (given) return given;
  const endpoint = config.SOCKET_ENDPOINT;
  if (!endpoint) return undefined;
  return { sockets: new SocketConnectionStore(db, config.TABLE_NAME), socketPoster: managementApiPoster({ SOCKET_ENDPOINT: endpoint, AWS_REGION: config.AWS_REGION }) };
}
