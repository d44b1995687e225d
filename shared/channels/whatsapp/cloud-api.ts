import { ChannelSendError } from '../channel';
import * as z from 'zod/mini';
import '../../zod-english';

/** What `GET /{media-id}` answers (see media.ts). */
// Built on the first media lookup, not at cold start (issue 10).
export const MediaInfo = z.lazy(() =>
  z.looseObject({
    url: z.url({ protocol: /^https?$/ }),
    mime_type: z.optional(z.string()),
    sha256: z.string().check(z.minLength(1)),
    file_size: z.optional(z.union([z.number(), z.string()])),
    id: z.optional(z.string()),
  }),
);
export type MediaInfo = z.output<typeof MediaInfo>;

/**
 * The WhatsApp Cloud API calls Satchel makes, for one phone number's access token
 * (developers.facebook.com/docs/whatsapp/cloud-api/reference): the media endpoint, uploads,
 * and sends. The base URL is the deployment's WHATSAPP_API_URL, not user input, so these go
 * out with plain `fetch`; the media bytes themselves (at a URL Meta hands out) go through the
 * SSRF-safe fetcher in shared/app/channel-media.ts. Errors never carry the token or Meta's text.
 */

/**
 * Error codes worth retrying (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes):
 * temporary failures, throttling, and an invalid token (an operator fixes the secret; the
 * messages wait in the queue meanwhile).
 */
const RETRYABLE_CODES = new Set([1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004, 190]);

const TIMEOUT_MS = 30_000;
/** Uploads of up to 100 MB take longer. */
const UPLOAD_TIMEOUT_MS = 300_000;

interface GraphError {
  error?: { code?: number; error_subcode?: number; is_transient?: boolean };
}

export class CloudApi {
  private readonly base: string;
  constructor(
    baseUrl: string,
    private readonly accessToken: string,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private async call(what: string, path: string, init: RequestInit, timeoutMs = TIMEOUT_MS): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${this.accessToken}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new ChannelSendError(`WhatsApp ${what} unreachable (${e.cause?.code ?? e.name})`, true);
    }
    const body = (await res.json().catch(() => undefined)) as (GraphError & Record<string, unknown>) | undefined;
    if (res.ok) return body;
    const code = body?.error?.code;
    const subcode = body?.error?.error_subcode;
    const retryable = res.status >= 500 || res.status === 429 || body?.error?.is_transient === true || (code !== undefined && RETRYABLE_CODES.has(code));
    const detail = code !== undefined ? ` (code ${code}${subcode !== undefined ? `/${subcode}` : ''})` : '';
    throw new ChannelSendError(`WhatsApp ${what} answered ${res.status}${detail}`, retryable, res.status, code, subcode);
  }

  /** `GET /{media-id}`: where an inbound file's bytes are and their digest. */
  async mediaInfo(mediaId: string): Promise<MediaInfo> {
    const body = await this.call('media endpoint', encodeURIComponent(mediaId), { method: 'GET' });
    const info = MediaInfo.safeParse(body);
    if (!info.success) throw new ChannelSendError('WhatsApp media endpoint answered an unexpected body', false);
    return info.data;
  }

  /** `POST /{phoneNumberId}/media` (multipart: file, type, messaging_product): the new media id. */
  async uploadMedia(phoneNumberId: string, file: { bytes: Buffer; fileName: string; contentType: string }): Promise<string> {
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', file.contentType);
    form.set('file', new Blob([file.bytes], { type: file.contentType }), file.fileName);
    const body = (await this.call('media upload', `${encodeURIComponent(phoneNumberId)}/media`, { method: 'POST', body: form }, UPLOAD_TIMEOUT_MS)) as { id?: unknown } | undefined;
    if (typeof body?.id !== 'string' || !body.id) throw new ChannelSendError('WhatsApp media upload answered no id', true);
    return body.id;
  }

  /** `POST /{phoneNumberId}/messages` with one message body. */
  async sendMessage(phoneNumberId: string, message: Record<string, unknown>): Promise<void> {
    await this.call('send', `${encodeURIComponent(phoneNumberId)}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
    });
  }
}
