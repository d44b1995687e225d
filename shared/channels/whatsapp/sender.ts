import type { Readable } from 'node:stream';
import type { WarningCode } from '../../domain/transcript';
import { logger } from '../../logger';
import { ChannelSendError, type ChannelAdapter, type ChannelSender } from '../channel';
import { CloudApi } from './cloud-api';
import type { WhatsAppConfig } from './config';
import { MAX_MEDIA_BYTES, mediaFileName, sameDigest, sha256Digest } from './media';
import { buttonFromNumberedText, mediaMessage, messageBody, partsFor, type OutboundPart } from './outbound';

async function readAll(stream: Readable, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new ChannelSendError('the file is larger than WhatsApp carries', false);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

/** Files from and replies to WhatsApp users (actions, agent). */
export const whatsappSender = {
  /**
   * The media endpoint says where the bytes are and their digest (hex); a digest in the
   * webhook (often base64) must name the same bytes. The bytes come with the same bearer token.
   */
  mediaSource: async (target, media): Promise<Awaited<ReturnType<ChannelAdapter['mediaSource']>>> => {
    const token = await target.secret(target.config.accessToken);
    let info;
    try {
      info = await new CloudApi(target.apiUrl, token).mediaInfo(media.ref);
    } catch (err) {
      const e = err as ChannelSendError;
      logger.warn('whatsapp media endpoint refused', { status: e.status, code: e.code });
      return 'attachment_upload_failed' satisfies WarningCode;
    }
    const digest = sha256Digest(info.sha256);
    if (!digest || (media.sha256 !== undefined && !sameDigest(media.sha256, digest))) {
      logger.warn('whatsapp media digest unusable or different from the webhook', { kind: media.kind });
      return 'attachment_upload_failed' satisfies WarningCode;
    }
    const announced = Number(info.file_size);
    if (Number.isFinite(announced) && announced > MAX_MEDIA_BYTES) return 'attachment_too_large' satisfies WarningCode;
    const contentType = info.mime_type ?? media.contentType;
    return {
      url: info.url,
      headers: { authorization: `Bearer ${token}` },
      maxBytes: MAX_MEDIA_BYTES,
      sha256: digest.toString('hex'),
      fileName: mediaFileName(media.ref, media.fileName, contentType),
      ...(contentType !== undefined && { contentType }),
    };
  },
  render: (message) => partsFor(message),
  // More than 10 buttons go out as numbered text: a reply of the number or the label picks one.
  buttonFromText: buttonFromNumberedText,
  send: async (target, part, files) => {
    const api = new CloudApi(target.apiUrl, await target.secret(target.config.accessToken));
    if (part.type !== 'file') return api.sendMessage(target.account, messageBody(target.user, part));
    const a = part.attachment;
    const bytes = await readAll(await files.open(a), MAX_MEDIA_BYTES);
    const mediaId = await api.uploadMedia(target.account, { bytes, fileName: a.fileName, contentType: a.contentType });
    await api.sendMessage(target.account, messageBody(target.user, mediaMessage(a, mediaId)));
  },
} satisfies ChannelSender<WhatsAppConfig, OutboundPart>;
