import { dynamoDocumentClient } from '../../shared/adapters/clients';
import { SessionRecords } from '../../shared/adapters/session-records';
import { SocketConnectionStore } from '../../shared/adapters/socket-connections';
import { loadConfig } from '../../shared/config';
import type { SocketPorts } from './handler';

/** The settings the socket routes read: the table only. */
export const SOCKET_CONFIG = ['TABLE_NAME', 'DYNAMODB_ENDPOINT', 'AWS_REGION'] as const;

/** The socket routes' composition root: the connection records and the session store, no secret. */
export function socketWiring(env: Record<string, string | undefined> = process.env, overrides: Partial<SocketPorts> = {}) {
  const config = loadConfig(SOCKET_CONFIG, env);
  const db = dynamoDocumentClient(config);
  const ports: SocketPorts = {
    sockets: overrides.sockets ?? new SocketConnectionStore(db, config.TABLE_NAME),
    sessions: overrides.sessions ?? new SessionRecords(db, config.TABLE_NAME),
    now: overrides.now ?? Date.now,
  };
  return async () => ports;
}
