import { plainText, type AttachmentMeta, type TranscriptMessage } from '../../domain/transcript';
import type { FileAccess } from '../channel';

/**
 * Transcript messages as SMS/MMS (twilio.com/docs/messaging/api/message-resource): text in
 * bodies of at most 1600 characters (longer text is split, at a line break or space where
 * one is near), buttons as numbered options under the text ("1. Yes\n2. No") that a reply
 * of the number or the label chooses, each file as an MMS whose `MediaUrl` is the file's
 * absolute `/files` link, or as that link in the text when MMS cannot carry it
 * (twilio.com/docs/messaging/guides/accepted-mime-types: 5 MB for jpeg/png/gif, 500 KB for
 * other types).
 */

/** Twilio refuses a `Body` over 1600 characters (error 21617). */
export const MAX_TEXT_CHARS = 1600;
/** Every button of a message is listed (the bot schema allows 13). */
export const MAX_BUTTONS = 13;
/** MMS media: images Twilio can resize, up to 5 MB; any other type up to 500 KB. */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_OTHER_BYTES = 500 * 1024;
/** Twilio accepts at most 5 MB of media in an incoming MMS. */
export const MAX_INBOUND_BYTES = 5 * 1024 * 1024;
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif'] as const;

/** One message to send: a body and at most one file. */
export interface TwilioPart {
  body: string;
  mediaUrl?: string;
}

const baseType = (contentType: string) => contentType.split(';')[0]!.trim().toLowerCase();

/** Whether MMS can carry the file (else it goes as a link). */
export const fitsMms = (a: Pick<AttachmentMeta, 'contentType' | 'size'>): boolean =>
  a.size <= ((IMAGE_TYPES as readonly string[]).includes(baseType(a.contentType)) ? MAX_IMAGE_BYTES : MAX_OTHER_BYTES);

/** The options list of a message's buttons. */
export const numberedOptions = (labels: readonly string[]): string => labels.map((label, i) => `${i + 1}. ${label}`).join('\n');

/**
 * Splits `text` into bodies of at most `max` UTF-16 code units (Twilio's count), never
 * inside a character, at the last line break or space of the second half of each piece
 * when there is one (that one separator is dropped).
 */
export function splitText(text: string, max = MAX_TEXT_CHARS): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = max;
    // Never between the two halves of a surrogate pair.
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    const window = rest.slice(0, cut);
    const at = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
    if (at >= max / 2) {
      out.push(rest.slice(0, at));
      rest = rest.slice(at + 1);
    } else {
      out.push(window);
      rest = rest.slice(cut);
    }
  }
  if (rest.length || !out.length) out.push(rest);
  return out;
}

export function partsFor(message: TranscriptMessage, files: Pick<FileAccess, 'link'>): TwilioPart[] {
  const parts: TwilioPart[] = [];
  const said = plainText(message);
  const text = said?.trim() ? said : '';
  const labels = (message.buttons ?? []).slice(0, MAX_BUTTONS).map((b) => b.label);
  const full = [text, labels.length ? numberedOptions(labels) : ''].filter(Boolean).join('\n\n');
  if (full) for (const body of splitText(full)) parts.push({ body });
  for (const a of message.attachments ?? []) {
    const link = files.link(a);
    parts.push(fitsMms(a) ? { body: a.fileName, mediaUrl: link } : { body: `${a.fileName}: ${link}` });
  }
  return parts;
}

const normalise = (s: string) => s.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * The button a reply chooses: its number ("2", "2." or "2)") or its label, case and
 * surrounding spaces aside; undefined when it is neither.
 */
export function buttonForText(text: string, labels: readonly string[]): number | undefined {
  const number = text.trim().match(/^(\d{1,3})[.)]?$/);
  if (number) {
    const n = Number(number[1]);
    if (n >= 1 && n <= Math.min(labels.length, MAX_BUTTONS)) return n - 1;
  }
  const wanted = normalise(text);
  const index = labels.slice(0, MAX_BUTTONS).findIndex((label) => normalise(label) === wanted);
  return index >= 0 ? index : undefined;
}
