import { NotAuthorized } from '../domain/errors';

/** Who is calling the agent API, from the claims the JWT authorizer verified. */
export interface AgentIdentity {
  agentId: string;
  name: string;
}

export type JwtClaims = Record<string, string | number | boolean | string[]>;

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/**
 * `sub` identifies the agent; the display name (`{agent.name}`) is the first of `name`
 * (local tokens, Cognito ID tokens with the name attribute), `cognito:username`, `email`,
 * `username` (Cognito access tokens), falling back to `sub`.
 * No claims means the authorizer did not run: treat as unauthenticated, never as anyone.
 */
export function agentFromClaims(claims: JwtClaims | undefined): AgentIdentity {
  const agentId = text(claims?.sub);
  if (!claims || !agentId) throw new NotAuthorized('Missing or invalid agent token');
  const name = text(claims.name) ?? text(claims['cognito:username']) ?? text(claims.email) ?? text(claims.username) ?? agentId;
  return { agentId, name: name.slice(0, 100) };
}
