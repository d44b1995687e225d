import { plainText, type AttachmentMeta, type TranscriptMessage } from '../../domain/transcript';

/** The payload our quick replies carry: the button's position in the bot message (webhook.ts reads it back). */
export const buttonPayload = (index: number): string => `SATCHEL_BUTTON:${index}`;

/**
 * Turns transcript messages into Send API `message` objects. One transcript message may take
 * several sends (long text, each file); delivery keeps track of them one by one.
 */

/** Send API limits (developers.facebook.com/docs/messenger-platform/reference/send-api). */
export const MAX_TEXT_CHARS = 2000;
export const MAX_QUICK_REPLY_TITLE_CHARS = 20;
export const MAX_QUICK_REPLIES = 13;

export type AttachmentKind = 'image' | 'video' | 'audio' | 'file';

export interface QuickReply {
  content_type: 'text';
  title: string;
  payload: string;
}

export type SendMessage =
  | { text: string; quick_replies?: QuickReply[] }
  | { attachment: { type: AttachmentKind; payload: { url: string; is_reusable: false } }; quick_replies?: QuickReply[] };

export const attachmentKind = (contentType: string): AttachmentKind => {
  const major = contentType.split('/')[0]?.trim().toLowerCase();
  return major === 'image' || major === 'video' || major === 'audio' ? major : 'file';
};

/** Splits on code points so no character is cut in half. */
function chunks(text: string, size: number): string[] {
  const chars = [...text];
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}

const title = (label: string): string => {
  const chars = [...label];
  return chars.length <= MAX_QUICK_REPLY_TITLE_CHARS ? label : `${chars.slice(0, MAX_QUICK_REPLY_TITLE_CHARS - 1).join('')}…`;
};

/**
 * The sends for one message, in order: its text (split at the Send API limit), then each
 * file by URL. Buttons become quick replies on the last send, their payload carrying the
 * button's index so the reply maps back to the flow.
 */
export function sendsFor(message: TranscriptMessage, fileUrl: (attachment: AttachmentMeta) => string): SendMessage[] {
  const sends: SendMessage[] = [];
  const said = plainText(message);
  if (said?.trim()) for (const text of chunks(said, MAX_TEXT_CHARS)) sends.push({ text });
  for (const a of message.attachments ?? []) {
    sends.push({ attachment: { type: attachmentKind(a.contentType), payload: { url: fileUrl(a), is_reusable: false } } });
  }
  const buttons = (message.buttons ?? []).slice(0, MAX_QUICK_REPLIES);
  if (buttons.length) {
    const quick_replies = buttons.map((b, i): QuickReply => ({ content_type: 'text', title: title(b.label), payload: buttonPayload(i) }));
    // Quick replies need something to hang on; a bare button list gets its first label as text.
    if (!sends.length) sends.push({ text: buttons[0]!.label });
    sends[sends.length - 1] = { ...sends[sends.length - 1]!, quick_replies };
  }
  return sends;
}
