import { AttachmentStore } from '../../shared/adapters/attachment-store';
import { dynamoDocumentClient, s3Client } from '../../shared/adapters/clients';
import { S3DownloadLinks } from '../../shared/adapters/download-links';
import type { Secrets } from '../../shared/adapters/secrets';
import { SessionRecords } from '../../shared/adapters/session-records';
import { once, secretsFrom, tokenSigner } from '../../shared/adapters/wiring-kit';
import { STORAGE_SETTINGS, SIGNING_SETTINGS, loadConfig } from '../../shared/config';
import type { ProxyPorts } from './handler';

/** The settings the proxy reads: no bots, no bot secrets, no queues. */
export const PROXY_CONFIG = [...STORAGE_SETTINGS, ...SIGNING_SETTINGS] as const;

/** The proxy's composition root: clients and stores now, the signing key on first use. */
export function proxyWiring(env: Record<string, string | undefined> = process.env, overrides: Partial<ProxyPorts> & { secrets?: Secrets } = {}) {
  const config = loadConfig(PROXY_CONFIG, env);
  const db = dynamoDocumentClient(config);
  const secrets = overrides.secrets ?? secretsFrom(config);
  const ports = {
    sessions: overrides.sessions ?? new SessionRecords(db, config.TABLE_NAME),
    attachments: overrides.attachments ?? new AttachmentStore(db, config.TABLE_NAME),
    downloadLinks: overrides.downloadLinks ?? new S3DownloadLinks(s3Client(config), config.BUCKET_NAME),
    now: overrides.now ?? Date.now,
  };
  return once(async (): Promise<ProxyPorts> => ({ ...ports, tokens: overrides.tokens ?? (await tokenSigner(secrets, config.SIGNING_KEY_SECRET)) }));
}
