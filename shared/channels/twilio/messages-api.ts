import { ChannelSendError } from '../channel';

/**
 * Twilio's Messages API (twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
 * `POST {TWILIO_API_URL}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth
 * (account SID : auth token), form parameters `To`, `From`, `Body`, `MediaUrl`. Errors carry
 * the HTTP status and Twilio's numeric `code` only, never the token or the form.
 */

interface TwilioError {
  code?: number;
  message?: string;
  status?: number;
}

/** `Authorization` for the account: media downloads and API calls use the same credentials. */
export const basicAuth = (accountSid: string, authToken: string): string => `Basic ${Buffer.from(`${accountSid}:${authToken}`, 'utf8').toString('base64')}`;

/** Twilio error codes worth retrying: rate limits (20429) and queue overflows (30001). */
const RETRYABLE_CODES = new Set([20429, 30001]);

export class TwilioMessagesApi {
  constructor(
    private readonly baseUrl: string,
    private readonly accountSid: string,
    private readonly authToken: string,
    private readonly timeoutMs = 15_000,
  ) {}

  async create(message: { to: string; from: string; body: string; mediaUrl?: string }): Promise<{ sid?: string }> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(this.accountSid)}/Messages.json`;
    const form = new URLSearchParams({ To: message.to, From: message.from, Body: message.body });
    if (message.mediaUrl) form.append('MediaUrl', message.mediaUrl);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: basicAuth(this.accountSid, this.authToken), 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new ChannelSendError(`Twilio Messages API unreachable (${e.cause?.code ?? e.name})`, true);
    }
    const reply = (await res.json().catch(() => undefined)) as (TwilioError & { sid?: string }) | undefined;
    if (res.ok) return { sid: reply?.sid };
    const code = typeof reply?.code === 'number' ? reply.code : undefined;
    // 5xx, 429 and a refused credential (401: an operator fixes the secret; the messages wait
    // in the queue meanwhile) may succeed later; 400 (an invalid or opted-out number) never will.
    const retryable = res.status >= 500 || res.status === 429 || res.status === 401 || (code !== undefined && RETRYABLE_CODES.has(code));
    throw new ChannelSendError(`Twilio Messages API answered ${res.status}${code !== undefined ? ` (code ${code})` : ''}`, retryable, res.status, code);
  }
}
