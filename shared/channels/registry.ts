import type { ChannelAdapter } from './channel';
import { messengerChannel } from './messenger/adapter';
import { telegramChannel } from './telegram/adapter';
import { whatsappChannel } from './whatsapp/adapter';
import { twilioChannel } from './twilio/adapter';

export { channelApiUrls, channelConfigSchemas, channelRoutes, type ChannelName } from './definitions';

/**
 * Every messaging channel besides the web, one line each, as whole adapters. The bot schema,
 * the route table, intake, actions, agent and the CDK stack all follow this list: adding a
 * channel is one folder under shared/channels/ and one line here — and, so each function
 * bundles only the parts it runs (issue 10), one line each in definitions.ts, receivers.ts and
 * senders.ts, which the compiler asks for (they are keyed by channel name).
 */
export const CHANNELS = [
  messengerChannel,
  telegramChannel,
  whatsappChannel,
  twilioChannel,
] as const;

/** Any registered channel, its config and parts opaque to generic code. */
export type AnyChannel = ChannelAdapter<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const channelNamed = (name: string): AnyChannel | undefined => (CHANNELS as readonly AnyChannel[]).find((c) => c.name === name);
