import { InvalidRequest } from '../domain/errors';
import { header, type HttpEvent } from './http-handler';

/**
 * The optional `Idempotency-Key` header of `POST /web/sessions/{id}/messages` and
 * `POST /agent/conversations/{id}/messages`: the client's name for one message, sent again
 * unchanged when it repeats a request whose answer it did not get. 1 to 64 letters, digits,
 * `-` or `_`; anything else 400.
 */
const KEY = /^[A-Za-z0-9_-]{1,64}$/;
export function idempotencyKey(event: HttpEvent): string | undefined {
  const value = header(event, 'idempotency-key');
  if (value === undefined) return undefined;
  if (!KEY.test(value)) throw new InvalidRequest('Idempotency-Key must be 1 to 64 letters, digits, "-" or "_"');
  return value;
}
