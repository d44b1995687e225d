import { describe, expect, it } from 'vitest';
import type { SocketClient, SocketConnections } from '../../shared/app/ports';
import { openSocket, SOCKET_RECORD_SECONDS } from '../../shared/app/sockets';
import { TooManyConnections } from '../../shared/domain/errors';
import { clientError } from '../../shared/http/errors';

/** A socket-connections port that records what it was asked and answers as told. */
function recordingSockets(answer: 'added' | 'full' = 'added') {
  const added: { connectionId: string; client: SocketClient; expiresAt: number }[] = [];
  const sockets: SocketConnections = {
    add: async (connectionId, client, expiresAt) => (added.push({ connectionId, client, expiresAt }), answer),
    remove: async () => undefined,
    ofSession: async () => [],
    ofAgents: async () => [],
  };
  return { sockets, added };
}

const NOW = 1_800_000_000_000;
const deps = (sockets: SocketConnections) => ({ sockets, sessions: {} as never, now: () => NOW });

describe('opening a socket (SPEC 10)', () => {
  it("keeps an agent's connection only as long as the token it was opened with", async () => {
    const { sockets, added } = recordingSockets();
    const exp = NOW / 1000 + 600;
    await openSocket(deps(sockets), 'c1', { kind: 'agent', agentId: 'ann', name: 'Ann', until: exp });
    expect(added[0]!.expiresAt).toBe(exp);
    // A token longer than API Gateway's two hours: the connection's own limit applies.
    await openSocket(deps(sockets), 'c2', { kind: 'agent', agentId: 'ann', name: 'Ann', until: NOW / 1000 + 86_400 });
    expect(added[1]!.expiresAt).toBe(NOW / 1000 + SOCKET_RECORD_SECONDS);
  });

  it('refuses a connection beyond the holder’s limit with 429 too_many_connections', async () => {
    const { sockets } = recordingSockets('full');
    const refused = await openSocket(deps(sockets), 'c9', { kind: 'agent', agentId: 'ann', name: 'Ann' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyConnections);
    expect(clientError(refused)).toMatchObject({ statusCode: 429, code: 'too_many_connections' });
  });
});
