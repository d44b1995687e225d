import { randomUUID } from 'node:crypto';
import { dynamoDocumentClient, s3Client } from '../../shared/adapters/clients';
import { eventQueueFrom } from '../../shared/adapters/event-queue';
import { S3UploadForms } from '../../shared/adapters/upload-forms';
import { SessionFileStore } from '../../shared/adapters/session-file-store';
import type { Secrets } from '../../shared/adapters/secrets';
import { SessionRecords } from '../../shared/adapters/session-records';
import { UploadSlotOpener } from '../../shared/adapters/upload-slot-store';
import { socketAdapters, type LiveSockets } from '../../shared/adapters/socket-adapters';
import { lazyBotSecrets, once, secretsFrom, tokenSigner } from '../../shared/adapters/wiring-kit';
import { livePush } from '../../shared/app/live-push';
import { BotRegistry } from '../../shared/bots/loader';
import { ChannelStore } from '../../shared/adapters/channel-store';
import { channelApiUrls } from '../../shared/channels/definitions';
import { STORAGE_SETTINGS, SIGNING_SETTINGS, BOT_SECRET_SETTINGS, CHANNEL_API_SETTINGS, loadConfig } from '../../shared/config';
import type { IntakePorts } from './handler';

/** The settings intake reads: webhook secrets only (BOT_SECRETS), channel API bases (Telegram answers button presses), the events queue, the console's sign-in. */
export const INTAKE_CONFIG = [...STORAGE_SETTINGS, ...SIGNING_SETTINGS, ...BOT_SECRET_SETTINGS, 'BOTS_DIR', 'PUBLIC_BASE_URL', ...CHANNEL_API_SETTINGS, 'EVENTS_QUEUE_URL', 'AGENT_SIGN_IN', 'COGNITO_CLIENT_ID', 'COGNITO_ENDPOINT', 'SOCKET_URL', 'SOCKET_ENDPOINT'] as const;

/** Intake's composition root: clients and stores now; the signing key and webhook secrets on first use. */
export function intakeWiring(env: Record<string, string | undefined> = process.env, overrides: Partial<IntakePorts> & { secrets?: Secrets; live?: LiveSockets } = {}) {
  const config = loadConfig(INTAKE_CONFIG, env);
  const db = dynamoDocumentClient(config);
  const s3 = s3Client(config);
  const secrets = overrides.secrets ?? secretsFrom(config);
  const ports = {
    bots: overrides.bots ?? BotRegistry.fromDir(config.BOTS_DIR),
    sessions: overrides.sessions ?? new SessionRecords(db, config.TABLE_NAME),
    uploads: overrides.uploads ?? new UploadSlotOpener(db, config.TABLE_NAME),
    files: overrides.files ?? new SessionFileStore(s3, config.BUCKET_NAME),
    uploadForms: overrides.uploadForms ?? new S3UploadForms(s3, config.BUCKET_NAME),
    channelRecords: overrides.channelRecords ?? new ChannelStore(db, config.TABLE_NAME),
    channelApiUrls: overrides.channelApiUrls ?? channelApiUrls(config),
    publicBaseUrl: overrides.publicBaseUrl ?? config.PUBLIC_BASE_URL,
    events: overrides.events ?? eventQueueFrom(config),
    pages: overrides.pages ?? {
      agentSignIn: config.AGENT_SIGN_IN,
      cognitoClientId: config.COGNITO_CLIENT_ID,
      ...(config.COGNITO_ENDPOINT && { cognitoEndpoint: config.COGNITO_ENDPOINT }),
      region: config.AWS_REGION,
      s3Endpoint: config.S3_ENDPOINT,
    },
    now: overrides.now ?? Date.now,
    newId: overrides.newId ?? randomUUID,
    socketUrl: 'socketUrl' in overrides ? overrides.socketUrl : config.SOCKET_URL,
  };
  const live = socketAdapters(db, config, overrides.live);
  return once(async (): Promise<IntakePorts> => {
    const tokens = overrides.tokens ?? (await tokenSigner(secrets, config.SIGNING_KEY_SECRET));
    return {
      ...ports,
      tokens,
      botSecrets: overrides.botSecrets ?? lazyBotSecrets(secrets, config),
      // A user's message and a new conversation are pushed to the user's and agents' sockets.
      push: 'push' in overrides ? overrides.push : live && livePush({ ...ports, ...live, tokens }),
    };
  });
}
