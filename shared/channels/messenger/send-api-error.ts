/** A failed send. Messages never hold the URL (it carries the page token) nor Graph's free text. */
export class SendApiError extends Error {
  override name = 'SendApiError';
  constructor(
    message: string,
    /** True when trying again later may succeed; false for a send Meta will never accept. */
    readonly retryable: boolean,
    readonly status?: number,
    readonly code?: number,
    readonly subcode?: number,
  ) {
    super(message);
  }
}
