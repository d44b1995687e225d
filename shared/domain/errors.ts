import type { WarningCode } from './transcript';

/**
 * Named errors of the core. Use cases throw these; the HTTP edge (shared/http/errors.ts)
 * gives each a status code in one table. Their messages are written for the client: only
 * these (4xx) ever leave the service; anything else is a 500 that says nothing.
 */
export abstract class DomainError extends Error {
  /** Machine-readable code of the error contract (`error.code`). */
  abstract readonly code: string;
}

/** A named error class with a fixed code and, where it has one, a default message. */
function namedError(name: string, code: string, defaultMessage?: string) {
  return class extends DomainError {
    override name = name;
    readonly code = code;
    constructor(message = defaultMessage ?? name) {
      super(message);
    }
  };
}

/** The request itself is wrong (bad body, bad cursor, a button that is not offered). */
export class InvalidRequest extends namedError('InvalidRequest', 'invalid_request') {}
/** No or a wrong credential (session token, agent token). */
export class NotAuthorized extends namedError('NotAuthorized', 'unauthorized', 'Missing or invalid credentials') {}
/** A webhook body whose signature does not verify. */
export class InvalidSignature extends namedError('InvalidSignature', 'invalid_signature') {}
/** A webhook subscription handshake with the wrong verify token. */
export class VerificationRefused extends namedError('VerificationRefused', 'forbidden') {}
/** A file link whose token is not one of ours. */
export class InvalidToken extends namedError('InvalidToken', 'invalid_token', 'This file link is not valid') {}
/** The session (or a link into it) has expired; it may already be deleted. */
export class SessionExpired extends namedError('SessionExpired', 'session_expired', 'This session has expired') {}
/** A client holds as many open sockets as it may (SPEC 10); it should close one first. */
export class TooManyConnections extends namedError('TooManyConnections', 'too_many_connections', 'Too many open connections; close one first') {}
/** Only the agent who took the conversation over may do this. */
export class NotHolder extends namedError('NotHolder', 'not_holder', 'Only the agent who took over this conversation can do that') {}

/**
 * The channel no longer lets the business write to the user freely (WhatsApp's 24-hour
 * customer-service window has closed since the user's last message); the user must write first.
 */
export class ChannelWindowClosed extends namedError(
  'ChannelWindowClosed',
  'channel_window_closed',
  "The user's last message is too old for this channel to deliver an agent message; they must write first",
) {}

/** Something the request names does not exist (`code` says what: bot_not_found, ...). */
export class NotFound extends DomainError {
  override name = 'NotFound';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A file link whose file is still being scanned for malware (SPEC 13): try again shortly. */
export class AttachmentScanPending extends namedError(
  'AttachmentScanPending',
  'attachment_scan_pending',
  'This file is still being checked for viruses; try again in a moment',
) {}

/** A file link whose file the malware scan refused (infected or unscannable): its bytes are gone for good. */
export class AttachmentBlocked extends DomainError {
  override name = 'AttachmentBlocked';
  constructor(readonly code: 'attachment_infected' | 'attachment_unscannable') {
    super(code === 'attachment_infected' ? 'This file contained malware and was deleted' : 'This file could not be checked for viruses and was not accepted');
  }
}

/** Another agent has taken the conversation over. */
export class AlreadyTakenOver extends DomainError {
  override name = 'AlreadyTakenOver';
  readonly code = 'already_taken_over';
  constructor(holderName: string | undefined) {
    super(`${holderName ?? 'Another agent'} has taken over this conversation`);
  }
}

/** A file refused before upload; `warning` is the code the client and the transcript get. */
export class AttachmentRefused extends DomainError {
  override name = 'AttachmentRefused';
  constructor(
    readonly warning: WarningCode,
    message: string,
  ) {
    super(message);
  }
  get code(): string {
    return this.warning;
  }
}

/**
 * A named secret cannot be had, and asking again soon will not change that: it does not
 * exist or has no string value (`missing`), or it exists but this function may not read or
 * decrypt it, or it is scheduled for deletion (`unreadable`). A transient failure of the
 * secret store (throttling, 5xx, network) is NOT this error: it is rethrown as it came, so
 * the work that needed the secret is retried.
 */
export class MissingSecret extends Error {
  override name = 'MissingSecret';
  constructor(
    readonly secretName: string,
    readonly problem: 'missing' | 'unreadable' = 'missing',
  ) {
    super(problem === 'missing' ? `Missing secret "${secretName}"` : `Secret "${secretName}" cannot be read`);
  }
}

/** A streamed body went past `maxBytes`; what was stored of it has been removed. */
export class ObjectTooLarge extends Error {
  override name = 'ObjectTooLarge';
  constructor(readonly maxBytes: number) {
    super(`body exceeds ${maxBytes} bytes`);
  }
}

export type FetchFailureReason =
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'address_refused'
  | 'too_many_redirects'
  | 'connect_timeout'
  | 'timeout'
  | 'too_large'
  | 'network_error';

/** Every failure of the fetcher (and of reading its body). Messages hold no URL paths, queries or headers. */
export class FetchFailure extends Error {
  override name = 'FetchFailure';
  constructor(
    readonly reason: FetchFailureReason,
    message: string,
    /** host:port the failure concerns, when known (safe to log). */
    readonly host?: string,
  ) {
    super(message);
  }
}

/** The mail service refused the message or was never reached: nothing was sent. */
export class MailNotSent extends Error {
  override name = 'MailNotSent';
}

/** Another attempt holds a live claim on this attachment's email; try again later. */
export class MailBusy extends Error {
  override name = 'MailBusy';
}
