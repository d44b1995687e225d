import { randomUUID } from 'node:crypto';
import { AttachmentStore } from '../../shared/adapters/attachment-store';
import { dynamoDocumentClient, s3Client, sqsClient } from '../../shared/adapters/clients';
import { sniffContent } from '../../shared/adapters/content-sniffer';
import { S3UploadForms } from '../../shared/adapters/upload-forms';
import { SqsScanWatch } from '../../shared/adapters/scan-watch-queue';
import { FileStore } from '../../shared/adapters/file-store';
import { PresenceStore } from '../../shared/adapters/presence-store';
import type { Secrets } from '../../shared/adapters/secrets';
import { SessionStore } from '../../shared/adapters/session-store';
import { UploadSlotStore } from '../../shared/adapters/upload-slot-store';
import { socketAdapters, type LiveSockets } from '../../shared/adapters/socket-adapters';
import { lazyBotSecrets, once, secretsFrom, tokenSigner } from '../../shared/adapters/wiring-kit';
import { livePush } from '../../shared/app/live-push';
import { channelDelivery, type ChannelDeliveryDeps } from '../../shared/app/channel-delivery';
import { BotRegistry } from '../../shared/bots/loader';
import { ChannelStore } from '../../shared/adapters/channel-store';
import { channelApiUrls } from '../../shared/channels/definitions';
import { STORAGE_SETTINGS, SIGNING_SETTINGS, BOT_SECRET_SETTINGS, CHANNEL_API_SETTINGS, loadConfig } from '../../shared/config';
import type { AgentPorts } from './handler';

/** The settings the agent API reads: page tokens (BOT_SECRETS) to push agent messages to Messenger. */
export const AGENT_CONFIG = [...STORAGE_SETTINGS, ...SIGNING_SETTINGS, ...BOT_SECRET_SETTINGS, 'BOTS_DIR', 'PUBLIC_BASE_URL', ...CHANNEL_API_SETTINGS, 'SOCKET_ENDPOINT', 'MALWARE_SCAN', 'SCAN_WATCH_QUEUE_URL', 'SCAN_PENDING_ALARM_MINUTES'] as const;

/** The agent API's ports and what its delivery port is built on. */
export type AgentWorld = AgentPorts & ChannelDeliveryDeps;

/** The agent API's composition root. `ports.deliver` pushes agent messages to channels that are not polled. */
export function agentWiring(env: Record<string, string | undefined> = process.env, overrides: Partial<AgentWorld> & { secrets?: Secrets; live?: LiveSockets } = {}) {
  const config = loadConfig(AGENT_CONFIG, env);
  const db = dynamoDocumentClient(config);
  const s3 = s3Client(config);
  const secrets = overrides.secrets ?? secretsFrom(config);
  const stores = {
    bots: overrides.bots ?? BotRegistry.fromDir(config.BOTS_DIR),
    sessions: overrides.sessions ?? new SessionStore(db, config.TABLE_NAME),
    attachments: overrides.attachments ?? new AttachmentStore(db, config.TABLE_NAME),
    files: overrides.files ?? new FileStore(s3, config.BUCKET_NAME),
    uploadForms: overrides.uploadForms ?? new S3UploadForms(s3, config.BUCKET_NAME),
    sniff: overrides.sniff ?? sniffContent,
    uploads: overrides.uploads ?? new UploadSlotStore(db, config.TABLE_NAME),
    presence: overrides.presence ?? new PresenceStore(db, config.TABLE_NAME),
    channelRecords: overrides.channelRecords ?? new ChannelStore(db, config.TABLE_NAME),
    channelApiUrls: overrides.channelApiUrls ?? channelApiUrls(config),
    now: overrides.now ?? Date.now,
    newId: overrides.newId ?? randomUUID,
    publicBaseUrl: overrides.publicBaseUrl ?? config.PUBLIC_BASE_URL,
    // Files users and agents send are held for the malware verdict (SPEC 13).
    malwareScan: 'malwareScan' in overrides ? overrides.malwareScan : config.MALWARE_SCAN,
    // Each held file's overdue check (SCAN_WATCH_QUEUE_URL is set only while scanning is on).
    scanWatch: 'scanWatch' in overrides ? overrides.scanWatch : config.SCAN_WATCH_QUEUE_URL ? new SqsScanWatch(sqsClient(config), config.SCAN_WATCH_QUEUE_URL) : undefined,
    scanPendingAlarmMinutes: overrides.scanPendingAlarmMinutes ?? config.SCAN_PENDING_ALARM_MINUTES,
  };
  return once(async (): Promise<AgentWorld> => {
    const tokens = overrides.tokens ?? (await tokenSigner(secrets, config.SIGNING_KEY_SECRET));
    const botSecrets = overrides.botSecrets ?? lazyBotSecrets(secrets, config);
    const delivery = { ...stores, tokens, botSecrets };
    const live = socketAdapters(db, config, overrides.live);
    // Agent messages, takeovers and releases are pushed to the user's and the agents' sockets.
    const push = 'push' in overrides ? overrides.push : live && livePush({ ...delivery, ...live });
    // The conversation an agent opens is noted on the agents' connections item, so its messages reach that console.
    const sockets = 'sockets' in overrides ? overrides.sockets : live?.sockets;
    return { ...delivery, push, ...(sockets && { sockets }), ports: { deliver: channelDelivery(delivery), ...overrides.ports } };
  });
}
