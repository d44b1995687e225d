import { dynamoDocumentClient, s3Client } from '../../shared/adapters/clients';
import { FileStore } from '../../shared/adapters/file-store';
import { SessionStore } from '../../shared/adapters/session-store';
import { STORAGE_SETTINGS, loadConfig } from '../../shared/config';
import type { ExpiryPorts } from './handler';

/** The settings expiry reads: the table and the bucket. */
export const EXPIRY_CONFIG = STORAGE_SETTINGS;

/** Expiry's composition root: a session store and a file store, nothing that needs a secret. */
export function expiryWiring(env: Record<string, string | undefined> = process.env, overrides: Partial<ExpiryPorts> = {}) {
  const config = loadConfig(EXPIRY_CONFIG, env);
  const ports: ExpiryPorts = {
    sessions: overrides.sessions ?? new SessionStore(dynamoDocumentClient(config), config.TABLE_NAME),
    files: overrides.files ?? new FileStore(s3Client(config), config.BUCKET_NAME),
  };
  return async () => ports;
}
