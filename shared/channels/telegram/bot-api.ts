import { ChannelSendError } from '../channel';

/**
 * The Telegram Bot API (`{TELEGRAM_API_URL}/bot<token>/<method>`). The token is part of every
 * URL, so no URL, request or response text ever goes into an error message or a log line:
 * errors carry the method, the HTTP status and Telegram's numeric `error_code` only.
 */

interface Envelope<T> {
  ok?: boolean;
  result?: T;
  error_code?: number;
  parameters?: { retry_after?: number };
}

export class TelegramBotApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 15_000,
  ) {}

  /**
   * `POST /bot<token>/<method>` with a JSON body, or a multipart form for uploads; with
   * `query`, a GET with the parameters in the query string (as SPEC 12 shows getFile).
   */
  async call<T = unknown>(method: string, body: Record<string, unknown> | FormData, opts: { query?: boolean } = {}): Promise<T> {
    let url = `${this.baseUrl.replace(/\/+$/, '')}/bot${this.token}/${method}`;
    const isForm = body instanceof FormData;
    if (opts.query && !isForm) url += `?${new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)]))}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: opts.query ? 'GET' : 'POST',
        ...(opts.query ? {} : isForm ? { body } : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new ChannelSendError(`Telegram ${method} unreachable (${e.cause?.code ?? e.name})`, true);
    }
    const reply = (await res.json().catch(() => undefined)) as Envelope<T> | undefined;
    if (res.ok && reply?.ok) return reply.result as T;
    const code = reply?.error_code;
    // 429 (flood control), 5xx and a refused token (401: an operator fixes the secret; the
    // messages wait in the queue meanwhile) may succeed later; 400/403 (bad request, the user
    // blocked the bot) never will.
    const retryable = res.status >= 500 || res.status === 429 || res.status === 401 || code === 429;
    throw new ChannelSendError(`Telegram ${method} answered ${res.status}${code !== undefined ? ` (error_code ${code})` : ''}`, retryable, res.status, code);
  }

  /** `getFile`: where the file's bytes are, as a URL that holds the token (never logged). */
  async fileUrl(fileId: string): Promise<{ url: string; size?: number }> {
    const file = await this.call<{ file_path?: string; file_size?: number }>('getFile', { file_id: fileId }, { query: true });
    if (!file?.file_path) throw new ChannelSendError('Telegram getFile gave no file_path', false);
    const path = file.file_path.split('/').map(encodeURIComponent).join('/');
    return { url: `${this.baseUrl.replace(/\/+$/, '')}/file/bot${this.token}/${path}`, ...(file.file_size !== undefined && { size: file.file_size }) };
  }
}
