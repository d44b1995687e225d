import type { Readable } from 'node:stream';
import type { ChannelSender, ChannelTarget, FileAccess } from '../channel';
import { TelegramBotApi } from './bot-api';
import type { TelegramConfig } from './config';
import { MAX_DOWNLOAD_BYTES, MAX_UPLOAD_BYTES, partsFor, type TelegramPart } from './outbound';

/** Chat ids are integers (negative for groups); sent as numbers as the API documents them. */
const chatId = (user: string): number | string => (/^-?\d{1,16}$/.test(user) ? Number(user) : user);

const api = (target: Pick<ChannelTarget<TelegramConfig>, 'apiUrl' | 'secret' | 'config'>) =>
  target.secret(target.config.botToken).then((token) => new TelegramBotApi(target.apiUrl, token));

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function upload(target: ChannelTarget<TelegramConfig>, part: Extract<TelegramPart, { attachment: unknown }>, files: FileAccess): Promise<void> {
  const a = part.attachment;
  const field = part.method === 'sendPhoto' ? 'photo' : 'document';
  if (a.size > MAX_UPLOAD_BYTES) {
    // Larger than a bot may upload: the user gets a link instead of nothing.
    await (await api(target)).call('sendMessage', { chat_id: chatId(target.user), text: `${a.fileName}: ${files.link(a)}` });
    return;
  }
  // Files are at most 50 MB here (checked above), so buffering one for the multipart body is bounded.
  const bytes = await readAll(await files.open(a));
  const form = new FormData();
  form.append('chat_id', String(chatId(target.user)));
  form.append(field, new Blob([bytes], { type: a.contentType }), a.fileName);
  await (await api(target)).call(part.method, form);
}

/** Files from and replies to Telegram users (actions, agent). */
export const telegramSender = {
  async mediaSource(target, media) {
    const file = await (await api(target)).fileUrl(media.ref);
    if (file.size !== undefined && file.size > MAX_DOWNLOAD_BYTES) return 'attachment_too_large';
    return {
      url: file.url,
      maxBytes: MAX_DOWNLOAD_BYTES,
      // Photos have no name: one is made from the update, with the checked type's extension.
      ...(media.fileName ? { fileName: media.fileName } : media.kind === 'photo' && { fileName: `photo-${media.ref.slice(-12).replace(/[^A-Za-z0-9_-]/g, '')}.jpg` }),
      ...(media.contentType && { contentType: media.contentType }),
    };
  },

  render: (message) => partsFor(message),

  async send(target, part, files) {
    if (part.method === 'sendMessage') {
      await (await api(target)).call('sendMessage', { chat_id: chatId(target.user), text: part.text, ...(part.reply_markup && { reply_markup: part.reply_markup }) });
      return;
    }
    await upload(target, part, files);
  },
} satisfies ChannelSender<TelegramConfig, TelegramPart>;
