import { plainText, type AttachmentMeta, type TranscriptMessage } from '../../domain/transcript';
import { chunks } from '../channel';

/** The `callback_data` of our buttons: the button's index in the bot message (at most 64 bytes); update.ts reads it back. */
export const callbackData = (index: number): string => `b:${index}`;

/**
 * Transcript messages as Telegram sends (core.telegram.org/bots/api#available-methods): text
 * by `sendMessage` (split at 4096 characters) with the buttons as an inline keyboard on the
 * last text, then each file uploaded by `sendPhoto` (jpeg/png up to 10 MB) or `sendDocument`.
 */

export const MAX_TEXT_CHARS = 4096;
/** The bot schema allows 13 buttons per message; Telegram shows up to 100 in a keyboard. */
export const MAX_BUTTONS = 100;
/** Bots upload files up to 50 MB; photos up to 10 MB (larger images go as documents). */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
/** Telegram serves bots files of at most 20 MB (getFile). */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

export interface InlineButton {
  text: string;
  callback_data: string;
}

export type TelegramPart =
  | { method: 'sendMessage'; text: string; reply_markup?: { inline_keyboard: InlineButton[][] } }
  | { method: 'sendPhoto' | 'sendDocument'; attachment: AttachmentMeta };

const PHOTO_TYPES = new Set(['image/jpeg', 'image/png']);

export const uploadMethod = (a: Pick<AttachmentMeta, 'contentType' | 'size'>): 'sendPhoto' | 'sendDocument' =>
  PHOTO_TYPES.has(a.contentType.toLowerCase()) && a.size <= MAX_PHOTO_BYTES ? 'sendPhoto' : 'sendDocument';

export function partsFor(message: TranscriptMessage): TelegramPart[] {
  const parts: TelegramPart[] = [];
  const said = plainText(message);
  if (said?.trim()) for (const text of chunks(said, MAX_TEXT_CHARS)) parts.push({ method: 'sendMessage', text });
  const buttons = (message.buttons ?? []).slice(0, MAX_BUTTONS);
  if (buttons.length) {
    // One button per row, so long labels stay readable; callback_data carries the index, not the label.
    const inline_keyboard = buttons.map((b, i) => [{ text: b.label, callback_data: callbackData(i) }]);
    const lastText = parts.length - 1;
    if (lastText >= 0) parts[lastText] = { ...(parts[lastText] as { method: 'sendMessage'; text: string }), reply_markup: { inline_keyboard } };
    else parts.push({ method: 'sendMessage', text: buttons[0]!.label, reply_markup: { inline_keyboard } });
  }
  for (const a of message.attachments ?? []) parts.push({ method: uploadMethod(a), attachment: a });
  return parts;
}
