import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import '../../zod-english';

/**
 * The Messenger webhook body (Graph API "page" object), reduced to what Satchel acts on.
 * Schemas are loose: Meta adds fields over time and an unknown field must not turn a valid
 * delivery into a 400 that Meta would retry for days.
 */

// Built on the first parse, not at cold start: most containers never see this request (issue 10).
export const WebhookBody = z.lazy(() => {
  const Attachment = z.looseObject({
    type: z.string(),
    payload: z.nullish(z.looseObject({ url: z.optional(z.string()), sticker_id: z.optional(z.union([z.number(), z.string()])) })),
  });

  const Messaging = z.looseObject({
    sender: z.looseObject({ id: z.string() }),
    recipient: z.looseObject({ id: z.string() }),
    timestamp: z.optional(z.number()),
    message: z.optional(
      z.looseObject({
        mid: z.string().check(z.minLength(1)),
        text: z.optional(z.string()),
        is_echo: z.optional(z.boolean()),
        quick_reply: z.optional(z.looseObject({ payload: z.string() })),
        attachments: z.optional(z.array(Attachment)),
      }),
    ),
    postback: z.optional(z.looseObject({ mid: z.optional(z.string()), title: z.optional(z.string()), payload: z.optional(z.string()) })),
  });

  const Entry = z.looseObject({
    id: z.pipe(z.union([z.string(), z.number()]), z.transform((id: string | number) => String(id))),
    messaging: z.optional(z.array(Messaging)),
  });

  return z.looseObject({ object: z.string(), entry: z.array(Entry) });
});
export type WebhookBody = z.output<typeof WebhookBody>;

/** Media kinds that carry a file to download; stickers, locations and link previews do not. */
const FILE_TYPES = new Set(['image', 'video', 'audio', 'file']);

export interface InboundMedia {
  type: string;
  url: string;
}

/** One thing a user did that the bot must answer. */
export interface InboundMessage {
  pageId: string;
  psid: string;
  /** Meta's message id; postbacks without one get a stable stand-in. */
  mid: string;
  /** What the user wrote, or the title of the button they pressed. */
  text?: string;
  /** The bot button pressed (quick reply or postback carrying our payload). */
  buttonIndex?: number;
  media: InboundMedia[];
}

const BUTTON_PAYLOAD = /^SATCHEL_BUTTON:(\d{1,2})$/;

export { buttonPayload } from './outbound';

export function buttonIndexOf(payload: string | undefined): number | undefined {
  const m = payload?.match(BUTTON_PAYLOAD);
  return m ? Number(m[1]) : undefined;
}

/** Page ids named by a parsed but not yet validated body, to pick the secret to verify it with. */
export function pageIdsIn(body: unknown): string[] {
  const entries = (body as { entry?: unknown } | null)?.entry;
  if (!Array.isArray(entries)) return [];
  const ids = entries
    .map((e) => (e as { id?: unknown } | null)?.id)
    .filter((id): id is string | number => typeof id === 'string' || typeof id === 'number')
    .map(String);
  return [...new Set(ids)];
}

/**
 * The messages of one entry the bot should handle. Echoes of the page's own messages,
 * delivery and read receipts, and messages with nothing usable in them are left out.
 */
export function inboundMessages(entry: WebhookBody['entry'][number]): InboundMessage[] {
  const out: InboundMessage[] = [];
  for (const item of entry.messaging ?? []) {
    const base = { pageId: entry.id, psid: item.sender.id };
    if (item.message && !item.message.is_echo) {
      const m = item.message;
      const media = (m.attachments ?? [])
        .filter((a) => FILE_TYPES.has(a.type) && a.payload?.url && a.payload.sticker_id === undefined)
        .map((a) => ({ type: a.type, url: a.payload!.url! }));
      const buttonIndex = buttonIndexOf(m.quick_reply?.payload);
      const text = m.text?.trim() ? m.text : undefined;
      if (text === undefined && buttonIndex === undefined && media.length === 0) continue;
      out.push({ ...base, mid: m.mid, ...(text !== undefined && { text }), ...(buttonIndex !== undefined && { buttonIndex }), media });
    } else if (item.postback) {
      const p = item.postback;
      const buttonIndex = buttonIndexOf(p.payload);
      const text = p.title?.trim() ? p.title : undefined;
      if (text === undefined && buttonIndex === undefined) continue;
      // Older Graph versions send postbacks without a mid; sender and time identify one.
      const mid = p.mid ?? `postback:${item.sender.id}:${item.timestamp ?? 0}:${p.payload ?? ''}`;
      out.push({ ...base, mid, ...(text !== undefined && { text }), ...(buttonIndex !== undefined && { buttonIndex }), media: [] });
    }
  }
  return out;
}

/**
 * The queue deduplication id (and flow event id) of a message: fixed length whatever Meta's
 * mid looks like, and scoped to the page.
 */
export const messageEventId = (pageId: string, mid: string): string =>
  `msgr-${createHash('sha256').update(`${pageId}\n${mid}`).digest('base64url')}`;
