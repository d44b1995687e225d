import * as z from 'zod/mini';
import '../../zod-english';

/**
 * The WhatsApp Cloud API webhook body (`object: "whatsapp_business_account"`), reduced to
 * what Satchel acts on: `entry[].changes[].value` with `metadata.phone_number_id` (which bot)
 * and `messages[]` (what users sent). Schemas are loose: Meta adds fields over time, and an
 * unknown field must not turn a valid delivery into a 400 that Meta would retry for days.
 * Payload reference: developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
 */

// Built on the first parse, not at cold start: most containers never see this request (issue 10).
export const WebhookBody = z.lazy(() => {
  const MediaObject = z.looseObject({
    id: z.string().check(z.minLength(1), z.maxLength(200)),
    mime_type: z.optional(z.string()),
    sha256: z.optional(z.string()),
    filename: z.optional(z.string()),
    caption: z.optional(z.string()),
  });

  const Message = z.looseObject({
    from: z.string().check(z.minLength(1), z.maxLength(64)),
    id: z.string().check(z.minLength(1), z.maxLength(512)),
    timestamp: z.optional(z.union([z.string(), z.number()])),
    type: z.string(),
    text: z.optional(z.looseObject({ body: z.string() })),
    interactive: z.optional(
      z.looseObject({
        type: z.string(),
        button_reply: z.optional(z.looseObject({ id: z.string(), title: z.optional(z.string()) })),
        list_reply: z.optional(z.looseObject({ id: z.string(), title: z.optional(z.string()) })),
      }),
    ),
    button: z.optional(z.looseObject({ payload: z.optional(z.string()), text: z.optional(z.string()) })),
    image: z.optional(MediaObject),
    document: z.optional(MediaObject),
    audio: z.optional(MediaObject),
    video: z.optional(MediaObject),
  });

  const Value = z.looseObject({
    messaging_product: z.optional(z.string()),
    metadata: z.optional(z.looseObject({ phone_number_id: z.pipe(z.union([z.string(), z.number()]), z.transform((id: string | number) => String(id))) })),
    contacts: z.optional(z.array(z.looseObject({ wa_id: z.optional(z.string()), profile: z.optional(z.looseObject({ name: z.optional(z.string()) })) }))),
    messages: z.optional(z.array(Message)),
    // statuses[], errors[] and other fields are acknowledged and ignored: not parsed.
  });

  const Change = z.looseObject({ field: z.optional(z.string()), value: z.optional(Value) });

  const Entry = z.looseObject({
    id: z.optional(z.union([z.string(), z.number()])),
    changes: z.optional(z.array(Change)),
  });

  return z.looseObject({ object: z.string(), entry: z.array(Entry) });
});
export type WebhookBody = z.output<typeof WebhookBody>;

