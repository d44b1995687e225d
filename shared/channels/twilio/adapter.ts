import type { ChannelAdapter } from '../channel';
import type { TwilioConfig } from './config';
import { twilioDefinition } from './definition';
import type { TwilioPart } from './outbound';
import { twilioReceiver } from './receiver';
import { twilioSender } from './sender';

/**
 * Twilio SMS/MMS (SPEC 12): `POST /channels/twilio` (form-encoded) checked against
 * `X-Twilio-Signature` over the public URL and the sorted parameters, the bot chosen by `To`,
 * `MessageSid` as the message id, an empty TwiML answer; MMS media fetched with the account's
 * Basic credentials; replies through the Messages API with files as `MediaUrl` links.
 * Its parts: definition.ts (bot files, grants, routes, limits), receiver.ts (webhooks),
 * sender.ts (media and replies).
 */
export const twilioChannel = { ...twilioDefinition, ...twilioReceiver, ...twilioSender } satisfies ChannelAdapter<TwilioConfig, TwilioPart>;
