import * as z from 'zod/mini';
import type { ChannelAdapter, ChannelApiSetting } from './channel';
import { messengerChannel } from './messenger/adapter';
import { telegramChannel } from './telegram/adapter';
import { whatsappChannel } from './whatsapp/adapter';
import { twilioChannel } from './twilio/adapter';

/**
 * Every messaging channel besides the web, one line each. The bot schema, the route table,
 * intake, actions, agent and the CDK stack all read this list: adding a channel is one folder
 * under shared/channels/ and one line here.
 */
export const CHANNELS = [
  messengerChannel,
  telegramChannel,
  whatsappChannel,
  twilioChannel,
] as const;

export type ChannelName = (typeof CHANNELS)[number]['name'];
/** Any registered channel, its config and parts opaque to generic code. */
export type AnyChannel = ChannelAdapter<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const channelNamed = (name: string): AnyChannel | undefined => (CHANNELS as readonly AnyChannel[]).find((c) => c.name === name);

/** `channels.<name>` of the bot schema, one optional entry per registered channel. */
export const channelConfigSchemas = Object.fromEntries(CHANNELS.map((c) => [c.name, z.optional(c.configSchema as z.ZodMiniType)])) as {
  [C in (typeof CHANNELS)[number] as C['name']]: z.ZodMiniOptional<C['configSchema']>;
};

/** Every channel's webhook routes (each served by intake). */
export const channelRoutes = (): { method: 'GET' | 'POST'; path: string; channel: string; publicReason: string }[] =>
  CHANNELS.flatMap((c) => c.routes.map((r) => ({ ...r, channel: c.name, publicReason: c.webhookAuthentication })));

/** Each channel's API base by channel name, from the settings the function read. */
export const channelApiUrls = (config: Partial<Record<ChannelApiSetting, string>>): Record<string, string> =>
  Object.fromEntries(CHANNELS.map((c) => [c.name, config[c.apiUrlSetting] ?? '']));
