import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { SatchelFunctionName } from '../../cdk/satchel-stack';
import { functionProps, statementsOf, synthSatchel, SYNTH_TIMEOUT, type Synthesized } from './synth';

/**
 * A bot with `channels.whatsapp` gets the WhatsApp webhook routes on intake and exactly the
 * grants each function needs (intake: app secret and verify token, to check webhooks;
 * actions and agent: the access token, to fetch media and send).
 */
const WHATSAPP_BOTS_DIR = fileURLToPath(new URL('./fixtures/whatsapp-bots', import.meta.url));

let s: Synthesized;
beforeAll(() => {
  s = synthSatchel({ botsDir: WHATSAPP_BOTS_DIR });
}, SYNTH_TIMEOUT);

const botSecretsOf = (name: SatchelFunctionName) =>
  statementsOf(s, name)
    .filter((st) => st.actions.includes('secretsmanager:GetSecretValue'))
    .flatMap((st) => st.resources)
    .filter((r) => r.includes(':secret:satchel/'))
    .map((r) => r.replace(/^.*:secret:satchel\/(.*)-\?{6}$/, '$1'))
    .sort();

describe('WhatsApp in the stack', () => {
  it('routes GET and POST /channels/whatsapp to intake', () => {
    const routes = Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey);
    expect(routes).toEqual(expect.arrayContaining(['GET /channels/whatsapp', 'POST /channels/whatsapp']));
  });

  it('grants WhatsApp secrets by function: webhook checks to intake, the access token to actions and agent', () => {
    expect(botSecretsOf('intake')).toEqual(['wa-app', 'wa-verify']);
    expect(botSecretsOf('actions')).toEqual(['wa-access']);
    expect(botSecretsOf('agent')).toEqual(['wa-access']);
    for (const name of ['proxy', 'mailer', 'expiry'] as const) expect(botSecretsOf(name)).toEqual([]);
  });

  it('gives intake, actions and agent the WhatsApp API base', () => {
    for (const name of ['intake', 'actions', 'agent'] as const) {
      expect(functionProps(s, name).Environment.Variables).toMatchObject({ WHATSAPP_API_URL: 'https://graph.facebook.com/v21.0' });
    }
  });
});
