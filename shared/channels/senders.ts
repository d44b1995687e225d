import type { ChannelSender } from './channel';
import { CHANNEL_DEFINITIONS, type AnyChannelDefinition, type ChannelName } from './definitions';
import { messengerSender } from './messenger/sender';
import { telegramSender } from './telegram/sender';
import { whatsappSender } from './whatsapp/sender';
import { twilioSender } from './twilio/sender';

/** Every channel's media and send code by name (actions, agent); without the webhook code they never run. */
const SENDERS: Record<ChannelName, ChannelSender<any, any>> = { // eslint-disable-line @typescript-eslint/no-explicit-any
  messenger: messengerSender,
  telegram: telegramSender,
  whatsapp: whatsappSender,
  twilio: twilioSender,
};

/** A registered channel that can fetch media and send. */
export type SendingChannel = AnyChannelDefinition & ChannelSender<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SENDING_CHANNELS: readonly SendingChannel[] = CHANNEL_DEFINITIONS.map((c) => ({ ...c, ...SENDERS[c.name] }));

/** The channel named `name` (a session's `channel`) with its sender; undefined for `web` or an unknown name. */
export const sendingChannelNamed = (name: string): SendingChannel | undefined => SENDING_CHANNELS.find((c) => c.name === name);
