import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SesMailSender } from '../../shared/adapters/mail-sender';

/** On AWS every email names the stack's SES configuration set, which records bounces and complaints. */
describe('SesMailSender configuration set', () => {
  const ses = mockClient(SESv2Client);
  afterEach(() => ses.reset());

  it('names the configuration set on every send when one is configured', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    const sender = new SesMailSender(new SESv2Client({ region: 'eu-west-1' }), 'Satchel-Sender-abc');
    await expect(sender.send({ from: 'a@acme-claims.com', to: 'b@acme-claims.com' }, new Uint8Array([1]))).resolves.toEqual({ messageId: 'm-1' });
    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.ConfigurationSetName).toBe('Satchel-Sender-abc');
  });

  it('names none without one (the local runtime)', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-2' });
    await new SesMailSender(new SESv2Client({ region: 'eu-west-1' })).send({ from: 'a@acme-claims.com', to: 'b@acme-claims.com' }, new Uint8Array([1]));
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input).not.toHaveProperty('ConfigurationSetName');
  });
});
