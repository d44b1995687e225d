import { AttachmentStore } from '../../shared/adapters/attachment-store';
import { dynamoDocumentClient, s3Client, sqsClient } from '../../shared/adapters/clients';
import { eventQueueFrom } from '../../shared/adapters/event-queue';
import { SessionFileStore } from '../../shared/adapters/session-file-store';
import { SqsMailQueue } from '../../shared/adapters/mail-queue';
import { SqsScanWatch } from '../../shared/adapters/scan-watch-queue';
import type { Secrets } from '../../shared/adapters/secrets';
import { TurnSessionRecords } from '../../shared/adapters/session-records';
import { socketAdapters, type LiveSockets } from '../../shared/adapters/socket-adapters';
import { once, secretsFrom, tokenSigner } from '../../shared/adapters/wiring-kit';
import { livePush } from '../../shared/app/live-push';
import type { MailJob } from '../../shared/app/ports';
import type { ScanVerdictDeps } from '../../shared/app/scan-verdict';
import type { ScanVerdictPorts } from './handler';
import { BotRegistry } from '../../shared/bots/loader';
import { STORAGE_SETTINGS, SIGNING_SETTINGS, loadConfig } from '../../shared/config';
import { logger } from '../../shared/logger';

/**
 * The settings the verdict function reads: bots (unscannable policy, recipients), the mail
 * queue, the events queue (an agent's file to a channel user is delivered once settled), the
 * sockets, and the scan watch queue (set only when an overdue check waits longer
 * than one SQS delay, 15 minutes: the function then sends an early check back for the rest).
 */
export const SCAN_VERDICT_CONFIG = [...STORAGE_SETTINGS, ...SIGNING_SETTINGS, 'BOTS_DIR', 'MAIL_QUEUE_URL', 'EVENTS_QUEUE_URL', 'SOCKET_ENDPOINT', 'SCAN_WATCH_QUEUE_URL'] as const;

/**
 * The verdict function's composition root: the records and files a verdict settles, the mail
 * queue a clean user file is emailed through, the sockets told (the signing key, for the
 * pushed views' /files links, is read on first use), and the scan watch an early overdue
 * check is sent back on.
 */
export function scanVerdictWiring(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<ScanVerdictDeps & Pick<ScanVerdictPorts, 'scanWatch'>> & { secrets?: Secrets; live?: LiveSockets } = {},
) {
  const config = loadConfig(SCAN_VERDICT_CONFIG, env);
  const db = dynamoDocumentClient(config);
  const secrets = overrides.secrets ?? secretsFrom(config);
  const queueUrl = config.MAIL_QUEUE_URL;
  const stores = {
    bots: overrides.bots ?? BotRegistry.fromDir(config.BOTS_DIR),
    sessions: overrides.sessions ?? new TurnSessionRecords(db, config.TABLE_NAME),
    attachments: overrides.attachments ?? new AttachmentStore(db, config.TABLE_NAME),
    files: overrides.files ?? new SessionFileStore(s3Client(config), config.BUCKET_NAME),
    mailQueue:
      overrides.mailQueue ??
      (queueUrl
        ? new SqsMailQueue(sqsClient(config), queueUrl)
        : {
            send: async (job: MailJob) => {
              logger.warn('attachment email not sent: email is disabled in this deployment (deploy with -c senderEmail=...)', { ...job });
            },
          }),
    // An agent's file to a channel user goes out once it is settled: a `deliver` event to actions.
    events: overrides.events ?? eventQueueFrom(config),
    now: overrides.now ?? Date.now,
    scanWatch: 'scanWatch' in overrides ? overrides.scanWatch : config.SCAN_WATCH_QUEUE_URL ? new SqsScanWatch(sqsClient(config), config.SCAN_WATCH_QUEUE_URL) : undefined,
  };
  return once(async (): Promise<ScanVerdictPorts> => {
    const live = socketAdapters(db, config, overrides.live);
    const bucketName = config.BUCKET_NAME;
    if ('push' in overrides || !live) return { ...stores, bucketName, push: overrides.push };
    const tokens = await tokenSigner(secrets, config.SIGNING_KEY_SECRET);
    return { ...stores, bucketName, push: livePush({ ...stores, ...live, tokens }) };
  });
}
