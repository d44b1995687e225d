import { simpleParser, type ParsedMail } from 'mailparser';
import { eventually } from './runtime';

/**
 * The mail aws-ses-v2-local stored. The emulator parses each raw message it receives (with
 * mailparser) and keeps the result; `GET /store` lists it. Its store is per process, so tests
 * tell their mail apart by recipient.
 */
export interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { text?: string; html?: string };
  /** `content` is the decoded attachment in base64. */
  attachments: { filename?: string; contentType: string; content: string; size: number }[];
  at: number;
}

export async function mailTo(sesUrl: string, recipient: string): Promise<StoredEmail[]> {
  const res = await fetch(`${sesUrl}/store`);
  if (res.status !== 200) throw new Error(`SES store: ${res.status}`);
  const { emails } = (await res.json()) as { emails: StoredEmail[] };
  return emails.filter((e) => e.destination.to.some((to) => to.includes(recipient)));
}

/** Waits until `recipient` has `count` emails. */
export const waitForMail = (sesUrl: string, recipient: string, count = 1, timeoutMs = 15_000): Promise<StoredEmail[]> =>
  eventually(
    async () => {
      const mail = await mailTo(sesUrl, recipient);
      return mail.length >= count ? mail : undefined;
    },
    timeoutMs,
    `${count} email(s) to ${recipient}`,
  );

/**
 * The stored email as an .eml (the emulator's get-emlContent), parsed with mailparser.
 * Headers and bodies come through as sent. The emulator re-encodes attachments from its
 * base64 copy without saying so, so attachment bytes are read with `attachmentBytes`.
 */
export async function parsedMail(sesUrl: string, email: StoredEmail): Promise<ParsedMail> {
  const res = await fetch(`${sesUrl}/get-emlContent?messageId=${encodeURIComponent(email.messageId)}`);
  if (res.status !== 200) throw new Error(`get-emlContent: ${res.status}`);
  const { body } = (await res.json()) as { body: { data: number[] } };
  return simpleParser(Buffer.from(body.data));
}

export const attachmentBytes = (a: StoredEmail['attachments'][number]): Buffer => Buffer.from(a.content, 'base64');
