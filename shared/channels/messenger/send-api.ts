import type { SendMessage } from './outbound';
import { ChannelSendError as SendApiError } from '../channel';

/**
 * Graph API error codes worth retrying: temporary failures, rate limits and an invalid or
 * expired page token (an operator fixes the secret; the messages wait in the queue meanwhile).
 */
const RETRYABLE_CODES = new Set([1, 2, 4, 17, 32, 190, 613, 80006]);

interface GraphError {
  error?: { code?: number; error_subcode?: number; is_transient?: boolean };
}

/** The Messenger Send API (`POST {MESSENGER_API_URL}/me/messages`) for one page token at a time. */
export class SendApi {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(pageAccessToken: string, psid: string, message: SendMessage): Promise<{ messageId?: string }> {
    const url = new URL(`${this.baseUrl.replace(/\/+$/, '')}/me/messages`);
    // The Graph API takes the token as a query parameter; the URL is never logged.
    url.searchParams.set('access_token', pageAccessToken);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ recipient: { id: psid }, messaging_type: 'RESPONSE', message }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new SendApiError(`Send API unreachable (${e.cause?.code ?? e.name})`, true);
    }
    const body = (await res.json().catch(() => undefined)) as (GraphError & { message_id?: string }) | undefined;
    if (res.ok) return { messageId: body?.message_id };
    const code = body?.error?.code;
    const subcode = body?.error?.error_subcode;
    const retryable = res.status >= 500 || res.status === 429 || body?.error?.is_transient === true || (code !== undefined && RETRYABLE_CODES.has(code));
    const detail = code !== undefined ? ` (code ${code}${subcode !== undefined ? `/${subcode}` : ''})` : '';
    throw new SendApiError(`Send API answered ${res.status}${detail}`, retryable, res.status, code, subcode);
  }
}
