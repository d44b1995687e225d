import * as z from 'zod/mini';
import type { ChannelApiSetting, ChannelDefinition } from './channel';
import { messengerDefinition } from './messenger/definition';
import { telegramDefinition } from './telegram/definition';
import { whatsappDefinition } from './whatsapp/definition';
import { twilioDefinition } from './twilio/definition';

/**
 * Every messaging channel's definition (registry.ts's list, without protocol code): what the
 * bot schema and loader, the route table, the bot config endpoint and the CDK stack read. A
 * function bundles a channel's webhook code only through receivers.ts (intake) and its media
 * and send code only through senders.ts (actions, agent); both are keyed by ChannelName, so a
 * channel missing from either does not compile.
 */
export const CHANNEL_DEFINITIONS = [
  messengerDefinition,
  telegramDefinition,
  whatsappDefinition,
  twilioDefinition,
] as const;

export type ChannelName = (typeof CHANNEL_DEFINITIONS)[number]['name'];
/** Any registered channel's definition, its config opaque to generic code. */
export type AnyChannelDefinition = ChannelDefinition<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const definitionNamed = (name: string): AnyChannelDefinition | undefined =>
  (CHANNEL_DEFINITIONS as readonly AnyChannelDefinition[]).find((c) => c.name === name);

/** `channels.<name>` of the bot schema, one optional entry per registered channel. */
export const channelConfigSchemas = Object.fromEntries(CHANNEL_DEFINITIONS.map((c) => [c.name, z.optional(c.configSchema as z.ZodMiniType)])) as {
  [C in (typeof CHANNEL_DEFINITIONS)[number] as C['name']]: z.ZodMiniOptional<C['configSchema']>;
};

/** Every channel's webhook routes (each served by intake). */
export const channelRoutes = (): { method: 'GET' | 'POST'; path: string; channel: string; publicReason: string }[] =>
  CHANNEL_DEFINITIONS.flatMap((c) => c.routes.map((r) => ({ ...r, channel: c.name, publicReason: c.webhookAuthentication })));

/** Each channel's API base by channel name, from the settings the function read. */
export const channelApiUrls = (config: Partial<Record<ChannelApiSetting, string>>): Record<string, string> =>
  Object.fromEntries(CHANNEL_DEFINITIONS.map((c) => [c.name, config[c.apiUrlSetting] ?? '']));
