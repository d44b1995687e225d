import { sessionPrefix } from '../adapters/file-store';
import { logger } from '../logger';
import type { Deps } from './deps';

/**
 * A session's TTL deletion: remove every file and every record left under it.
 * Idempotent, so a retried stream batch is harmless.
 */
export async function expireSession(deps: Pick<Deps, 'sessions' | 'files'>, sessionId: string): Promise<void> {
  const files = await deps.files.deletePrefix(sessionPrefix(sessionId));
  const keys = await deps.sessions.listKeys(sessionId);
  await deps.sessions.deleteKeys(keys);
  logger.info('session expired and deleted', { sessionId, files, records: keys.length });
}
