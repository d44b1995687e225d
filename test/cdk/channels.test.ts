import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { SatchelFunctionName } from '../../cdk/satchel-stack';
import { functionProps, statementsOf, synthSatchel, SYNTH_TIMEOUT, type Synthesized } from './synth';

/**
 * A channel's route and secret grants follow from the channel registry alone: a bot with
 * `channels.telegram` gets the Telegram webhook route on intake and exactly the grants each
 * function needs (intake: the secret token and the bot token, which answers button presses;
 * actions and agent: the bot token, to send).
 */
const TELEGRAM_BOTS_DIR = fileURLToPath(new URL('./fixtures/telegram-bots', import.meta.url));

let s: Synthesized;
beforeAll(() => {
  s = synthSatchel({ botsDir: TELEGRAM_BOTS_DIR });
}, SYNTH_TIMEOUT);

const botSecretsOf = (name: SatchelFunctionName) =>
  statementsOf(s, name)
    .filter((st) => st.actions.includes('secretsmanager:GetSecretValue'))
    .flatMap((st) => st.resources)
    .filter((r) => r.includes(':secret:satchel/'))
    .map((r) => r.replace(/^.*:secret:satchel\/(.*)-\?{6}$/, '$1'))
    .sort();

describe('channels in the stack', () => {
  it('routes every registered channel webhook to intake', () => {
    const routes = Object.values(s.template.findResources('AWS::ApiGatewayV2::Route')).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey);
    expect(routes).toEqual(expect.arrayContaining(['POST /channels/telegram/{botId}', 'GET /channels/messenger', 'POST /channels/messenger']));
  });

  it('grants Telegram secrets by function: webhook checks to intake, the bot token to the senders', () => {
    expect(botSecretsOf('intake')).toEqual(['tg-secret', 'tg-token']);
    expect(botSecretsOf('actions')).toEqual(['tg-token']);
    expect(botSecretsOf('agent')).toEqual(['tg-token']);
    for (const name of ['proxy', 'mailer', 'expiry'] as const) expect(botSecretsOf(name)).toEqual([]);
  });

  it('gives intake, actions and agent the channel API bases and the public base URL', () => {
    const env = (name: SatchelFunctionName): Record<string, unknown> => functionProps(s, name).Environment.Variables;
    for (const name of ['intake', 'actions', 'agent'] as const) {
      expect(env(name)).toMatchObject({ TELEGRAM_API_URL: 'https://api.telegram.org' });
      expect(env(name)).toHaveProperty('PUBLIC_BASE_URL');
    }
  });
});
