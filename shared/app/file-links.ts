import type { Session } from '../domain/session';
import type { Tokens } from './ports';

export const FILE_TOKEN = 'ft';
/** Files an agent sends can be downloaded for 24 h (or until the session expires). */
export const AGENT_FILE_LINK_SECONDS = 24 * 3600;

/** What a /files token carries: which file of which session, and an optional own expiry (epoch s). */
export interface FileClaims {
  sid: string;
  aid: string;
  exp?: number;
}

/**
 * `/files/{token}` for one attachment. The session's own expiry is checked when the link is
 * used (it slides), so only files with a shorter life (agent files) carry `exp`.
 */
export function fileLink(tokens: Tokens, session: Pick<Session, 'id'>, attachmentId: string, exp?: number): string {
  const claims: FileClaims = { sid: session.id, aid: attachmentId, ...(exp !== undefined && { exp }) };
  return `/files/${tokens.sign(FILE_TOKEN, claims)}`;
}
