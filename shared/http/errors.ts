import type * as z from 'zod/mini';
import {
  AlreadyTakenOver,
  AttachmentBlocked,
  AttachmentRefused,
  AttachmentScanPending,
  ChannelWindowClosed,
  DomainError,
  InvalidRequest,
  InvalidSignature,
  InvalidToken,
  NotAuthorized,
  NotFound,
  NotHolder,
  SessionExpired,
  TooManyConnections,
  VerificationRefused,
} from '../domain/errors';
import type { WarningCode } from '../domain/transcript';

/** An error raised at the edge itself (routing, body parsing). Only 4xx carry their message out. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  get expose(): boolean {
    return this.statusCode < 500;
  }
}

export const badRequest = (message: string) => new HttpError(400, 'invalid_request', message);
export const notFound = (code: string, message: string) => new HttpError(404, code, message);

export const zodMessage = (err: z.core.$ZodError): string =>
  err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');

/** A refused file's status, by its warning code. */
const REFUSAL_STATUS: Partial<Record<WarningCode, number>> = {
  attachment_too_large: 413,
  attachment_type_not_allowed: 415,
  attachment_limit_reached: 409,
};

/** The one table from the core's named errors to HTTP status codes. */
const STATUS: [new (...args: never[]) => DomainError, (err: DomainError) => number][] = [
  [InvalidRequest, () => 400],
  [NotAuthorized, () => 401],
  [InvalidSignature, () => 401],
  [VerificationRefused, () => 403],
  [InvalidToken, () => 403],
  [NotFound, () => 404],
  [NotHolder, () => 409],
  [AlreadyTakenOver, () => 409],
  [ChannelWindowClosed, () => 409],
  [SessionExpired, () => 410],
  [AttachmentScanPending, () => 409],
  [AttachmentBlocked, () => 410],
  [TooManyConnections, () => 429],
  [AttachmentRefused, (err) => REFUSAL_STATUS[(err as AttachmentRefused).warning] ?? 400],
];

/**
 * What the client is told about an error: status, code and message for the errors meant for
 * it (edge errors below 500 and the core's named errors), undefined for everything else,
 * which is logged and answered with a bare 500.
 */
export function clientError(err: unknown): { statusCode: number; code: string; message: string; headers: Record<string, string> } | undefined {
  if (err instanceof HttpError) return err.expose ? { statusCode: err.statusCode, code: err.code, message: err.message, headers: err.headers } : undefined;
  if (err instanceof DomainError) {
    const entry = STATUS.find(([type]) => err instanceof type);
    if (entry) return { statusCode: entry[1](err), code: err.code, message: err.message, headers: {} };
  }
  return undefined;
}

/**
 * The same error with extra response headers (a CORS header on a public read, say), so a
 * client that may read the answer can also read why it failed. Errors not meant for the
 * client are passed on untouched.
 */
export function withResponseHeaders(err: unknown, headers: Record<string, string>): unknown {
  const known = clientError(err);
  return known ? new HttpError(known.statusCode, known.code, known.message, { ...known.headers, ...headers }) : err;
}
