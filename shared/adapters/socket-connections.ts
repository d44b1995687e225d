import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AgentAudience, SocketClient, SocketConnections } from '../app/ports';
import {
  agentAudienceIn,
  agentWatchAttr,
  agentWatchesIn,
  AGENT_SOCKETS_KEY,
  AGENT_SOCKETS_MAX,
  agentConnectionsIn,
  agentEntriesIn,
  agentSocketAttr,
  META,
  SESSION_SOCKETS,
  sessionPk,
  SOCKETS_PER_HOLDER,
} from './table-layout';
import { conditionHeld } from './conditional-write';

type Owner = { kind: 'user'; sessionId: string } | { kind: 'agent' };

/**
 * Open WebSocket connections (SPEC 10), stored where pushes read them without a request of
 * their own (see table-layout.ts): a user's in the string set on their session's META, the
 * agents' as attributes of one item. API Gateway ends every connection within two hours; an
 * agent's entry carries that deadline (or its token's, if sooner), a user's goes with the
 * session, and a push to a connection that is gone removes it. Each holder may keep
 * SOCKETS_PER_HOLDER open, so one client cannot make every push fan out without bound.
 */
export class SocketConnectionStore implements SocketConnections {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async add(connectionId: string, client: SocketClient, expiresAt: number): Promise<'added' | 'full'> {
    if (client.kind === 'user') {
      const added = await conditionHeld(
        this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: sessionPk(client.sessionId), sk: META },
            UpdateExpression: 'ADD #s :id',
            // Never brings back a session record that expiry deleted; at most SOCKETS_PER_HOLDER.
            ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#s) OR size(#s) < :max)',
            ExpressionAttributeNames: { '#s': SESSION_SOCKETS },
            ExpressionAttributeValues: { ':id': new Set([connectionId]), ':max': SOCKETS_PER_HOLDER },
          }),
        ),
      );
      return added ? 'added' : 'full';
    }
    // Entries whose time ran out (their $disconnect never came) are cleared as consoles
    // connect, so the one item does not grow with every connection ever made.
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: AGENT_SOCKETS_KEY, ConsistentRead: true }));
    // Tidying only, so the machine's clock will do.
    const nowSeconds = Math.floor(Date.now() / 1000);
    const entries = agentEntriesIn(out.Item);
    const live = entries.filter((e) => e.until > nowSeconds);
    if (live.filter((e) => e.agentId === client.agentId).length >= SOCKETS_PER_HOLDER || live.length >= AGENT_SOCKETS_MAX) return 'full';
    const stale = [
      ...entries.filter((e) => e.until <= nowSeconds).map((e) => agentSocketAttr(e.connectionId)),
      ...agentWatchesIn(out.Item).filter((w) => w.until <= nowSeconds).map((w) => agentWatchAttr(w.agentId)),
    ].slice(0, 50);
    await this.changeAgentEntry(connectionId, { until: expiresAt, agent: client.agentId }, stale);
    return 'added';
  }

  remove(connectionId: string, client: Owner): Promise<void> {
    return client.kind === 'user' ? this.removeFromUserSet(client.sessionId, connectionId) : this.changeAgentEntry(connectionId);
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

  async agentsFor(nowSeconds: number, sessionId: string): Promise<AgentAudience> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: AGENT_SOCKETS_KEY }));
    return agentAudienceIn(out.Item, nowSeconds, sessionId);
  }

  async watch(agentId: string, sessionId: string, until: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: AGENT_SOCKETS_KEY,
        UpdateExpression: 'SET #w = :w',
        ExpressionAttributeNames: { '#w': agentWatchAttr(agentId) },
        ExpressionAttributeValues: { ':w': { s: sessionId, until } },
      }),
    );
  }

  private async removeFromUserSet(sessionId: string, connectionId: string): Promise<void> {
    await conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: sessionPk(sessionId), sk: META },
          UpdateExpression: 'DELETE #s :id',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#s': SESSION_SOCKETS },
          ExpressionAttributeValues: { ':id': new Set([connectionId]) },
        }),
      ),
    );
  }

  /** Sets an agent's entry, or removes it (no `entry`); `stale` entries are removed too. */
  private async changeAgentEntry(connectionId: string, entry?: { until: number; agent: string }, stale: string[] = []): Promise<void> {
    const names = Object.fromEntries(stale.map((name, i) => [`#x${i}`, name]));
    const remove = [...(entry ? [] : ['#c']), ...Object.keys(names)];
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: AGENT_SOCKETS_KEY,
        UpdateExpression: [entry ? 'SET #c = :entry' : '', remove.length ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' '),
        ExpressionAttributeNames: { '#c': agentSocketAttr(connectionId), ...names },
        ...(entry && { ExpressionAttributeValues: { ':entry': entry } }),
      }),
    );
  }
}
