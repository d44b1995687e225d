import type { ChannelAdapter } from '../channel';
import type { MessengerConfig } from './config';
import { messengerDefinition } from './definition';
import type { SendMessage } from './outbound';
import { messengerReceiver } from './receiver';
import { messengerSender } from './sender';

/**
 * Facebook Messenger (SPEC 2, 7): Meta's `hub.challenge` handshake, `X-Hub-Signature-256`
 * over the raw body, the bot chosen by the page id, media by CDN URL, replies through the
 * Send API with files by `/files` URL (Meta fetches them).
 * Its parts: definition.ts (bot files, grants, routes, limits), receiver.ts (webhooks),
 * sender.ts (media and replies).
 */
export const messengerChannel = { ...messengerDefinition, ...messengerReceiver, ...messengerSender } satisfies ChannelAdapter<MessengerConfig, SendMessage>;
