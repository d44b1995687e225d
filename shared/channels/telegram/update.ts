import * as z from 'zod/mini';
import '../../zod-english';
import type { InboundEvent, InboundMedia } from '../channel';

/**
 * The Telegram `Update` (core.telegram.org/bots/api#update), reduced to what Satchel acts on.
 * Loose: Telegram adds fields over time, and an unknown field must not turn a valid update
 * into a 400 that Telegram would retry.
 */

// Built on the first parse, not at cold start: most containers never see this request (issue 10).
export const Update = z.lazy(() => {
  const Chat = z.looseObject({ id: z.union([z.number(), z.string()]), type: z.optional(z.string()) });
  const User = z.looseObject({ id: z.number(), first_name: z.optional(z.string()), last_name: z.optional(z.string()), is_bot: z.optional(z.boolean()) });

  const PhotoSize = z.looseObject({
    file_id: z.string().check(z.minLength(1)),
    file_unique_id: z.optional(z.string()),
    width: z.optional(z.number()),
    height: z.optional(z.number()),
    file_size: z.optional(z.number()),
  });

  const Document = z.looseObject({
    file_id: z.string().check(z.minLength(1)),
    file_unique_id: z.optional(z.string()),
    file_name: z.optional(z.string()),
    mime_type: z.optional(z.string()),
    file_size: z.optional(z.number()),
  });

  const Message = z.looseObject({
    message_id: z.number(),
    chat: Chat,
    from: z.optional(User),
    text: z.optional(z.string()),
    caption: z.optional(z.string()),
    document: z.optional(Document),
    photo: z.optional(z.array(PhotoSize)),
  });

  const CallbackQuery = z.looseObject({
    id: z.string().check(z.minLength(1)),
    from: User,
    message: z.optional(z.looseObject({ message_id: z.optional(z.number()), chat: z.optional(Chat) })),
    data: z.optional(z.string()),
  });

  return z.looseObject({
    update_id: z.number(),
    message: z.optional(Message),
    callback_query: z.optional(CallbackQuery),
  });
});
export type Update = z.output<typeof Update>;
type Message = NonNullable<Update['message']>;
type User = NonNullable<Message['from']>;
type Chat = Message['chat'];

export { callbackData } from './outbound';

export function buttonIndexOf(data: string | undefined): number | undefined {
  const m = data?.match(/^b:(\d{1,2})$/);
  return m ? Number(m[1]) : undefined;
}

const nameOf = (user: User | undefined): string | undefined =>
  user ? [user.first_name, user.last_name].filter(Boolean).join(' ') || undefined : undefined;

/**
 * The user event an update carries for `botId`, or none for updates the flow does not use
 * (edits, channel posts, stickers, membership changes): those are acknowledged and ignored.
 * The message id is the `update_id`, which Telegram repeats when it redelivers.
 */
/** A one-to-one chat with the bot; groups, supergroups and channels are not served. */
const isPrivate = (chat: Chat): boolean => chat.type === 'private';

export function inboundEvent(update: Update, botId: string): { event?: InboundEvent; callbackQueryId?: string } {
  const base = { botId, account: botId, messageId: String(update.update_id) };
  if (update.message) {
    const m = update.message;
    // One session per user (SPEC 12): in a group every member would share the chat's session
    // (answer each other's questions, see each other's files), so only private chats are served.
    if (!isPrivate(m.chat)) return {};
    const media: InboundMedia[] = [];
    if (m.document) {
      media.push({
        kind: 'document',
        ref: m.document.file_id,
        ...(m.document.file_name && { fileName: m.document.file_name }),
        ...(m.document.mime_type && { contentType: m.document.mime_type }),
        ...(m.document.file_size !== undefined && { size: m.document.file_size }),
      });
    }
    if (m.photo?.length) {
      // Telegram sends each photo in several sizes; the largest is the last (by area to be safe).
      const largest = m.photo.reduce((a, b) => ((b.width ?? 0) * (b.height ?? 0) >= (a.width ?? 0) * (a.height ?? 0) ? b : a));
      media.push({ kind: 'photo', ref: largest.file_id, contentType: 'image/jpeg', ...(largest.file_size !== undefined && { size: largest.file_size }) });
    }
    const words = m.text ?? m.caption;
    const text = words?.trim() ? words : undefined;
    if (text === undefined && media.length === 0) return {};
    const userName = nameOf(m.from);
    return { event: { ...base, user: String(m.chat.id), ...(text !== undefined && { text }), media, ...(userName && { userName }) } };
  }
  if (update.callback_query) {
    const q = update.callback_query;
    const buttonIndex = buttonIndexOf(q.data);
    const chat = q.message?.chat?.id ?? q.from.id;
    const userName = nameOf(q.from);
    // A press of something that is not ours, or in a group, is answered (so the client stops
    // waiting) and ignored.
    if (buttonIndex === undefined || (q.message?.chat && !isPrivate(q.message.chat))) return { callbackQueryId: q.id };
    return { event: { ...base, user: String(chat), buttonIndex, media: [], ...(userName && { userName }) }, callbackQueryId: q.id };
  }
  return {};
}
