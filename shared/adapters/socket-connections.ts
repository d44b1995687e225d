import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { SocketClient, SocketConnections } from '../app/ports';
import { AGENT_SOCKET_ATTR_PREFIX, AGENT_SOCKETS_KEY, agentConnectionsIn, agentSocketAttr, META, SESSION_SOCKETS, sessionPk } from './table-layout';

type Owner = { kind: 'user'; sessionId: string } | { kind: 'agent' };

/**
 * Open WebSocket connections (SPEC 10), stored where pushes read them without a request of
 * their own (see table-layout.ts): a user's in the string set on their session's META, the
 * agents' as attributes of one item. API Gateway ends every connection within two hours; an
 * agent's entry carries that deadline, a user's goes with the session, and a push to a
 * connection that is gone removes it.
 */
export class SocketConnectionStore implements SocketConnections {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async add(connectionId: string, client: SocketClient, expiresAt: number): Promise<void> {
    if (client.kind === 'user') return this.changeUserSet(client.sessionId, 'ADD', connectionId);
    // An agent's console connecting also clears entries whose time ran out (their $disconnect
    // never came), so the one item does not grow with every connection ever made.
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: AGENT_SOCKETS_KEY }));
    // Tidying only, so the machine's clock will do.
    const nowSeconds = Math.floor(Date.now() / 1000);
    const stale = Object.entries(out.Item ?? {})
      .filter(([name, until]) => name.startsWith(AGENT_SOCKET_ATTR_PREFIX) && Number(until) <= nowSeconds)
      .map(([name]) => name)
      .slice(0, 50);
    await this.changeAgentEntry(connectionId, expiresAt, stale);
  }

  remove(connectionId: string, client: Owner): Promise<void> {
    return client.kind === 'user' ? this.changeUserSet(client.sessionId, 'DELETE', connectionId) : this.changeAgentEntry(connectionId);
  }

  async ofSession(sessionId: string): Promise<string[]> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: sessionPk(sessionId), sk: META },
        ProjectionExpression: '#s',
        ExpressionAttributeNames: { '#s': SESSION_SOCKETS },
      }),
    );
    return [...((out.Item?.[SESSION_SOCKETS] as Set<string> | undefined) ?? [])];
  }

  async ofAgents(nowSeconds: number): Promise<string[]> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: AGENT_SOCKETS_KEY }));
    return agentConnectionsIn(out.Item, nowSeconds);
  }

  /** Adds or deletes one id in the session's set; a session record that expiry deleted is never brought back. */
  private async changeUserSet(sessionId: string, op: 'ADD' | 'DELETE', connectionId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: META },
          UpdateExpression: `${op} #s :id`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': SESSION_SOCKETS },
          ExpressionAttributeValues: { ':id': new Set([connectionId]) },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** Sets an agent's entry until `expiresAt`, or removes it; `stale` entries are removed too. */
  private async changeAgentEntry(connectionId: string, expiresAt?: number, stale: string[] = []): Promise<void> {
    const removed = stale.map((_, i) => `#x${i}`);
    const names = Object.fromEntries(stale.map((name, i) => [`#x${i}`, name]));
    const remove = expiresAt === undefined ? ['#c', ...removed] : removed;
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: AGENT_SOCKETS_KEY,
        UpdateExpression: [expiresAt !== undefined ? 'SET #c = :until' : '', remove.length ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' '),
        ExpressionAttributeNames: { '#c': agentSocketAttr(connectionId), ...names },
        ...(expiresAt !== undefined && { ExpressionAttributeValues: { ':until': expiresAt } }),
      }),
    );
  }
}
