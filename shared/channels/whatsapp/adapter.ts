import type { ChannelAdapter } from '../channel';
import type { WhatsAppConfig } from './config';
import { whatsappDefinition } from './definition';
import type { OutboundPart } from './outbound';
import { whatsappReceiver } from './receiver';
import { whatsappSender } from './sender';

/**
 * WhatsApp Cloud API (SPEC 12): Meta's `hub.challenge` handshake, `X-Hub-Signature-256` over
 * the raw body, the bot chosen by `metadata.phone_number_id`, media by media id (bearer token,
 * digest checked), replies as text / reply buttons / lists, files uploaded to `/media` and sent
 * by id. The 24-hour customer-service window is declared for agent messages.
 * Its parts: definition.ts (bot files, grants, routes, limits), receiver.ts (webhooks),
 * sender.ts (media and replies).
 */
export const whatsappChannel = { ...whatsappDefinition, ...whatsappReceiver, ...whatsappSender } satisfies ChannelAdapter<WhatsAppConfig, OutboundPart>;
