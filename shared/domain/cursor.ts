import { InvalidRequest } from './errors';
/**
 * A transcript cursor as clients send it back (`?after=`): the sequence number of the last
 * message they have; empty or absent is the start.
 */
export function parseCursor(after: string | undefined): number {
  if (after === undefined || after === '') return 0;
  const cursor = /^\d{1,15}$/.test(after) ? Number(after) : NaN;
  if (!Number.isSafeInteger(cursor)) throw new InvalidRequest('after must be a cursor returned by this route');
  return cursor;
}
