import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYNTH_TIMEOUT, type Synthesized, synthSatchel } from './synth';

type Resource = { Type: string; Properties: Record<string, any> };
const only = (s: Synthesized, type: string): Resource => {
  const found = Object.values(s.template.findResources(type)) as Resource[];
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

/** Issue 13 point 3: agents are created as README says, sign in with only the flows the console uses. */
describe('agent user pool and app client', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthSatchel();
  }, SYNTH_TIMEOUT);

  it('makes email the user name, so admin-create-user --username ann@example.com is accepted', () => {
    const pool = only(s, 'AWS::Cognito::UserPool');
    expect(pool.Properties.UsernameAttributes).toEqual(['email']);
    // An email alias beside user names is what refused email-shaped user names.
    expect(pool.Properties.AliasAttributes).toBeUndefined();
    expect(pool.Properties.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
    expect(pool.Properties.UsernameConfiguration).toEqual({ CaseSensitive: false });
  });

  it('lets the console sign in with a password and refresh, and nothing else', () => {
    const client = only(s, 'AWS::Cognito::UserPoolClient');
    expect([...client.Properties.ExplicitAuthFlows].sort()).toEqual(['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_PASSWORD_AUTH']);
    expect(client.Properties.GenerateSecret).toBe(false);
  });

  it('has no OAuth flows, scopes or callback URLs (no implicit grant, no example.com callback)', () => {
    const client = only(s, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties.AllowedOAuthFlowsUserPoolClient).toBe(false);
    for (const key of ['AllowedOAuthFlows', 'AllowedOAuthScopes', 'CallbackURLs', 'LogoutURLs', 'DefaultRedirectURI']) {
      expect(client.Properties[key], key).toBeUndefined();
    }
    expect(JSON.stringify(s.template.toJSON())).not.toContain('example.com/callback');
  });

  it('keeps ID and access tokens for an hour and the refresh token for a working day; revocable', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      IdTokenValidity: 60,
      AccessTokenValidity: 60,
      RefreshTokenValidity: 720,
      TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'minutes' },
      AuthSessionValidity: 15,
      EnableTokenRevocation: true,
      PreventUserExistenceErrors: 'ENABLED',
    });
  });

  it('offers TOTP (never SMS): optional by default, required with -c agentMfa=required', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'OPTIONAL', EnabledMfas: ['SOFTWARE_TOKEN_MFA'] });
    const strict = synthSatchel({ context: { agentMfa: 'required' } });
    strict.template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      UsernameAttributes: ['email'],
    });
    strict.template.hasResourceProperties('AWS::Cognito::UserPoolClient', { ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH']) });
  });
});
