import { NotAuthorized, TooManyConnections } from '../domain/errors';
import { agentFromClaims } from './agent-identity';
import { requireLiveSession } from './conversation';
import type { Ports, SocketClient } from './ports';
import { SESSION_TOKEN } from './session-token';

/**
 * API Gateway ends a WebSocket connection after two hours at most; a connection record lives
 * a little longer, so its TTL only removes records whose $disconnect never arrived.
 */
export const SOCKET_RECORD_SECONDS = 2 * 3600 + 300;

/** What a client puts in the socket URL's query string (SPEC 10). */
export interface SocketCredentials {
  /** A web user's session token. */
  token?: string;
  /** An agent's JWT. */
  agentToken?: string;
  /** Optional: the session the user means; a token of another session is refused. */
  sessionId?: string;
}

/**
 * Who may open a socket (the `$connect` authorizer): an agent with a JWT the HTTP API would
 * accept, or a web user with a session token. Missing, forged or expired credentials, and a
 * token of another session than the one named, are NotAuthorized.
 */
export async function authorizeSocket(deps: Pick<Ports, 'tokens' | 'verifyAgentToken'>, credentials: SocketCredentials): Promise<SocketClient> {
  if (credentials.agentToken) {
    const claims = await deps.verifyAgentToken(credentials.agentToken);
    if (!claims) throw new NotAuthorized('Missing or invalid agent token');
    const agent = agentFromClaims(claims);
    // The connection is the token's: it gets nothing after the token expires.
    const exp = Number(claims.exp);
    return { kind: 'agent', agentId: agent.agentId, name: agent.name, ...(Number.isFinite(exp) && { until: exp }) };
  }
  const claims = deps.tokens.verify<{ sid: string }>(SESSION_TOKEN, credentials.token);
  if (!claims || typeof claims.sid !== 'string') throw new NotAuthorized('Missing or invalid session token');
  if (credentials.sessionId !== undefined && credentials.sessionId !== claims.sid) throw new NotAuthorized('The token is for another session');
  return { kind: 'user', sessionId: claims.sid };
}

/**
 * `$connect` after the authorizer let the client in: a user's session must still be live
 * (SessionExpired otherwise, answered 410), then the connection is recorded.
 */
export async function openSocket(deps: Pick<Ports, 'sockets' | 'sessions' | 'now'>, connectionId: string, client: SocketClient): Promise<void> {
  if (client.kind === 'user') await requireLiveSession(deps, client.sessionId);
  const longest = Math.floor(deps.now() / 1000) + SOCKET_RECORD_SECONDS;
  const until = client.kind === 'agent' && client.until !== undefined ? Math.min(client.until, longest) : longest;
  if ((await deps.sockets.add(connectionId, client, until)) === 'full') throw new TooManyConnections();
}

/** `$disconnect`: the connection is forgotten. */
export async function closeSocket(deps: Pick<Ports, 'sockets'>, connectionId: string, client: SocketClient): Promise<void> {
  await deps.sockets.remove(connectionId, client);
}

/**
 * `$default`: the only frame a client sends is `{"type":"ping"}`, answered `{"type":"pong"}`;
 * everything else goes through the HTTP routes and their validation.
 */
export function answerSocketFrame(body: string | undefined): unknown {
  let frame: unknown;
  try {
    frame = JSON.parse(body ?? '');
  } catch {
    frame = undefined;
  }
  if ((frame as { type?: unknown } | undefined)?.type === 'ping') return { type: 'pong' };
  return { type: 'error', error: { code: 'unsupported_frame', message: 'Only {"type":"ping"} is accepted here; use the HTTP API' } };
}
