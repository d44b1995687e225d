import type { ChannelReceiver } from './channel';
import { CHANNEL_DEFINITIONS, type AnyChannelDefinition, type ChannelName } from './definitions';
import { messengerReceiver } from './messenger/receiver';
import { telegramReceiver } from './telegram/receiver';
import { whatsappReceiver } from './whatsapp/receiver';
import { twilioReceiver } from './twilio/receiver';

/** Every channel's webhook code by name (intake); without the send code intake never runs. */
const RECEIVERS: Record<ChannelName, ChannelReceiver<any>> = { // eslint-disable-line @typescript-eslint/no-explicit-any
  messenger: messengerReceiver,
  telegram: telegramReceiver,
  whatsapp: whatsappReceiver,
  twilio: twilioReceiver,
};

/** A registered channel that can receive webhooks. */
export type ReceivingChannel = AnyChannelDefinition & ChannelReceiver<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every registered channel, in the registry's order, with its receiver. */
export const RECEIVING_CHANNELS: readonly ReceivingChannel[] = CHANNEL_DEFINITIONS.map((c) => ({ ...c, ...RECEIVERS[c.name] }));
