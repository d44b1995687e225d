import { deleteObject } from '../adapters/attachment-objects';
import { sessionPrefix } from '../adapters/file-store';
import { logger } from '../logger';
import type { Deps } from './deps';

/**
 * A session's TTL deletion: remove every file and every record left under it.
 * Files first: if this fails half-way, the records that name them are still there and the
 * retried stream batch finishes the job. Idempotent, so a retried batch is harmless.
 * Every session file lives under the session's prefix (`newAttachmentKey`), uploads and
 * agent files included. The bucket's lifecycle rule catches anything written after this ran.
 */
export async function expireSession(deps: Pick<Deps, 'sessions' | 'files'>, sessionId: string): Promise<void> {
  const files = await deps.files.deletePrefix(sessionPrefix(sessionId));
  const keys = await deps.sessions.listKeys(sessionId);
  await deps.sessions.deleteKeys(keys);
  logger.info('session expired and deleted', { sessionId, files, records: keys.length });
}

/**
 * A file with its own, shorter life (an agent's file, 24 h) reached it: its record was
 * removed by TTL, so its object goes too. Only keys inside the session's prefix are touched,
 * whatever the stream record says.
 */
export async function expireFile(deps: Pick<Deps, 'files'>, sessionId: string, key: string): Promise<void> {
  if (!key.startsWith(sessionPrefix(sessionId))) {
    logger.warn('expired attachment record names a key outside its session; left alone', { sessionId });
    return;
  }
  await deleteObject(deps.files, key);
  logger.info('expired attachment file deleted', { sessionId });
}
