import { randomUUID } from 'node:crypto';
import { AttachmentStore } from '../../shared/adapters/attachment-store';
import { dynamoDocumentClient, s3Client, sqsClient } from '../../shared/adapters/clients';
import { sniffContent } from '../../shared/adapters/content-sniffer';
import { FileStore } from '../../shared/adapters/file-store';
import { ssrfSafeFetcher } from '../../shared/adapters/safe-fetch';
import { S3StreamUploader } from '../../shared/adapters/stream-uploader';
import { SqsMailQueue } from '../../shared/adapters/mail-queue';
import { SqsScanWatch } from '../../shared/adapters/scan-watch-queue';
import { PresenceStore } from '../../shared/adapters/presence-store';
import type { Secrets } from '../../shared/adapters/secrets';
import { TurnSessionRecords } from '../../shared/adapters/session-records';
import { UploadSlotStore } from '../../shared/adapters/upload-slot-store';
import { socketAdapters, type LiveSockets } from '../../shared/adapters/socket-adapters';
import { lazyBotSecrets, once, secretsFrom, tokenSigner } from '../../shared/adapters/wiring-kit';
import { livePush } from '../../shared/app/live-push';
import { queueAttachmentEmail } from '../../shared/app/mail-attachment';
import { acceptChannelMedia } from '../../shared/app/channel-media';
import { channelDelivery } from '../../shared/app/channel-delivery';
import type { MailJob, Ports, SessionStorePort, TurnRecords } from '../../shared/app/ports';
import { logger } from '../../shared/logger';
import { anyAgentOnline } from '../../shared/app/presence';
import { createSendAttachment } from '../../shared/app/send-attachment';
import { acceptUploads } from '../../shared/app/uploads';
import { BotRegistry } from '../../shared/bots/loader';
import { ChannelStore } from '../../shared/adapters/channel-store';
import { channelApiUrls } from '../../shared/channels/definitions';
import { STORAGE_SETTINGS, SIGNING_SETTINGS, BOT_SECRET_SETTINGS, CHANNEL_API_SETTINGS, loadConfig } from '../../shared/config';

/** The settings actions reads: the secrets its bots' turns use (BOT_SECRETS), the mail queue, the fetcher's allowlist. */
export const ACTIONS_CONFIG = [...STORAGE_SETTINGS, ...SIGNING_SETTINGS, ...BOT_SECRET_SETTINGS, 'BOTS_DIR', 'PUBLIC_BASE_URL', 'MAIL_QUEUE_URL', 'FETCH_ALLOW_HOSTS', ...CHANNEL_API_SETTINGS, 'SOCKET_ENDPOINT', 'MALWARE_SCAN', 'SCAN_WATCH_QUEUE_URL', 'SCAN_PENDING_ALARM_MINUTES'] as const;

/** Everything a turn reaches through its flow ports, besides the turn's own. */
export type ActionsWorld = Omit<Ports, 'events' | 'mail' | 'uploadForms' | 'downloadLinks' | 'senderEmail' | 'sockets' | 'socketPoster' | 'verifyAgentToken' | 'socketUrl' | 'sessions'> & {
  sessions: SessionStorePort & TurnRecords;
};

/**
 * The actions function's composition root: the stores a turn touches, and the flow ports
 * built on them (upload checks, Messenger media, Send Attachment, delivery, presence, email).
 * An override of a flow port (even `undefined`) wins over the built one.
 */
export function actionsWiring(env: Record<string, string | undefined> = process.env, overrides: Partial<ActionsWorld> & { secrets?: Secrets; live?: LiveSockets } = {}) {
  const config = loadConfig(ACTIONS_CONFIG, env);
  const db = dynamoDocumentClient(config);
  const s3 = s3Client(config);
  const secrets = overrides.secrets ?? secretsFrom(config);
  const queueUrl = config.MAIL_QUEUE_URL;
  const stores = {
    bots: overrides.bots ?? BotRegistry.fromDir(config.BOTS_DIR),
    sessions: overrides.sessions ?? new TurnSessionRecords(db, config.TABLE_NAME),
    attachments: overrides.attachments ?? new AttachmentStore(db, config.TABLE_NAME),
    files: overrides.files ?? new FileStore(s3, config.BUCKET_NAME),
    uploader: overrides.uploader ?? new S3StreamUploader(s3, config.BUCKET_NAME),
    sniff: overrides.sniff ?? sniffContent,
    uploads: overrides.uploads ?? new UploadSlotStore(db, config.TABLE_NAME),
    presence: overrides.presence ?? new PresenceStore(db, config.TABLE_NAME),
    channelRecords: overrides.channelRecords ?? new ChannelStore(db, config.TABLE_NAME),
    channelApiUrls: overrides.channelApiUrls ?? channelApiUrls(config),
    // No MAIL_QUEUE_URL: the deployment has email disabled (no senderEmail; cdk synth warned).
    // Files are kept and shown to agents as usual; each one that would have been emailed is logged.
    mailQueue:
      overrides.mailQueue ??
      (queueUrl
        ? new SqsMailQueue(sqsClient(config), queueUrl)
        : {
            send: async (job: MailJob) => {
              logger.warn('attachment email not sent: email is disabled in this deployment (deploy with -c senderEmail=...)', { ...job });
            },
          }),
    fetch: overrides.fetch ?? ssrfSafeFetcher(config),
    now: overrides.now ?? Date.now,
    newId: overrides.newId ?? randomUUID,
    publicBaseUrl: overrides.publicBaseUrl ?? config.PUBLIC_BASE_URL,
    // Files users and agents send are held for the malware verdict (SPEC 13).
    malwareScan: 'malwareScan' in overrides ? overrides.malwareScan : config.MALWARE_SCAN,
    // Each held file's overdue check (SCAN_WATCH_QUEUE_URL is set only while scanning is on).
    scanWatch: 'scanWatch' in overrides ? overrides.scanWatch : config.SCAN_WATCH_QUEUE_URL ? new SqsScanWatch(sqsClient(config), config.SCAN_WATCH_QUEUE_URL) : undefined,
    scanPendingAlarmMinutes: overrides.scanPendingAlarmMinutes ?? config.SCAN_PENDING_ALARM_MINUTES,
  };
  return once(async (): Promise<ActionsWorld> => {
    const tokens = overrides.tokens ?? (await tokenSigner(secrets, config.SIGNING_KEY_SECRET));
    const botSecrets = overrides.botSecrets ?? lazyBotSecrets(secrets, config);
    const world = { ...stores, tokens, botSecrets };
    const live = socketAdapters(db, config, overrides.live);
    return {
      ...world,
      // Bot replies and status changes are pushed to the user's and the agents' sockets.
      push: 'push' in overrides ? overrides.push : live && livePush({ ...world, ...live }),
      ports: {
        acceptUploads: (session, uploadIds, eventId) => acceptUploads(world, session, uploadIds, eventId),
        acceptChannelMedia: (session, channel, media, messageId) => acceptChannelMedia(world, session, channel, media, messageId),
        performAction: createSendAttachment(world),
        deliver: channelDelivery(world),
        agentsOnline: () => anyAgentOnline(world),
        onUserFile: (session, file) => queueAttachmentEmail(world, session, file),
        ...overrides.ports,
      },
    };
  });
}
