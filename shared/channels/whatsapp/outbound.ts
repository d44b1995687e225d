import { plainText, type AttachmentMeta, type TranscriptMessage } from '../../domain/transcript';
import { chunks, cutLabel as cut } from '../channel';
import { outboundMediaKind } from './media';

/** The id our reply buttons and list rows carry: the button's position in the bot message (webhook.ts reads it back). */
export const buttonId = (index: number): string => `SATCHEL_BUTTON:${index}`;

/**
 * Turns transcript messages into WhatsApp Cloud API sends. One transcript message may take
 * several (long text, each file, the buttons); delivery keeps track of them one by one.
 * Limits: developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages
 * and .../interactive-list-messages.
 */

export const MAX_TEXT_CHARS = 4096;
export const MAX_INTERACTIVE_BODY_CHARS = 1024;
export const MAX_REPLY_BUTTONS = 3;
export const MAX_REPLY_BUTTON_TITLE_CHARS = 20;
export const MAX_LIST_ROWS = 10;
export const MAX_LIST_ROW_TITLE_CHARS = 24;
export const MAX_LIST_ROW_DESCRIPTION_CHARS = 72;
/** The label of the button that opens a list (at most 20 characters). */
export const LIST_BUTTON_LABEL = 'Options';

export interface ReplyButton {
  type: 'reply';
  reply: { id: string; title: string };
}

export interface ListRow {
  id: string;
  title: string;
  description?: string;
}

export type Interactive =
  | { type: 'button'; body: { text: string }; action: { buttons: ReplyButton[] } }
  | { type: 'list'; body: { text: string }; action: { button: string; sections: { rows: ListRow[] }[] } };

/** One send: a text, an interactive message, or a stored file (uploaded to /media first). */
export type OutboundPart =
  | { type: 'text'; text: { body: string; preview_url: false } }
  | { type: 'interactive'; interactive: Interactive }
  | { type: 'file'; attachment: AttachmentMeta };

const numbered = (labels: string[]): string => labels.map((l, i) => `${i + 1}. ${l}`).join('\n');

const textPart = (body: string): OutboundPart => ({ type: 'text', text: { body, preview_url: false } });

function interactiveFor(labels: string[], body: string): Interactive {
  if (labels.length <= MAX_REPLY_BUTTONS) {
    return {
      type: 'button',
      body: { text: body },
      action: { buttons: labels.map((l, i): ReplyButton => ({ type: 'reply', reply: { id: buttonId(i), title: cut(l, MAX_REPLY_BUTTON_TITLE_CHARS) } })) },
    };
  }
  const rows = labels.map((l, i): ListRow => {
    const title = cut(l, MAX_LIST_ROW_TITLE_CHARS);
    // A label cut for the title keeps its whole text (as far as it fits) in the description.
    return { id: buttonId(i), title, ...(title !== l && { description: cut(l, MAX_LIST_ROW_DESCRIPTION_CHARS) }) };
  });
  return { type: 'list', body: { text: body }, action: { button: LIST_BUTTON_LABEL, sections: [{ rows }] } };
}

/**
 * The sends for one message, in order. Buttons: up to 3 as reply buttons, 4–10 as a list,
 * more as numbered text; their ids carry the button's index so a reply maps back to the
 * flow. A short text with buttons and no files is the interactive message's body; otherwise
 * text and files go first and the interactive message's body numbers the options.
 */
export function partsFor(message: TranscriptMessage): OutboundPart[] {
  const parts: OutboundPart[] = [];
  const said = plainText(message);
  const text = said?.trim() ? said : undefined;
  const files = message.attachments ?? [];
  const labels = (message.buttons ?? []).map((b) => b.label);

  if (labels.length > MAX_LIST_ROWS) {
    const all = text ? `${text}\n\n${numbered(labels)}` : numbered(labels);
    for (const body of chunks(all, MAX_TEXT_CHARS)) parts.push(textPart(body));
    for (const attachment of files) parts.push({ type: 'file', attachment });
    return parts;
  }
  const textIsBody = labels.length > 0 && text !== undefined && files.length === 0 && [...text].length <= MAX_INTERACTIVE_BODY_CHARS;
  if (text !== undefined && !textIsBody) for (const body of chunks(text, MAX_TEXT_CHARS)) parts.push(textPart(body));
  for (const attachment of files) parts.push({ type: 'file', attachment });
  if (labels.length) parts.push({ type: 'interactive', interactive: interactiveFor(labels, textIsBody ? text! : cut(numbered(labels), MAX_INTERACTIVE_BODY_CHARS)) });
  return parts;
}

/** A media object sent by id: documents keep their file name. */
export type MediaMessage = { type: 'image'; image: { id: string } } | { type: 'document'; document: { id: string; filename: string } };

export function mediaMessage(attachment: Pick<AttachmentMeta, 'fileName' | 'contentType' | 'size'>, mediaId: string): MediaMessage {
  return outboundMediaKind(attachment.contentType, attachment.size) === 'image'
    ? { type: 'image', image: { id: mediaId } }
    : { type: 'document', document: { id: mediaId, filename: attachment.fileName } };
}

/** The JSON body of `POST /{phoneNumberId}/messages` for one part (files: once uploaded). */
export function messageBody(to: string, part: Exclude<OutboundPart, { type: 'file' }> | MediaMessage): Record<string, unknown> {
  return { messaging_product: 'whatsapp', recipient_type: 'individual', to, ...part };
}

/**
 * When more than 10 buttons went out as numbered text, the option a user's reply picks: its
 * number ("3", "3.") or its label (any case); undefined otherwise. Fewer buttons were real
 * buttons and their presses carry the index.
 */
export function buttonFromNumberedText(text: string, offered: readonly { label: string }[]): number | undefined {
  if (offered.length <= MAX_LIST_ROWS) return undefined;
  const reply = text.trim();
  const number = reply.match(/^(\d{1,3})\.?$/);
  if (number) {
    const index = Number(number[1]) - 1;
    return index >= 0 && index < offered.length ? index : undefined;
  }
  const folded = reply.toLocaleLowerCase();
  const index = offered.findIndex((b) => b.label.trim().toLocaleLowerCase() === folded);
  return index >= 0 ? index : undefined;
}
