import { logger } from '../logger';
import type { Ports, WithSessionAdmin } from './ports';

/**
 * A session's TTL deletion: remove every file and every record left under it.
 * Files first: if this fails half-way, the records that name them are still there and the
 * retried stream batch finishes the job. Idempotent, so a retried batch is harmless.
 * Every checked session file lives under the session's prefix, agent files included; bytes
 * posted to upload keys but never used (outside it) go with the uploads lifecycle rule.
 * The bucket's lifecycle rule catches anything written after this ran.
 */
export async function expireSession(deps: Pick<Ports, 'files'> & WithSessionAdmin<'deleteAll'>, sessionId: string): Promise<void> {
  const files = await deps.files.deleteSessionFiles(sessionId);
  const records = await deps.sessions.deleteAll(sessionId);
  logger.info('session expired and deleted', { sessionId, files, records });
}

/**
 * A file with its own, shorter life (an agent's file, 24 h) reached it: its record was
 * removed by TTL, so its object goes too. Only keys inside the session's prefix are touched,
 * whatever the stream record says.
 */
export async function expireFile(deps: Pick<Ports, 'files'>, sessionId: string, key: string): Promise<void> {
  if (!deps.files.isSessionKey(sessionId, key)) {
    logger.warn('expired attachment record names a key outside its session; left alone', { sessionId });
    return;
  }
  await deps.files.delete(key);
  logger.info('expired attachment file deleted', { sessionId });
}
