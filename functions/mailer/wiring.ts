import { AttachmentStore } from '../../shared/adapters/attachment-store';
import { dynamoDocumentClient, s3Client } from '../../shared/adapters/clients';
import { FileStore } from '../../shared/adapters/file-store';
import { DynamoMailClaims } from '../../shared/adapters/mail-claims';
import { SesMailSender, sesClient } from '../../shared/adapters/mail-sender';
import type { Secrets } from '../../shared/adapters/secrets';
import { TurnSessionRecords } from '../../shared/adapters/session-records';
import { once, secretsFrom, tokenSigner } from '../../shared/adapters/wiring-kit';
import { BotRegistry } from '../../shared/bots/loader';
import { STORAGE_SETTINGS, SIGNING_SETTINGS, loadConfig } from '../../shared/config';
import type { MailerPorts } from './handler';

/** The settings the mailer reads: bot files (recipients), no bot secrets, no queues. */
export const MAILER_CONFIG = [...STORAGE_SETTINGS, ...SIGNING_SETTINGS, 'BOTS_DIR', 'PUBLIC_BASE_URL', 'SENDER_EMAIL', 'SES_ENDPOINT', 'SES_CONFIGURATION_SET'] as const;

/** The mailer's composition root. The signing key (for /files links in large emails) is read on first use. */
export function mailerWiring(env: Record<string, string | undefined> = process.env, overrides: Partial<MailerPorts> & { secrets?: Secrets } = {}) {
  const config = loadConfig(MAILER_CONFIG, env);
  const db = dynamoDocumentClient(config);
  const secrets = overrides.secrets ?? secretsFrom(config);
  const ports = {
    bots: overrides.bots ?? BotRegistry.fromDir(config.BOTS_DIR),
    sessions: overrides.sessions ?? new TurnSessionRecords(db, config.TABLE_NAME),
    attachments: overrides.attachments ?? new AttachmentStore(db, config.TABLE_NAME),
    files: overrides.files ?? new FileStore(s3Client(config), config.BUCKET_NAME),
    mail: overrides.mail ?? { sender: new SesMailSender(sesClient(config), config.SES_CONFIGURATION_SET), claims: new DynamoMailClaims(db, config.TABLE_NAME) },
    now: overrides.now ?? Date.now,
    senderEmail: overrides.senderEmail ?? config.SENDER_EMAIL,
    publicBaseUrl: overrides.publicBaseUrl ?? config.PUBLIC_BASE_URL,
  };
  return once(async (): Promise<MailerPorts> => ({ ...ports, tokens: overrides.tokens ?? (await tokenSigner(secrets, config.SIGNING_KEY_SECRET)) }));
}
