import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { SatchelFunctionName } from '../../cdk/satchel-stack';
import { functionProps, statementsOf, synthSatchel, SYNTH_TIMEOUT, type Synthesized } from './synth';

/**
 * The Twilio channel in the stack, from the registry alone: a bot with `channels.twilio` gets
 * `POST /channels/twilio` on intake, and its auth token is granted to intake (signature
 * checks), actions (sends, MMS downloads) and agent (agents' messages), to no other function.
 */
const TWILIO_BOTS_DIR = fileURLToPath(new URL('./fixtures/twilio-bots', import.meta.url));

let s: Synthesized;
beforeAll(() => {
  s = synthSatchel({ botsDir: TWILIO_BOTS_DIR });
}, SYNTH_TIMEOUT);

const botSecretsOf = (name: SatchelFunctionName) =>
  statementsOf(s, name)
    .filter((st) => st.actions.includes('secretsmanager:GetSecretValue'))
    .flatMap((st) => st.resources)
    .filter((r) => r.includes(':secret:satchel/'))
    .map((r) => r.replace(/^.*:secret:satchel\/(.*)-\?{6}$/, '$1'))
    .sort();

describe('Twilio in the stack', () => {
  it('routes POST /channels/twilio to intake', () => {
    const routes = Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey);
    expect(routes).toContain('POST /channels/twilio');
  });

  it('grants the auth token to intake, actions and agent only', () => {
    for (const name of ['intake', 'actions', 'agent'] as const) expect(botSecretsOf(name), name).toEqual(['tw-auth-token']);
    for (const name of ['proxy', 'mailer', 'expiry'] as const) expect(botSecretsOf(name), name).toEqual([]);
  });

  it('gives intake, actions and agent TWILIO_API_URL and the public base URL the signature is checked over', () => {
    for (const name of ['intake', 'actions', 'agent'] as const) {
      const env = functionProps(s, name).Environment.Variables as Record<string, unknown>;
      expect(env).toMatchObject({ TWILIO_API_URL: 'https://api.twilio.com' });
      expect(env).toHaveProperty('PUBLIC_BASE_URL');
    }
  });
});
