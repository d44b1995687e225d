import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import {
  CloudWatchDimensionSource,
  ConfigurationSet,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
} from 'aws-cdk-lib/aws-ses';
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
 * The SES identity attachment emails are sent as, and the configuration set every send
 * names. The mailer may send only as this identity: SES authorises a send against the
 * address identity if it is verified, otherwise against its domain identity, and against the
 * configuration set, so those three ARNs are granted and nothing else. The configuration set
 * publishes sends, deliveries, bounces and complaints to CloudWatch (namespace AWS/SES,
 * dimension `ses:configuration-set`), where they are graphed and alarmed (Monitoring.watchSes).
 */
export class SenderIdentity extends Construct {
  readonly email: string;
  readonly identityArns: string[];
  readonly identity?: EmailIdentity;
  readonly configurationSet: ConfigurationSet;

  constructor(scope: Construct, id: string, props: SenderIdentityProps) {
    super(scope, id);
    this.email = props.email;
    const domain = props.email.slice(props.email.lastIndexOf('@') + 1);

    if (props.createIdentity) {
      this.identity = new EmailIdentity(this, 'Identity', { identity: Identity.email(props.email) });
    }

    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {});
    this.configurationSet.addEventDestination('Metrics', {
      destination: EventDestination.cloudWatchDimensions([
        { source: CloudWatchDimensionSource.MESSAGE_TAG, name: 'ses:configuration-set', defaultValue: 'satchel' },
      ]),
      events: [
        EmailSendingEvent.SEND,
        EmailSendingEvent.DELIVERY,
        EmailSendingEvent.BOUNCE,
        EmailSendingEvent.COMPLAINT,
        EmailSendingEvent.REJECT,
        EmailSendingEvent.RENDERING_FAILURE,
        EmailSendingEvent.DELIVERY_DELAY,
      ],
    });

    const stack = Stack.of(this);
    const sesArn = (resource: string, name: string) =>
      Arn.format({ service: 'ses', resource, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
    this.identityArns = [
      sesArn('identity', props.email),
      sesArn('identity', domain),
      sesArn('configuration-set', this.configurationSet.configurationSetName),
    ];
  }
}
