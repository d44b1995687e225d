import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface SenderIdentityProps {
  /** The From address of attachment emails. */
  readonly email: string;
  /**
   * Create the SES email identity (SES then mails a verification link to the address).
   * Leave false when the address or its domain is already verified in this account/region.
   */
  readonly createIdentity: boolean;
}

/**
 * The SES identity attachment emails are sent as. The mailer may send only as this
 * identity: SES authorises a send against the address identity if it is verified, otherwise
 * against its domain identity, so both ARNs are granted and nothing else.
 */
export class SenderIdentity extends Construct {
  readonly email: string;
  readonly identityArns: string[];
  readonly identity?: EmailIdentity;

  constructor(scope: Construct, id: string, props: SenderIdentityProps) {
    super(scope, id);
    this.email = props.email;
    const domain = props.email.slice(props.email.lastIndexOf('@') + 1);

    if (props.createIdentity) {
      this.identity = new EmailIdentity(this, 'Identity', { identity: Identity.email(props.email) });
    }

    const stack = Stack.of(this);
    const identityArn = (name: string) =>
      Arn.format({ service: 'ses', resource: 'identity', resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
    this.identityArns = [identityArn(props.email), identityArn(domain)];
  }
}
