import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionProps, logicalId, statementsOf, SYNTH_TIMEOUT, type Synthesized, synthSatchel, TEST_SENDER } from './synth';

/**
 * Issue 13 point 2: without a real senderEmail, email is disabled with a synth warning, never
 * a silent dead-letter queue; with one, SES records bounces and complaints (alarmed in
 * operations.test.ts).
 */

const warningsOf = (s: Synthesized) =>
  Annotations.fromStack(s.stack)
    .findWarning('*', Match.stringLikeRegexp('Email is disabled'))
    .map((w) => String(w.entry.data));

describe('email without a senderEmail', () => {
  let s: Synthesized;
  beforeAll(() => {
    // What `npx cdk synth` on a clean checkout does: no senderEmail at all.
    s = synthSatchel({ context: { senderEmail: undefined } });
  }, SYNTH_TIMEOUT);

  it('synthesizes (cdk-nag included) with a warning naming the context key and the bots that email', () => {
    const warnings = warningsOf(s);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no senderEmail is set/);
    expect(warnings[0]).toMatch(/-c senderEmail=/);
    // The fixtures' claims bot has attachments.recipientEmail.
    expect(s.stack.bots.emailBotIds).toEqual(['claims']);
    expect(warnings[0]).toMatch(/bots claims \(attachments\.recipientEmail\) will not be emailed/);
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) expect(pack.validateScope(s.app).success).toBe(true);
  });

  it('deploys no mail queue, mailer or SES resources, so nothing can dead-letter', () => {
    expect(s.stack.mailQueue).toBeUndefined();
    expect(s.stack.functions.mailer).toBeUndefined();
    s.template.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    s.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    // Only the events queue and its DLQ, the expiry failure queue, the malware scan results' failure queue
    // and the scan watch queue with its DLQ (issue 16).
    s.template.resourceCountIs('AWS::SQS::Queue', 6);
    expect(s.template.toJSON().Outputs.MailDeadLetterQueueArn).toBeUndefined();
    const env = functionProps(s, 'actions').Environment.Variables;
    expect(env).not.toHaveProperty('MAIL_QUEUE_URL');
    expect(statementsOf(s, 'actions').flatMap((st) => st.actions).filter((a) => a.startsWith('ses:'))).toEqual([]);
    // Actions sends to no queue but the scan watch (each held file's overdue check).
    const sends = statementsOf(s, 'actions').filter((st) => st.actions.includes('sqs:SendMessage')).flatMap((st) => st.resources);
    expect(sends).toEqual([`\${${logicalId(s.stack.malwareScan!.watch.queue)}.Arn}`]);
    const alarms = Object.values(s.template.toJSON().Resources as Record<string, { Type: string; Properties: { Namespace?: string } }>).filter(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Namespace === 'AWS/SES',
    );
    expect(alarms).toEqual([]);
  });
});

describe('email with a placeholder senderEmail', () => {
  it.each(['satchel@example.com', 'team@mail.example.org', 'help@acme.test'])('treats %s like no sender, warning why', (senderEmail) => {
    const s = synthSatchel({ context: { senderEmail } });
    expect(s.stack.functions.mailer).toBeUndefined();
    expect(warningsOf(s)[0]).toContain(`senderEmail ${senderEmail} is at a reserved example domain`);
  }, SYNTH_TIMEOUT);

  it('still refuses something that is not an address', () => {
    expect(() => synthSatchel({ context: { senderEmail: 'not-an-address' } })).toThrow(/Context "senderEmail" is "not-an-address"; expected an email address/);
  });
});

describe('email with a real senderEmail', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthSatchel({ context: { senderEmail: TEST_SENDER } });
  }, SYNTH_TIMEOUT);

  it('warns about nothing and deploys the mailer on its queue', () => {
    expect(warningsOf(s)).toEqual([]);
    expect(s.stack.functions.mailer).toBeDefined();
    expect(functionProps(s, 'actions').Environment.Variables.MAIL_QUEUE_URL).toEqual({ Ref: logicalId(s.stack.mailQueue!.queue) });
  });

  it('records sends, deliveries, bounces and complaints through an SES configuration set the mailer names', () => {
    const set = s.stack.node.findChild('Sender').node.findChild('ConfigurationSet');
    s.template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: logicalId(set) },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['send', 'delivery', 'bounce', 'complaint', 'reject']),
        CloudWatchDestination: {
          DimensionConfigurations: [{ DimensionName: 'ses:configuration-set', DimensionValueSource: 'messageTag', DefaultDimensionValue: 'satchel' }],
        },
      },
    });
    expect(functionProps(s, 'mailer').Environment.Variables).toMatchObject({ SENDER_EMAIL: TEST_SENDER, SES_CONFIGURATION_SET: { Ref: logicalId(set) } });
  });
});
