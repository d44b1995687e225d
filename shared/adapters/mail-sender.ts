import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Config } from '../config';
import { MailNotSent } from '../domain/errors';
import type { MailSender, OutgoingMail } from '../app/ports';
import { endpointCredentials, LOCAL_CREDENTIALS, SDK_TIMEOUTS } from './clients';

/**
 * SES v2 client. One attempt per call: SendEmail is not idempotent, so a transparent SDK
 * retry after a lost response could send twice. Retries go through the mail queue and
 * the exactly-once claim instead.
 */
export function sesClient(config: Pick<Config, 'SES_ENDPOINT' | 'AWS_REGION'>): SESv2Client {
  return new SESv2Client({
    region: config.AWS_REGION,
    endpoint: config.SES_ENDPOINT,
    maxAttempts: 1,
    requestHandler: SDK_TIMEOUTS.other,
    ...(config.SES_ENDPOINT && endpointCredentials(LOCAL_CREDENTIALS)),
  });
}

/** Errors raised before a request left this machine: the message cannot have been sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether SES certainly did not accept the message: it answered with a client error (4xx:
 * validation, unverified identity, throttling), or the connection never opened. A 5xx, a
 * reset or a timeout leaves the outcome unknown.
 */
function certainlyNotSent(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500) return true;
  const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/** Raw MIME built with nodemailer's MailComposer, sent with SES v2 SendEmail (Content.Raw). */
export class SesMailSender implements MailSender {
  /** `configurationSetName`: named on every send, so SES records its deliveries, bounces and complaints. */
  constructor(
    private readonly ses: SESv2Client,
    private readonly configurationSetName?: string,
  ) {}

  async encode(mail: OutgoingMail): Promise<Uint8Array> {
    const composer = new MailComposer({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      // Content is only ever what we pass in; never let an address or path pull in files.
      disableFileAccess: true,
      disableUrlAccess: true,
      attachments: mail.attachment
        ? [
            {
              filename: mail.attachment.fileName,
              contentType: mail.attachment.contentType,
              content: mail.attachment.content,
              // base64 for every type: quoted-printable would rewrite the line ends of text files.
              contentTransferEncoding: 'base64',
            },
          ]
        : [],
    });
    return composer.compile().build();
  }

  async send(envelope: { from: string; to: string }, raw: Uint8Array): Promise<{ messageId: string }> {
    try {
      const out = await this.ses.send(
        new SendEmailCommand({
          FromEmailAddress: envelope.from,
          Destination: { ToAddresses: [envelope.to] },
          Content: { Raw: { Data: raw } },
          ...(this.configurationSetName && { ConfigurationSetName: this.configurationSetName }),
        }),
      );
      return { messageId: out.MessageId ?? '' };
    } catch (err) {
      if (certainlyNotSent(err)) throw new MailNotSent(`SES did not accept the message: ${(err as Error).name}`, { cause: err });
      throw err;
    }
  }
}