/** The media kinds users send that carry a file; stickers, locations, contacts do not count. */
export const MEDIA_KINDS = ['image', 'document', 'audio', 'video'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

export interface InboundMedia {
  kind: MediaKind;
  /** Meta's media id: `GET {WHATSAPP_API_URL}/{id}` gives its download URL. */
  mediaId: string;
  mimeType?: string;
  /** The webhook's sha256 of the file (base64 or hex, as Meta sent it). */
  sha256?: string;
  /** Documents carry the sender's file name; other kinds have none. */
  fileName?: string;
}

/** One thing a user did that the bot must answer. */
export interface InboundMessage {
  phoneNumberId: string;
  /** The user's WhatsApp id (`from`). */
  waId: string;
  /** Meta's message id (`wamid.…`). */
  messageId: string;
  /** When the user sent it (ms since epoch), when Meta said. */
  sentAt?: number;
  /** The user's profile name, when Meta sent it. */
  userName?: string;
  text?: string;
  /** The bot button pressed (reply button, list row or template button carrying our id). */
  buttonIndex?: number;
  media: InboundMedia[];
}

const BUTTON_ID = /^SATCHEL_BUTTON:(\d{1,2})$/;

export { buttonId } from './outbound';

export function buttonIndexOf(id: string | undefined): number | undefined {
  const m = id?.match(BUTTON_ID);
  return m ? Number(m[1]) : undefined;
}

/** Phone number ids named by a parsed but not yet validated body, to pick the secret to verify it with. */
export function phoneNumberIdsIn(body: unknown): string[] {
  const ids: string[] = [];
  const entries = (body as { entry?: unknown } | null)?.entry;
  if (!Array.isArray(entries)) return ids;
  for (const entry of entries) {
    const changes = (entry as { changes?: unknown } | null)?.changes;
    if (!Array.isArray(changes)) continue;
    for (const change of changes) {
      const id = (change as { value?: { metadata?: { phone_number_id?: unknown } } } | null)?.value?.metadata?.phone_number_id;
      if (typeof id === 'string' || typeof id === 'number') ids.push(String(id));
    }
  }
  return [...new Set(ids)];
}

type Message = NonNullable<NonNullable<NonNullable<WebhookBody['entry'][number]['changes']>[number]['value']>['messages']>[number];

const nonBlank = (s: string | undefined): string | undefined => (s?.trim() ? s : undefined);

function sentAtOf(timestamp: string | number | undefined): number | undefined {
  const seconds = Number(timestamp);
  return timestamp !== undefined && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/** What one message carries for the flow; undefined for kinds the bot cannot use (stickers, reactions, locations, ...). */
function contentOf(m: Message): Pick<InboundMessage, 'text' | 'buttonIndex' | 'media'> | undefined {
  switch (m.type) {
    case 'text': {
      const text = nonBlank(m.text?.body);
      return text === undefined ? undefined : { text, media: [] };
    }
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (!reply) return undefined;
      const buttonIndex = buttonIndexOf(reply.id);
      const text = nonBlank(reply.title);
      if (buttonIndex === undefined && text === undefined) return undefined;
      return { ...(text !== undefined && { text }), ...(buttonIndex !== undefined && { buttonIndex }), media: [] };
    }
    case 'button': {
      const buttonIndex = buttonIndexOf(m.button?.payload);
      const text = nonBlank(m.button?.text);
      if (buttonIndex === undefined && text === undefined) return undefined;
      return { ...(text !== undefined && { text }), ...(buttonIndex !== undefined && { buttonIndex }), media: [] };
    }
    case 'image':
    case 'document':
    case 'audio':
    case 'video': {
      const media = m[m.type];
      if (!media) return undefined;
      const fileName = m.type === 'document' ? nonBlank(media.filename) : undefined;
      return {
        media: [
          {
            kind: m.type,
            mediaId: media.id,
            ...(media.mime_type && { mimeType: media.mime_type }),
            ...(media.sha256 && { sha256: media.sha256 }),
            ...(fileName !== undefined && { fileName }),
          },
        ],
      };
    }
    default:
      return undefined;
  }
}

/**
 * The user messages of a parsed body, with the phone number they were sent to. Changes other
 * than `messages`, delivery statuses, errors and message kinds the bot cannot use are left out.
 */
export function inboundMessages(body: WebhookBody): InboundMessage[] {
  const out: InboundMessage[] = [];
  for (const entry of body.entry) {
    for (const change of entry.changes ?? []) {
      const value = change.value;
      const phoneNumberId = value?.metadata?.phone_number_id;
      if ((change.field !== undefined && change.field !== 'messages') || !value || !phoneNumberId) continue;
      for (const m of value.messages ?? []) {
        const content = contentOf(m);
        if (!content) continue;
        const userName = nonBlank(value.contacts?.find((c) => c.wa_id === m.from)?.profile?.name);
        const sentAt = sentAtOf(m.timestamp);
        out.push({
          phoneNumberId,
          waId: m.from,
          messageId: m.id,
          ...(sentAt !== undefined && { sentAt }),
          ...(userName !== undefined && { userName }),
          ...content,
        });
      }
    }
  }
  return out;
}
