import { describe, expect, it } from 'vitest';
import type { SocketClient, SocketConnections } from '../../shared/app/ports';
import { agentAudienceIn } from '../../shared/adapters/table-layout';
import { livePush } from '../../shared/app/live-push';
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
    agentsFor: async () => ({ all: [], watching: [] }),
    watch: async () => undefined,
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

describe('pushing to a connection that answers 410', () => {
  const session = { id: 's1', botId: 'b', channel: 'web', userId: 'web:s1', sockets: new Set(['fresh']), lastActivityAt: NOW, expiresAt: NOW / 1000 + 600, flow: { variables: {}, defaultAnswers: 0 } } as never;
  const message = { seq: 1, from: 'bot' as const, text: 'Hi', at: NOW };

  async function push(answers: ('sent' | 'gone')[]) {
    const removed: string[] = [];
    const posted: string[] = [];
    const { sockets } = recordingSockets();
    sockets.remove = async (id) => void removed.push(id);
    const live = livePush({
      sockets,
      socketPoster: { post: async (id) => (posted.push(id), answers.shift() ?? 'sent') },
      sessions: {} as never,
      tokens: { sign: () => 't', verify: () => undefined },
      bots: { get: () => undefined, all: () => [], byMessengerPage: () => undefined },
      now: () => NOW,
    });
    await live(session, [message], 'everyone', { all: [], watching: [] });
    return { removed, posted };
  }

  it('asks once more before forgetting it: a connection still in its $connect answers 410 too', async () => {
    expect(await push(['gone', 'sent'])).toEqual({ removed: [], posted: ['fresh', 'fresh'] });
  });

  it('forgets a connection that is still gone when asked again', async () => {
    expect(await push(['gone', 'gone'])).toEqual({ removed: ['fresh'], posted: ['fresh', 'fresh'] });
  });
});

describe('which agent consoles a push reaches (issue 11 point 6)', () => {
  const base = { id: 's1', botId: 'b', channel: 'web', userId: 'web:s1', lastActivityAt: NOW, expiresAt: NOW / 1000 + 600, flow: { variables: {}, defaultAnswers: 0 } };
  const message = { seq: 1, from: 'bot' as const, text: 'Hi', at: NOW };
  const agents = { all: ['watching', 'elsewhere'], watching: ['watching'] };

  async function reached(session: object, messages: (typeof message)[], opts: { audience?: 'everyone' | 'agents'; listChanged?: boolean } = {}) {
    const posted: string[] = [];
    const { sockets } = recordingSockets();
    const live = livePush({
      sockets,
      socketPoster: { post: async (id) => (posted.push(id), 'sent') },
      sessions: { lastMessage: async () => undefined } as never,
      tokens: { sign: () => 't', verify: () => undefined },
      bots: { get: () => undefined, all: () => [], byMessengerPage: () => undefined },
      now: () => NOW,
    });
    await live(session as never, messages, opts.audience ?? 'everyone', agents, opts.listChanged);
    return posted.sort();
  }

  it('sends the bot’s chatter only to consoles that have the conversation open', async () => {
    expect(await reached(base, [message])).toEqual(['watching']);
  });

  it('sends a status change, a new conversation, a change the turn marks for the list and a taken-over conversation’s messages to every console', async () => {
    expect(await reached(base, [])).toEqual(['elsewhere', 'watching']);
    expect(await reached(base, [], { audience: 'agents' })).toEqual(['elsewhere', 'watching']);
    expect(await reached(base, [message], { listChanged: true })).toEqual(['elsewhere', 'watching']);
    expect(await reached({ ...base, operator: { agentId: 'a', name: 'A', since: NOW } }, [message])).toEqual(['elsewhere', 'watching']);
  });

  it('reads who has which conversation open from the agents’ connections item, live entries only', () => {
    const item = {
      'conn#c1': { until: NOW / 1000 + 60, agent: 'ann' },
      'conn#c2': { until: NOW / 1000 + 60, agent: 'bob' },
      'conn#c3': { until: NOW / 1000 - 1, agent: 'ann' },
      'watch#ann': { s: 's1', until: NOW / 1000 + 60 },
      'watch#bob': { s: 's1', until: NOW / 1000 - 1 },
    };
    expect(agentAudienceIn(item, NOW / 1000, 's1')).toEqual({ all: ['c1', 'c2'], watching: ['c1'] });
    expect(agentAudienceIn(item, NOW / 1000, 's2')).toEqual({ all: ['c1', 'c2'], watching: [] });
  });
});
