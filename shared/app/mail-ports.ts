import type { Readable } from 'node:stream';

/**
 * Ports of the email fallback (SPEC section 5). The app decides what is sent and when; the
 * adapters (shared/adapters/mail-*.ts) know SQS, SES, MIME and DynamoDB.
 */

/** One email to send: the file, and whether it was held while the user waited for an agent. */
export interface MailJob {
  sessionId: string;
  attachmentId: string;
  /** Set when the job was held: the `waitingForAgentSince` the user was waiting under. */
  heldForAgentSince?: number;
}

/** The mail queue (SQS standard queue with a DLQ on AWS, a LocalQueue locally). */
export interface MailQueue {
  /** `delaySeconds` (0-900) holds the job before the mailer sees it. */
  send(job: MailJob, delaySeconds: number): Promise<void>;
}

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Attached as is (base64), so the recipient gets the same bytes. */
  attachment?: { fileName: string; contentType: string; content: Readable };
}

export interface MailSender {
  /** The message as MIME (what SES calls raw content). */
  encode(mail: OutgoingMail): Promise<Uint8Array>;
  /**
   * Sends raw MIME. Throws MailNotSent when it is certain the message did not go out; any
   * other error leaves the outcome unknown.
   */
  send(envelope: { from: string; to: string }, raw: Uint8Array): Promise<{ messageId: string }>;
}

/** The mail service refused the message or was never reached: nothing was sent. */
export class MailNotSent extends Error {
  override name = 'MailNotSent';
}

export type ClaimOutcome =
  | { kind: 'claimed'; claimId: string; /** What a crashed earlier attempt had reached, if one left a stale claim. */ takenOverFrom?: 'claimed' | 'sending' }
  | { kind: 'sent' }
  | { kind: 'busy'; leaseUntil: number };

/**
 * The per-attachment record that makes sending exactly-once (SESSION#<id> / MAIL#<attachmentId>).
 * Every method is one conditional write; see shared/app/mail-attachment.ts for the protocol.
 */
export interface MailClaims {
  /** Takes the attachment's send for `leaseMs`, unless it was sent or another attempt holds a live lease. */
  claim(sessionId: string, attachmentId: string, now: number, leaseMs: number): Promise<ClaimOutcome>;
  /** Records that the SES call is about to be made; false if the claim was lost. */
  markSending(sessionId: string, attachmentId: string, claimId: string, now: number): Promise<boolean>;
  markSent(sessionId: string, attachmentId: string, claimId: string, details: { messageId: string; sentAt: number; linked: boolean }): Promise<void>;
  /** Gives the claim up (nothing was sent), so a retry need not wait for the lease. */
  release(sessionId: string, attachmentId: string, claimId: string): Promise<void>;
}

/** What the mailer function needs besides the common deps. */
export interface MailDelivery {
  sender: MailSender;
  claims: MailClaims;
}
